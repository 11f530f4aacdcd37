package server

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/paging"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
)

// PagingOptions configure the hub's paging: the engine's configuration,
// how notifications leave, the acknowledge links' address and secret, and
// the heartbeat.
type PagingOptions struct {
	Config paging.Config
	// URL is the hub's public address: links are URL/ack/<token>.
	URL string
	// Email is the relay pages go through (its To is replaced by the
	// person's address); nil sends no email.
	Email *publish.Email
	// Webhooks are the channels people's phones are reached by, by name.
	Webhooks map[string]publish.Sender
	// Secret keys the acknowledge links' HMAC (LoadPagingSecret).
	Secret []byte
	// Heartbeat is fetched every HeartbeatEvery while the hub is healthy.
	Heartbeat      string
	HeartbeatEvery time.Duration
	// Tick is how often escalation timers are looked at; default 1s.
	Tick time.Duration
	// Retry is how a failed notification is tried again; default 5 tries,
	// 30s doubling to 5m.
	Retry  publish.Retry
	Client *http.Client // the heartbeat's
}

// pager is the hub's paging: the engine and what is being sent.
type pager struct {
	opts PagingOptions

	// mu guards the engine and the maps; it is a leaf: nothing else is
	// locked while it is held (the journal's and the hub's locks come
	// before it).
	mu       sync.Mutex
	eng      *paging.Engine
	dirty    map[string]bool // pages changed in memory, to journal
	inflight map[string]bool // notifications being sent

	kick   chan struct{}
	oncall atomic.Pointer[[]byte] // the newest oncall frame

	// owner is whether this hub pages: always alone, while it holds the
	// lease in a cluster (paging_cluster.go). A hub that does not forwards
	// its events to the one that does.
	owner   atomic.Bool
	forward func(event []byte)
	shared  atomic.Pointer[[]byte] // the cluster's acknowledge key, once agreed
	// standing is the events this hub saw begin and not yet clear, by
	// key (guarded by mu), for a new paging hub of the cluster.
	standing map[string]paging.Event
	sending  sync.WaitGroup
	stats    pagingStats
}

type pagingStats struct {
	sent, failed atomic.Int64
}

