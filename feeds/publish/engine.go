package publish

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Sender delivers one message to one channel and says what the other end
// answered ("email customers to 3 recipients: 250 accepted").
type Sender interface {
	Send(ctx context.Context, m Message) (string, error)
}

// Retry is how failed deliveries are tried again: Attempts tries in all,
// waiting First after the first failure, doubling up to Max, each wait
// jittered by ±20% so hubs and channels do not retry in step.
type Retry struct {
	Attempts int
	First    time.Duration
	Max      time.Duration
}

// DefaultRetry gives a channel about an hour and a half to come back.
func DefaultRetry() Retry { return Retry{Attempts: 8, First: 30 * time.Second, Max: 30 * time.Minute} }

func (r Retry) withDefaults() Retry {
	d := DefaultRetry()
	if r.Attempts <= 0 {
		r.Attempts = d.Attempts
	}
	if r.First <= 0 {
		r.First = d.First
	}
	if r.Max < r.First {
		r.Max = max(d.Max, r.First)
	}
	return r
}

// Delay is the wait after failed try number attempt (1-based), before
// jitter.
func (r Retry) Delay(attempt int) time.Duration {
	d := r.First
	for i := 1; i < attempt && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// job is one (publish, channel) pair not yet delivered or given up.
type job struct {
	ref, channel, incident string
	actor, text, subject   string
	item                   string
	recipients             []string
	at                     time.Time
	attempt                int       // tries journaled so far
	next                   time.Time // zero: now
}

type queue struct {
	name   string
	sender Sender
	jobs   []*job // in publish order: a channel gets its updates in order
	kick   chan struct{}
}

// Engine delivers every publish to its channels, after the hub journaled
// it, and reports each try's outcome for the journal. It is rebuilt from
// the journal on start (Observe every message, then Run): a pair with a
// journaled delivered or failed outcome is never tried again; the rest
// resume where their last journaled try left them.
type Engine struct {
	board  *Board
	record func(protocol.Entry)
	retry  Retry
	now    func() time.Time
	log    *slog.Logger
	actor  string

	mu      sync.Mutex
	queues  map[string]*queue
	orphans []*job // for channels no longer configured
}

// EngineOptions configure an Engine.
type EngineOptions struct {
	Senders map[string]Sender // by channel name; never ChannelPage
	// Record journals a delivery entry (the hub's own path for entries no
	// command caused).
	Record func(protocol.Entry)
	Retry  Retry
	Now    func() time.Time
	Logger *slog.Logger
	Actor  string // who the delivery entries are by; default "vigil"
}

// NewEngine returns an engine over board, delivering with opts.Senders.
func NewEngine(board *Board, opts EngineOptions) *Engine {
	e := &Engine{board: board, record: opts.Record, retry: opts.Retry.withDefaults(), now: opts.Now,
		log: opts.Logger, actor: opts.Actor, queues: map[string]*queue{}}
	if e.now == nil {
		e.now = time.Now
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.actor == "" {
		e.actor = "vigil"
	}
	for name, s := range opts.Senders {
		e.queues[name] = &queue{name: name, sender: s, kick: make(chan struct{}, 1)}
	}
	return e
}

// Channels is the names the engine delivers to.
func (e *Engine) Channels() []string {
	out := make([]string, 0, len(e.queues))
	for n := range e.queues {
		out = append(out, n)
	}
	return out
}

// Observe takes one journal message in order: a publish entry queues its
// channels, a delivery entry advances or ends its pair. It never blocks.
func (e *Engine) Observe(m protocol.Message) {
	en, ok := m.(*protocol.Entry)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch en.Kind {
	case protocol.EntryPublish:
		for _, ch := range en.Channels {
			if ch == protocol.ChannelPage {
				continue // delivered by being journaled
			}
			j := &job{ref: en.Ref, channel: ch, incident: en.Incident, actor: en.Actor, text: en.Text,
				subject: en.Subject, item: en.Item, at: en.At.Time, recipients: en.Recipients}
			q := e.queues[ch]
			if q == nil {
				e.orphans = append(e.orphans, j)
				continue
			}
			if q.find(en.Ref) != nil {
				continue
			}
			q.jobs = append(q.jobs, j)
			select {
			case q.kick <- struct{}{}:
			default:
			}
		}
	case protocol.EntryDelivery:
		if en.Delivery == nil {
			return
		}
		q := e.queues[en.Channel]
		if q == nil {
			e.dropOrphan(en.Ref, en.Channel)
			return
		}
		j := q.find(en.Ref)
		if j == nil {
			return
		}
		switch en.Delivery.Outcome {
		case protocol.DeliveryDelivered, protocol.DeliveryFailed:
			q.remove(j)
		default:
			j.attempt = max(j.attempt, en.Delivery.Attempt)
			if en.Delivery.NextTry != nil {
				j.next = en.Delivery.NextTry.Time
			}
		}
	}
}

func (e *Engine) dropOrphan(ref, channel string) {
	for i, j := range e.orphans {
		if j.ref == ref && j.channel == channel {
			e.orphans = append(e.orphans[:i], e.orphans[i+1:]...)
			return
		}
	}
}

func (q *queue) find(ref string) *job {
	for _, j := range q.jobs {
		if j.ref == ref {
			return j
		}
	}
	return nil
}

func (q *queue) remove(j *job) {
	for i, x := range q.jobs {
		if x == j {
			q.jobs = append(q.jobs[:i], q.jobs[i+1:]...)
			return
		}
	}
}

// Pending is how many (publish, channel) pairs are not yet delivered or
// given up.
func (e *Engine) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.orphans)
	for _, q := range e.queues {
		n += len(q.jobs)
	}
	return n
}