func newPager(o *PagingOptions) *pager {
	if o == nil {
		return nil
	}
	opts := *o
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.HeartbeatEvery <= 0 {
		opts.HeartbeatEvery = time.Minute
	}
	if opts.Retry.Attempts <= 0 {
		opts.Retry = publish.Retry{Attempts: 5, First: 30 * time.Second, Max: 5 * time.Minute}
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	p := &pager{opts: opts, eng: paging.New(opts.Config), dirty: map[string]bool{}, inflight: map[string]bool{},
		standing: map[string]paging.Event{}, kick: make(chan struct{}, 1)}
	p.owner.Store(true)
	return p
}

// secret is the key acknowledge links are made with: the cluster's once
// agreed, else this hub's.
func (p *pager) secret() []byte {
	if s := p.shared.Load(); s != nil {
		return *s
	}
	return p.opts.Secret
}

// readAck reads an acknowledge link made with either key.
func (p *pager) readAck(token string) (page, person string, ok bool) {
	if page, person, ok = readAckToken(p.secret(), token); ok {
		return page, person, ok
	}
	return readAckToken(p.opts.Secret, token)
}

func (p *pager) poke() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// observePaging feeds one journal message to the engine, in journal order.
func (h *Hub) observePaging(m protocol.Message) {
	if h.pager == nil {
		return
	}
	h.pager.mu.Lock()
	h.pager.eng.Observe(m)
	h.pager.mu.Unlock()
}

// pageEvent applies an event, or forwards it to the hub that pages.
func (h *Hub) pageEvent(ev paging.Event) {
	p := h.pager
	if p == nil {
		return
	}
	if ev.At.IsZero() {
		ev.At = h.opts.Now()
	}
	if p.forward != nil {
		p.stand(ev) // for a new paging hub of the cluster (raiseStanding)
	}
	if !p.owner.Load() {
		h.forwardEvent(ev, false)
		return
	}
	h.applyPageEvent(ev)
}

// applyPageEvent applies an event: the engine's pages change at once and
// are journaled by the paging loop (at most once a tick per page, so a
// flood of events is a few page frames, not thousands).
func (h *Hub) applyPageEvent(ev paging.Event) {
	p := h.pager
	now := h.opts.Now()
	p.mu.Lock()
	ps := p.eng.Event(ev, now)
	for i := range ps {
		p.eng.Observe(&protocol.PageMsg{Page: ps[i]})
		p.dirty[ps[i].ID] = true
	}
	p.mu.Unlock()
	if len(ps) > 0 {
		p.poke()
	}
}

// pageService turns a service's change of state into events: down
// begins (what: down, or alert for Alertmanager's), anything else ends it.
func (h *Hub) pageService(s protocol.Service, from, what string) {
	if from == s.State {
		return
	}
	ev := paging.Event{At: s.At.Time, What: what, Host: s.Host, Service: s.Service, Text: s.Detail}
	if what == protocol.WhatExpiry {
		// An expiry pages from its warning on: days ahead is the point.
		bad := func(state string) bool { return state == protocol.StateWarn || state == protocol.StateDown }
		switch {
		case bad(s.State) && !bad(from):
			h.pageEvent(ev)
		case !bad(s.State) && bad(from):
			ev.Clear = true
			h.pageEvent(ev)
		}
		return
	}
	switch {
	case s.State == protocol.StateDown:
		h.pageEvent(ev)
	case from == protocol.StateDown:
		ev.Clear = true
		h.pageEvent(ev)
	}
}

// pageLoad turns a load level crossing into events.
func (h *Hub) pageLoad(l protocol.Load, from, to string) {
	if from == to {
		return
	}
	text := loadText(l)
	for _, what := range []string{protocol.WhatCrit, protocol.WhatWarn} {
		ev := paging.Event{At: l.At.Time, What: what, Host: l.Host, Text: text}
		switch what {
		case to:
			h.pageEvent(ev)
		case from:
			ev.Clear = true
			h.pageEvent(ev)
		}
	}
}

// ExpirySink takes the hub's own certificate and domain checks: services
// like any other, whose warning of an expiry (or the expiry) pages as
// expiry.
func (h *Hub) ExpirySink() interface {
	PublishLoad(protocol.Load)
	PublishService(protocol.Service)
} {
	return expirySink{h}
}

type expirySink struct{ h *Hub }

func (e expirySink) PublishLoad(l protocol.Load) { e.h.PublishLoad(l) }
func (e expirySink) PublishService(s protocol.Service) {
	e.h.publishService(s, protocol.WhatExpiry, "")
}

func loadText(l protocol.Load) string { return fmt.Sprintf("load1 %.2f on %d CPUs", l.Load1, l.CPUs) }

// AlertSink takes Alertmanager's alerts: services like any other, whose
// firing pages as an alert.
func (h *Hub) AlertSink() interface{ PublishService(protocol.Service) } { return alertSink{h} }

type alertSink struct{ h *Hub }

func (a alertSink) PublishService(s protocol.Service) { a.h.publishService(s, protocol.WhatAlert, "") }

// PublishServiceOnce is PublishService for a notification with an
// identity: journaled once however many hubs of a cluster are told it.
func (a alertSink) PublishServiceOnce(s protocol.Service, id string) {
	a.h.publishService(s, protocol.WhatAlert, id)
}

// startPaging runs the paging loop and the heartbeat until ctx ends; the
// returned function waits for them (and for sends under way).
func (h *Hub) startPaging(ctx context.Context) func() {
	p := h.pager
	if p == nil {
		return func() {}
	}
	var wg sync.WaitGroup
	if h.clustered() {
		h.joinClusterPaging()
		wg.Add(2)
		go func() { defer wg.Done(); h.agreeAckSecret(ctx) }()
		go func() { defer wg.Done(); h.holdPaging(ctx, h.lease()) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); h.pagingLoop(ctx) }()
	if p.opts.Heartbeat != "" {
		wg.Add(1)
		go func() { defer wg.Done(); h.heartbeat(ctx) }()
	}
	return func() { wg.Wait(); p.sending.Wait() }
}

func (h *Hub) pagingLoop(ctx context.Context) {
	p := h.pager
	t := time.NewTicker(p.opts.Tick)
	defer t.Stop()
	for {
		h.pagingStep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.kick:
		}
	}
}

// PagingStep runs one turn of the paging loop at the hub's now: for tests
// that move an injected clock instead of waiting.
func (h *Hub) PagingStep(ctx context.Context) {
	if h.pager != nil {
		h.pagingStep(ctx)
	}
}

// pagingStep journals what changed (pages, timers come due, handoffs,
// silences ended, steps overdue), then journals the notifications due as
// being sent and, once that is on disk, sends them.
func (h *Hub) pagingStep(ctx context.Context) {
	p := h.pager
	now := h.opts.Now()
	if !p.owner.Load() {
		// Another hub pages; this one keeps its dashboards' on-call
		// line current from the journal.
		p.mu.Lock()
		oncall := protocol.MustEncode(ptr(p.eng.OnCall(now)))
		p.mu.Unlock()
		h.setOncall(oncall)
		return
	}
	overdue, done := h.overdueSteps(now)
	h.cmdMu.Lock()
	defer h.cmdMu.Unlock()
	if h.JournalFailed() != nil {
		return
	}
	p.mu.Lock()
	p.advanceLocked(now, overdue, done)
	msgs, ids := p.changedPagesLocked()
	due, sending := p.startDueLocked(now, h.opts.Name)
	msgs = append(msgs, sending...)
	oncall := protocol.MustEncode(ptr(p.eng.OnCall(now)))
	p.mu.Unlock()
	h.setOncall(oncall)
	if len(msgs) == 0 {
		return
	}
	h.journalPaging(ctx, msgs, ids, due)
}

// advanceLocked moves the engine on to now: events released, customer
// steps overdue paged and those done cleared, timers, handoffs; the pages
// it changes are marked to journal.
func (p *pager) advanceLocked(now time.Time, overdue []overdueStep, done []string) {
	eng := p.eng
	for _, ev := range eng.Released(now) {
		p.changedLocked(eng.Event(ev, now))
	}
	// Both are idempotent (a step already paged, or not paged, changes
	// nothing), so a restart needs no memory of them.
	for _, o := range overdue {
		p.changedLocked(eng.Comms(o.commander, o.incident, o.step, o.text, now))
	}
	paged := eng.OpenComms()
	for _, k := range done {
		if !paged[k] {
			continue
		}
		inc, step, _ := strings.Cut(k, "/")
		p.changedLocked(eng.Event(paging.Event{What: protocol.WhatComms, Host: inc, Service: step, Clear: true}, now))
	}
	p.changedLocked(eng.Tick(now))
	p.changedLocked(eng.Handoffs(now))
}

// changedLocked has the engine observe pages it changed, marked to journal.
func (p *pager) changedLocked(ps []protocol.Page) {
	for i := range ps {
		p.eng.Observe(&protocol.PageMsg{Page: ps[i]})
		p.dirty[ps[i].ID] = true
	}
}

// changedPagesLocked takes the pages marked to journal: their frames in
// id order, and the ids to mark again if the write fails.
func (p *pager) changedPagesLocked() (msgs []protocol.Message, ids []string) {
	ids = make([]string, 0, len(p.dirty))
	for id := range p.dirty {
		ids = append(ids, id)
	}
	// PG-9 before PG-10.
	slices.SortFunc(ids, func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b)) })
	for _, id := range ids {
		if pg, ok := p.eng.Page(id); ok {
			msgs = append(msgs, &protocol.PageMsg{Page: pg})
		}
	}
	clear(p.dirty)
	return msgs, ids
}

// startDueLocked takes the notifications due and not already being sent
// as in flight, each with the entry (by actor) that journals it as sending.
func (p *pager) startDueLocked(now time.Time, actor string) (due []paging.Notification, sending []protocol.Message) {
	for _, n := range p.eng.Due(now) {
		if p.inflight[n.ID()] {
			continue
		}
		p.inflight[n.ID()] = true
		due = append(due, n)
		st := n.Notify
		st.Outcome = protocol.NotifySending
		e := &protocol.Entry{At: protocol.At(now), Actor: actor, Kind: protocol.EntryPage, Page: n.Page, Notify: &st,
			Text: fmt.Sprintf("paging %s by %s (%s %s)", n.Person, n.Via, n.Page, notifyWhat(n.Notify))}
		if pg, ok := p.eng.Page(n.Page); ok && pg.Incident != nil {
			e.Incident = *pg.Incident
		}
		p.eng.Observe(e)
		sending = append(sending, e)
	}
	return due, sending
}