// Run delivers until ctx ends: one goroutine per channel, so a slow mail
// relay never holds up a webhook.
func (e *Engine) Run(ctx context.Context) {
	e.mu.Lock()
	orphans := e.orphans
	e.orphans = nil
	e.mu.Unlock()
	for _, j := range orphans {
		e.journal(j, protocol.Delivery{Outcome: protocol.DeliveryFailed, Attempt: j.attempt},
			fmt.Sprintf("%s: channel %q is no longer configured; not sent", j.channel, j.channel))
	}
	var wg sync.WaitGroup
	for _, q := range e.queues {
		wg.Add(1)
		go func() { defer wg.Done(); e.work(ctx, q) }()
	}
	wg.Wait()
}

func (e *Engine) work(ctx context.Context, q *queue) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		j, wait := e.head(q)
		if j != nil && wait <= 0 {
			e.try(ctx, q, j)
			if ctx.Err() != nil {
				return
			}
			continue
		}
		if j == nil {
			wait = time.Hour
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
		case <-timer.C:
		}
	}
}

// head is the channel's oldest pending pair and how long until it is due.
func (e *Engine) head(q *queue) (*job, time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(q.jobs) == 0 {
		return nil, 0
	}
	j := q.jobs[0]
	return j, j.next.Sub(e.now())
}

func (e *Engine) message(j *job) Message {
	site := e.board.Site()
	m := Message{Ref: j.ref, Channel: j.channel, Actor: j.actor, At: j.at, Subject: j.subject,
		Text: j.text, Item: j.item, Site: site, Recipients: j.recipients}
	if in, ok := e.board.Incident(j.incident); ok {
		m.Incident = in
		names := map[string]string{}
		for _, c := range site.Components {
			names[c.ID] = c.Name
		}
		for _, id := range in.Components {
			if n, ok := names[id]; ok {
				m.Components = append(m.Components, n)
			}
		}
	} else {
		m.Incident = protocol.Incident{ID: j.incident}
	}
	return m
}

// try sends once and journals the outcome at once: the window between a
// send the other end took and its journaled outcome is only this
// function's few statements (and the journal's fsync).
func (e *Engine) try(ctx context.Context, q *queue, j *job) {
	summary, err := q.sender.Send(ctx, e.message(j))
	if err != nil && ctx.Err() != nil {
		// Cut short by shutting down: not a try the channel failed, so
		// journal nothing; it is made again on the next start (and if the
		// other end took it after all, it dedupes on the delivery key).
		// A send that succeeded is journaled even now: the journal stays
		// open until the engine has returned.
		return
	}
	e.mu.Lock()
	attempt := j.attempt + 1
	e.mu.Unlock()
	var d protocol.Delivery
	var text string
	switch {
	case err == nil:
		d, text = protocol.Delivery{Outcome: protocol.DeliveryDelivered, Attempt: attempt}, summary
	case attempt >= e.retry.Attempts:
		d = protocol.Delivery{Outcome: protocol.DeliveryFailed, Attempt: attempt}
		text = fmt.Sprintf("%v; gave up after %d tries: not delivered", err, attempt)
	default:
		wait := jitter(e.retry.Delay(attempt))
		next := e.now().Add(wait)
		d = protocol.Delivery{Outcome: protocol.DeliveryRetrying, Attempt: attempt, NextTry: protocol.TimePtr(next)}
		text = fmt.Sprintf("%v, retry %d in %s", err, attempt+1, protocol.FormatDuration(wait.Round(time.Second)))
	}
	e.journal(j, d, text)
	e.mu.Lock()
	defer e.mu.Unlock()
	if d.Outcome == protocol.DeliveryRetrying {
		j.attempt, j.next = attempt, d.NextTry.Time
		return
	}
	q.remove(j)
}

// journal reports one outcome; the entry names the step the publish
// ticked, so a dashboard can show a failed delivery on that step.
func (e *Engine) journal(j *job, d protocol.Delivery, text string) {
	if d.Outcome == protocol.DeliveryDelivered {
		e.log.Info("delivered", "ref", j.ref, "channel", j.channel, "attempt", d.Attempt)
	} else {
		e.log.Warn("delivery failed", "ref", j.ref, "channel", j.channel, "attempt", d.Attempt, "outcome", d.Outcome, "why", text)
	}
	if e.record == nil {
		return
	}
	kind := protocol.EntryDelivery
	e.record(protocol.Entry{Incident: j.incident, At: protocol.At(e.now()), Actor: e.actor, Kind: kind,
		Text: text, Channel: j.channel, Ref: j.ref, Item: j.item, Delivery: &d})
}