// journalPaging writes a step's msgs (the pages ids changed, the due
// notifications as sending) and, once they are on disk, sends due.
func (h *Hub) journalPaging(ctx context.Context, msgs []protocol.Message, ids []string, due []paging.Notification) {
	p := h.pager
	written, err := h.journal.Append("", msgs...)
	if err != nil {
		h.holdBackPaging(err, ids, due)
		return
	}
	h.mu.Lock()
	h.whenDurableLocked(written[len(written)-1].Seq, recordOf(written), func(err error) {
		if err != nil {
			h.holdBackPaging(err, ids, due)
			return
		}
		for _, n := range due {
			p.sending.Add(1)
			go func() { defer p.sending.Done(); h.sendNotification(ctx, n) }()
		}
	})
	h.mu.Unlock()
}

// holdBackPaging undoes a step whose write failed: its pages are marked
// to journal again and its notifications are no longer in flight, so the
// next step tries again. Alone, a failed write stops the journal (the
// step does nothing more; a restart resends what was journaled as
// sending); in a cluster a write may be refused while the stream elects
// a leader, and paging must go on after it.
func (h *Hub) holdBackPaging(err error, ids []string, due []paging.Notification) {
	p := h.pager
	h.log.Error("journal write failed; paging held back", "err", err)
	p.mu.Lock()
	for _, n := range due {
		delete(p.inflight, n.ID())
	}
	for _, id := range ids {
		p.dirty[id] = true
	}
	p.mu.Unlock()
}

func ptr[T any](v T) *T { return &v }

func notifyWhat(n protocol.Notify) string {
	switch n.Kind {
	case protocol.NotifyPage:
		return fmt.Sprintf("level %d round %d", n.Level, n.Round)
	case protocol.NotifyUpdate:
		return "events since the acknowledgement"
	}
	return n.Kind
}

// setOncall keeps the oncall frame and sends it to every subscriber when
// it changed.
func (h *Hub) setOncall(frame []byte) {
	old := h.pager.oncall.Load()
	if old != nil && string(*old) == string(frame) {
		return
	}
	h.pager.oncall.Store(&frame)
	h.mu.Lock()
	h.broadcastLocked(frame)
	h.mu.Unlock()
}

// oncallFrame is the newest oncall frame, for a new subscriber's snapshot.
func (h *Hub) oncallFrame() []byte {
	if h.pager == nil {
		return nil
	}
	if f := h.pager.oncall.Load(); f != nil {
		return *f
	}
	return nil
}

// sendNotification sends one notification and journals its outcome, with
// the page's notified list.
func (h *Hub) sendNotification(ctx context.Context, n paging.Notification) {
	p := h.pager
	p.mu.Lock()
	pg, ok := p.eng.Page(n.Page)
	p.mu.Unlock()
	if !ok {
		return
	}
	summary, err := h.deliverPage(ctx, pg, n)
	if err != nil && ctx.Err() != nil {
		// Shutting down: journal nothing; the next start sends it again
		// with the same identity.
		return
	}
	now := h.opts.Now()
	st := n.Notify
	st.Attempt = n.Attempt + 1
	var text, outcome string
	switch {
	case err == nil:
		st.Outcome, outcome = protocol.DeliveryDelivered, summary
		text = fmt.Sprintf("paged %s by %s: %s", n.Person, n.Via, summary)
		p.stats.sent.Add(1)
	case st.Attempt >= p.opts.Retry.Attempts:
		st.Outcome, outcome = protocol.DeliveryFailed, err.Error()
		text = fmt.Sprintf("paging %s by %s failed: %v; gave up after %d tries", n.Person, n.Via, err, st.Attempt)
		p.stats.failed.Add(1)
	default:
		wait := p.opts.Retry.Delay(st.Attempt)
		st.Outcome, outcome = protocol.DeliveryRetrying, err.Error()
		st.NextTry = protocol.TimePtr(now.Add(wait))
		text = fmt.Sprintf("paging %s by %s failed: %v; retry in %s", n.Person, n.Via, err, protocol.FormatDuration(wait))
		p.stats.failed.Add(1)
	}
	if err != nil {
		h.log.Warn("page not delivered", "page", n.Page, "person", n.Person, "via", n.Via, "err", err)
	}
	e := &protocol.Entry{At: protocol.At(now), Actor: h.opts.Name, Kind: protocol.EntryPage, Page: n.Page, Notify: &st, Text: text}
	if pg.Incident != nil {
		e.Incident = *pg.Incident
	}
	h.cmdMu.Lock()
	defer h.cmdMu.Unlock()
	p.mu.Lock()
	p.eng.Observe(e)
	msgs := []protocol.Message{e}
	if next, ok := p.eng.Sent(n, now, outcome); ok {
		p.eng.Observe(&protocol.PageMsg{Page: next})
		delete(p.dirty, next.ID)
		msgs = append(msgs, &protocol.PageMsg{Page: next})
	}
	delete(p.inflight, n.ID())
	p.mu.Unlock()
	if _, err := h.journal.Append("", msgs...); err != nil {
		h.log.Error("journal write failed; a page's outcome lost", "page", n.Page, "err", err)
	}
	if st.Outcome == protocol.DeliveryRetrying {
		p.poke()
	}
}

// deliverPage sends a notification through the delivery engine's senders:
// email with a Message-ID and webhooks with an X-Vigil-Delivery, both
// stable for its identity, so a resend after a crash is recognisably the
// same message.
func (h *Hub) deliverPage(ctx context.Context, pg protocol.Page, n paging.Notification) (string, error) {
	p := h.pager
	frame, _ := json.Marshal(pg)
	m := publish.Message{Ref: n.ID(), Channel: n.Via, At: h.opts.Now(), Actor: h.opts.Name,
		Subject: pageSubject(pg, n), Text: pageText(pg, n, h.ackURL(pg.ID, n.Person, n.Kind)),
		Page: &publish.PageNote{Person: n.Person, Level: n.Level, Title: pageSubject(pg, n), Page: frame,
			AckURL: h.ackURL(pg.ID, n.Person, n.Kind), Urgent: pg.Urgency == protocol.UrgencyHigh && n.Kind == protocol.NotifyPage}}
	if n.Via == "email" {
		if p.opts.Email == nil {
			return "", fmt.Errorf("no paging email channel")
		}
		e := *p.opts.Email
		e.To = []string{n.Contact}
		return e.Send(ctx, m)
	}
	s, ok := p.opts.Webhooks[n.Via]
	if !ok {
		return "", fmt.Errorf("no webhook channel %q", n.Via)
	}
	return s.Send(ctx, m)
}

// ackURL is the acknowledge link for person on page, or "" for a
// notification that needs no answer.
func (h *Hub) ackURL(page, person, kind string) string {
	if kind == protocol.NotifyResolved || h.pager.opts.URL == "" {
		return ""
	}
	return strings.TrimRight(h.pager.opts.URL, "/") + "/ack/" + ackToken(h.pager.secret(), page, person)
}

func pageSubject(pg protocol.Page, n paging.Notification) string {
	switch n.Kind {
	case protocol.NotifyResolved:
		return fmt.Sprintf("[%s] resolved: %s", pg.ID, pg.Title)
	case protocol.NotifyUpdate:
		return fmt.Sprintf("[%s] more events: %s", pg.ID, pg.Title)
	}
	return fmt.Sprintf("[%s] %s", pg.ID, pg.Title)
}

// pageText is a notification's body: what happened, where the escalation
// stands, the acknowledge link. Strings from hosts and alerts are
// stripped of control characters.
func pageText(pg protocol.Page, n paging.Notification, ack string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", pg.ID, clean(pg.Title))
	switch n.Kind {
	case protocol.NotifyResolved:
		fmt.Fprintf(&b, "Resolved at %s. Nothing more to do.\n", pg.ResolvedAt)
	case protocol.NotifyUpdate:
		fmt.Fprintf(&b, "More events joined the page you acknowledged.\n")
	default:
		if pg.Text != "" {
			fmt.Fprintf(&b, "%s\n", clean(pg.Text))
		}
		fmt.Fprintf(&b, "Level %d, round %d of escalation %s. Opened %s.\n", n.Level, n.Round+1, pg.Escalation, pg.OpenedAt)
	}
	b.WriteString("\nEvents:\n")
	for i, ev := range pg.Events {
		if i == 20 {
			fmt.Fprintf(&b, "  … and %d more\n", len(pg.Events)-i)
			break
		}
		state := ""
		if ev.ClearedAt != nil {
			state = " (cleared " + ev.ClearedAt.String() + ")"
		}
		fmt.Fprintf(&b, "  %s %s %s %s: %s%s\n", ev.At, clean(ev.Host), clean(ev.Service), ev.What, clean(ev.Text), state)
	}
	if ack != "" {
		fmt.Fprintf(&b, "\nAcknowledge: %s\n(The link shows the page; its button acknowledges.)\n", ack)
	}
	return b.String()
}

// clean strips control characters and escape sequences' introducers from
// a string a host or an alert sent, and keeps it to one line.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, s)
}

// overdueStep is a customer-facing step of an open incident overdue by
// CommsGrace.
type overdueStep struct {
	key, incident, step, commander, text string
}

// CommsGrace is how late a customer-facing step may be before the
// incident's commander is paged.
const CommsGrace = 10 * time.Minute

// commsSteps are the customer-facing steps: the status page, the email to
// customers, the progress updates.
var commsSteps = []string{"status-page", "email-customers", "updates"}

// overdueSteps lists the customer-facing steps overdue by CommsGrace, and
// the keys (incident/step) of those that are not.
func (h *Hub) overdueSteps(now time.Time) (overdue []overdueStep, fine []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range h.order {
		in := h.incidents[id]
		for i := range in.Checklist {
			it := &in.Checklist[i]
			if !slices.Contains(commsSteps, it.ID) {
				continue
			}
			key := in.ID + "/" + it.ID
			st := incident.StepStatus(&in, it, now)
			if in.Resolved() || in.Commander == "" || st.State != incident.StepOverdue || now.Sub(st.DueAt) < CommsGrace {
				fine = append(fine, key)
				continue
			}
			overdue = append(overdue, overdueStep{key: key, incident: in.ID, step: it.ID, commander: in.Commander,
				text: fmt.Sprintf("%s: %q is %s overdue; the customers are waiting", in.ID, it.Label(), protocol.FormatDuration(now.Sub(st.DueAt).Round(time.Minute)))})
		}
	}
	return overdue, fine
}

// ---- commands

func isPagingOp(op string) bool {
	switch op {
	case protocol.OpAck, protocol.OpResolve, protocol.OpEscalate, protocol.OpSummon, protocol.OpOverride, protocol.OpSilence:
		return true
	}
	return false
}

// applyPaging applies a paging command (under cmdMu) and journals what
// it caused: the page, an ack entry, a silence or override entry.
func (h *Hub) applyPaging(cmd protocol.Command, now time.Time, received *protocol.Time) (Result, []journal.Message) {
	p := h.pager
	if p == nil {
		return nack(cmd.ID, protocol.CodeInvalid, "this hub has no [serve.paging]"), nil
	}
	for _, t := range []*protocol.Time{cmd.From, cmd.Until} {
		if err := protocol.CheckTime("time", t); err != nil {
			return nack(cmd.ID, protocol.CodeInvalid, err.Error()), nil
		}
	}
	if err := protocol.CheckText("text", cmd.Text, protocol.MaxTextBytes); err != nil {
		return nack(cmd.ID, protocol.CodeInvalid, err.Error()), nil
	}
	p.mu.Lock()
	msgs, ref := h.pagingMessages(cmd, now)
	p.mu.Unlock()
	if ref != nil {
		return nack(cmd.ID, ref.Code, ref.Msg), nil
	}
	for _, m := range msgs {
		if e, ok := m.(*protocol.Entry); ok {
			e.Received = received
		}
	}
	if err := checkFrames(msgs); err != nil {
		return nack(cmd.ID, protocol.CodeInvalid, "refused: "+err.Error()), nil
	}
	written, err := h.journal.Append(cmd.ID, msgs...)
	if err != nil {
		return nack(cmd.ID, protocol.CodeUnavailable, "the journal could not be written; nothing was applied: "+err.Error()), nil
	}
	p.poke()
	return Result{Frame: protocol.MustEncode(&protocol.Ack{ID: cmd.ID, Seq: written[len(written)-1].Seq})}, written
}

// pagingMessages is what a paging command journals (p.mu held).
func (h *Hub) pagingMessages(cmd protocol.Command, now time.Time) ([]protocol.Message, *paging.Refusal) {
	eng := h.pager.eng
	at := protocol.At(now)
	entry := func(kind, page, text string) *protocol.Entry {
		return &protocol.Entry{At: at, Actor: cmd.Actor, Kind: kind, Page: page, Text: text}
	}
	withIncident := func(e *protocol.Entry, pg protocol.Page) *protocol.Entry {
		if pg.Incident != nil {
			e.Incident = *pg.Incident
		}
		return e
	}
	page := func(pg protocol.Page) protocol.Message {
		delete(h.pager.dirty, pg.ID)
		return &protocol.PageMsg{Page: pg}
	}
	switch cmd.Op {
	case protocol.OpAck, protocol.OpResolve, protocol.OpEscalate:
		if cmd.Page == "" {
			return nil, &paging.Refusal{Code: protocol.CodeInvalid, Msg: cmd.Op + " needs a page"}
		}
		var pg protocol.Page
		var ref *paging.Refusal
		var e *protocol.Entry
		switch cmd.Op {
		case protocol.OpAck:
			pg, ref = eng.Ack(cmd.Page, cmd.Actor, now)
			e = entry(protocol.EntryAck, cmd.Page, fmt.Sprintf("%s acknowledged %s: %s", cmd.Actor, cmd.Page, pg.Title))
		case protocol.OpResolve:
			pg, ref = eng.ResolveByHand(cmd.Page, now)
			e = entry(protocol.EntrySystem, cmd.Page, fmt.Sprintf("%s resolved %s by hand: %s", cmd.Actor, cmd.Page, pg.Title))
		default:
			pg, ref = eng.Escalate(cmd.Page, now)
			e = entry(protocol.EntrySystem, cmd.Page, fmt.Sprintf("%s escalated %s to level %d", cmd.Actor, cmd.Page, pg.Level))
		}
		if ref != nil {
			return nil, ref
		}
		return []protocol.Message{withIncident(e, pg), page(pg)}, nil
	case protocol.OpSummon:
		pg, ref := eng.Summon(cmd.Who, cmd.Text, cmd.Incident, cmd.Actor, now)
		if ref != nil {
			return nil, ref
		}
		e := withIncident(entry(protocol.EntrySystem, pg.ID, fmt.Sprintf("%s summoned %s: %s", cmd.Actor, cmd.Who, cmd.Text)), pg)
		return []protocol.Message{e, page(pg)}, nil
	case protocol.OpOverride:
		if cmd.From == nil || cmd.Until == nil || cmd.From.IsZero() || cmd.Until.IsZero() {
			return nil, &paging.Refusal{Code: protocol.CodeInvalid, Msg: "override needs rotation, person, from and until"}
		}
		o, ref := eng.NewOverride(cmd.Rotation, cmd.Person, cmd.From.Time, cmd.Until.Time)
		if ref != nil {
			return nil, ref
		}
		r := eng.Config().Rotations[o.Rotation]
		was, _ := r.OnCall(o.From, eng.Overrides())
		e := entry(protocol.EntrySystem, "", fmt.Sprintf("%s: %s is on call for %s from %s until %s (instead of %s)", cmd.Actor, o.Person, o.Rotation, cmd.From, cmd.Until, was))
		e.Override = &protocol.Override{Rotation: o.Rotation, Person: o.Person, From: protocol.At(o.From), Until: protocol.At(o.Until), By: cmd.Actor}
		return []protocol.Message{e}, nil
	case protocol.OpSilence:
		if cmd.Until == nil || cmd.Until.IsZero() {
			return nil, &paging.Refusal{Code: protocol.CodeInvalid, Msg: "silence needs until"}
		}
		var s protocol.Silence
		var ref *paging.Refusal
		var text string
		if cmd.Silence != "" {
			s, ref = eng.EndSilence(cmd.Silence, cmd.Until.Time, now)
			text = fmt.Sprintf("%s: %s now ends %s", cmd.Actor, s.ID, s.Until)
		} else {
			s, ref = eng.NewSilence(cmd.Hosts, cmd.Services, cmd.Until.Time, cmd.Reason, cmd.Actor, now)
			text = fmt.Sprintf("%s silenced hosts %s, services %s until %s: %s", cmd.Actor, strings.Join(s.Hosts, " "), strings.Join(s.Services, " "), s.Until, s.Reason)
		}
		if ref != nil {
			return nil, ref
		}
		e := entry(protocol.EntrySystem, "", text)
		e.Silence = &s
		return []protocol.Message{e}, nil
	}
	return nil, &paging.Refusal{Code: protocol.CodeInvalid, Msg: "unknown op " + cmd.Op}
}

// Pages returns every page the hub knows, oldest first.
func (h *Hub) Pages() []protocol.Page {
	if h.pager == nil {
		return nil
	}
	h.pager.mu.Lock()
	defer h.pager.mu.Unlock()
	return h.pager.eng.Pages()
}

// heartbeat fetches the dead man's switch's URL every HeartbeatEvery while
// the journal can be written; a hub whose journal stopped falls silent, so
// the outside switch pages.
func (h *Hub) heartbeat(ctx context.Context) {
	p := h.pager
	t := time.NewTicker(p.opts.HeartbeatEvery)
	defer t.Stop()
	for {
		if h.JournalFailed() == nil && p.owner.Load() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.opts.Heartbeat, nil)
			if err == nil {
				resp, err := p.opts.Client.Do(req)
				if err != nil {
					h.log.Warn("heartbeat failed", "err", err)
				} else {
					resp.Body.Close()
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// declareFromPage makes a page's events the first entries of the incident
// declared from it, and the page part of the incident.
func (h *Hub) declareFromPage(incidentID string, cmd protocol.Command, now time.Time) ([]protocol.Entry, *protocol.PageMsg, *incident.Refusal) {
	if h.pager == nil {
		return nil, nil, refuse(protocol.CodeInvalid, "this hub has no [serve.paging]")
	}
	h.pager.mu.Lock()
	pg, ok := h.pager.eng.Page(cmd.Page)
	h.pager.mu.Unlock()
	switch {
	case !ok:
		return nil, nil, refuse(protocol.CodeNotFound, "no page %s", cmd.Page)
	case pg.Incident != nil:
		return nil, nil, refuse(protocol.CodeConflict, "%s is already part of %s", pg.ID, *pg.Incident)
	}
	var es []protocol.Entry
	for _, ev := range pg.Events {
		text := fmt.Sprintf("from %s: %s %s %s", pg.ID, ev.Host, ev.Service, ev.What)
		if ev.Text != "" {
			text += ": " + ev.Text
		}
		es = append(es, protocol.Entry{Incident: incidentID, At: ev.At, Actor: cmd.Actor, Kind: protocol.EntryAlert, Host: ev.Host, Page: pg.ID,
			Text: strings.Join(strings.Fields(text), " ")})
	}
	if pg.MoreEvents > 0 {
		es = append(es, protocol.Entry{Incident: incidentID, At: protocol.At(now), Actor: cmd.Actor, Kind: protocol.EntryAlert, Page: pg.ID,
			Text: fmt.Sprintf("from %s: and %d more events", pg.ID, pg.MoreEvents)})
	}
	id := incidentID
	pg.Incident = &id
	h.pager.mu.Lock()
	delete(h.pager.dirty, pg.ID)
	h.pager.mu.Unlock()
	return es, &protocol.PageMsg{Page: pg}, nil
}
