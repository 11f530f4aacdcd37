package server

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// LoadHistory keeps hosts' load samples and answers for them: the hub's
// own store (feeds/history) or a Prometheus it reads instead.
type LoadHistory interface {
	// Add keeps a sample; it never blocks.
	Add(l protocol.Load)
	// LoadSamples are host's samples from from to to, oldest first, at
	// most limit, more when the range held more.
	LoadSamples(ctx context.Context, host string, from, to time.Time, limit int) ([]protocol.LoadSample, bool, error)
	// LoadAt is where host's load stood at at, and every host known then.
	LoadsAt(ctx context.Context, at time.Time) ([]protocol.Load, error)
}

// Load history and rewind limits.
const (
	// loadSamplesMax keeps an answer under the frame limit (a sample
	// encodes in about 80 bytes); the client asks again from the last.
	loadSamplesMax = 10_000
	// reviewTimeout bounds one history or rewind answer's work.
	reviewTimeout = 30 * time.Second
	// rewindEntries is how many entries a rewind sends, the newest.
	rewindEntries = 200
	// rewindScan is how many journal messages back from the moment a
	// rewind reads for service states and entries: the cost of a rewind is
	// this, not the journal's length. A service that changed state before
	// it is taken from its newest transition, if that is older.
	rewindScan = 20_000
	// rewindResolved: incidents resolved this long before the moment are
	// still shown, as a board shows what just ended.
	rewindResolved = 24 * time.Hour
)

// answerReview answers a load history or rewind request without holding
// up the connection's reader; it reports whether m was one.
func (h *Hub) answerReview(s *subscriber, m protocol.Message) bool {
	var answer func(ctx context.Context) []byte
	switch req := m.(type) {
	case *protocol.History:
		if req.Kind != protocol.HistoryLoad {
			return false
		}
		answer = func(ctx context.Context) []byte { return h.loadHistory(ctx, req) }
	case *protocol.Rewind:
		answer = func(ctx context.Context) []byte { return h.rewind(ctx, req) }
	default:
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), reviewTimeout)
	h.active.Add(1)
	go func() {
		defer h.active.Done()
		defer cancel()
		go func() {
			select {
			case <-s.kill:
				cancel()
			case <-ctx.Done():
			}
		}()
		if frame := answer(ctx); !s.offer(frame) {
			s.drop("too slow: fell more than the queue behind")
		}
	}()
	return true
}

func (h *Hub) loadHistory(ctx context.Context, req *protocol.History) []byte {
	if h.opts.History == nil {
		return protocol.MustEncode(&protocol.Nack{ID: req.ID, Code: protocol.CodeUnavailable, Error: "this hub keeps no load history"})
	}
	if req.Host == "" {
		return protocol.MustEncode(&protocol.Nack{ID: req.ID, Code: protocol.CodeInvalid, Error: "a load history request needs a host"})
	}
	to := h.opts.Now()
	if req.To != nil && !req.To.IsZero() {
		to = req.To.Time
	}
	from := to.Add(-48 * time.Hour)
	if req.From != nil && !req.From.IsZero() {
		from = req.From.Time
	}
	samples, more, err := h.opts.History.LoadSamples(ctx, req.Host, from, to, loadSamplesMax)
	if err != nil {
		return protocol.MustEncode(&protocol.Nack{ID: req.ID, Code: protocol.CodeUnavailable, Error: "load history: " + err.Error()})
	}
	if samples == nil {
		samples = []protocol.LoadSample{} // "samples":[] says none were kept
	}
	ans := &protocol.History{ID: req.ID, Kind: protocol.HistoryLoad, Host: req.Host, Samples: samples, More: more}
	frame := protocol.MustEncode(ans)
	for len(frame) > protocol.MaxFrameSize && len(ans.Samples) > 0 {
		ans.Samples, ans.More = ans.Samples[:len(ans.Samples)*9/10], true
		frame = protocol.MustEncode(ans)
	}
	return frame
}

// rewind answers with the board as it stood at req.At.
func (h *Hub) rewind(ctx context.Context, req *protocol.Rewind) []byte {
	ans, err := h.Rewind(ctx, req.At.Time)
	if err != nil {
		return protocol.MustEncode(&protocol.Nack{ID: req.ID, Code: protocol.CodeUnavailable, Error: "rewind: " + err.Error()})
	}
	ans.ID = req.ID
	return FitRewind(ans)
}

// FitRewind encodes a rewind answer under the frame limit, dropping the
// oldest entries first.
func FitRewind(ans *protocol.Rewind) []byte {
	frame := protocol.MustEncode(ans)
	for len(frame) > protocol.MaxFrameSize && len(ans.Entries) > 0 {
		ans.Entries = ans.Entries[max(1, len(ans.Entries)/10):]
		frame = protocol.MustEncode(ans)
	}
	return frame
}

// Rewind computes the board as it stood at at from the journal: what it
// reads is bounded by the board (its incidents, services and the newest
// entries), not by the journal's length.
func (h *Hub) Rewind(ctx context.Context, at time.Time) (*protocol.Rewind, error) {
	ans := &protocol.Rewind{At: protocol.At(at), Loads: []protocol.Load{}, Services: []protocol.Service{},
		Incidents: []protocol.IncidentMsg{}, Pages: []json.RawMessage{}, Entries: []protocol.Entry{}}
	seq := h.journal.SeqAt(at.Add(time.Millisecond)) - 1 // the newest appended at or before at
	seq = min(seq, h.Seq())
	ans.Seq = seq
	oldest := max(h.journal.Oldest(), 1)
	if seq >= oldest {
		if err := h.rewindJournal(ans, seq, oldest, at); err != nil {
			return nil, err
		}
	}
	if h.opts.History != nil {
		loads, err := h.opts.History.LoadsAt(ctx, at)
		if err != nil {
			return nil, err
		}
		for i := range loads {
			loads[i].Level = h.opts.Thresholds.Of(loads[i].Load1, loads[i].CPUs).String()
		}
		ans.Loads = loads
	}
	return ans, ctx.Err()
}

func (h *Hub) rewindJournal(ans *protocol.Rewind, seq, oldest uint64, at time.Time) error {
	// The newest messages up to the moment: entries, and service
	// transitions newest first.
	lo := oldest
	if seq > rewindScan {
		lo = max(lo, seq-rewindScan+1)
	}
	var recent []journal.Message
	if err := h.journal.Range(lo, seq, func(m journal.Message) bool { recent = append(recent, m); return true }); err != nil {
		return err
	}
	services := map[string]protocol.Service{}
	seen := map[string]bool{}
	note := func(e *protocol.Entry) {
		if e.Service == "" && e.Level == "" {
			legacy, ok := legacyTransition(e)
			if !ok {
				return
			}
			e = &legacy
		}
		if e.Service == "" || !protocol.ValidState(e.State) {
			return
		}
		k := serviceKey(e.Host, e.Service)
		if _, seen := services[k]; !seen {
			_, detail, _ := strings.Cut(e.Text, ": ")
			services[k] = protocol.Service{Host: e.Host, Service: e.Service, State: e.State, Since: e.At, At: e.At, Detail: detail}
		}
	}
	// Pages as their newest frame at the moment stood: open then, or
	// resolved in the day before.
	pageSeen := map[string]bool{}
	notePage := func(m *journal.Message) {
		msg, err := m.Decode()
		pg, ok := msg.(*protocol.PageMsg)
		if err != nil || !ok || pageSeen[pg.Page.ID] {
			return
		}
		pageSeen[pg.Page.ID] = true
		if p := pg.Page; p.ResolvedAt != nil && p.ResolvedAt.Before(at.Add(-rewindResolved)) {
			return
		}
		ans.Pages = append(ans.Pages, json.RawMessage(m.Frame))
	}
	for i := len(recent) - 1; i >= 0; i-- {
		m := &recent[i]
		if m.IsIncident() {
			continue
		}
		if bytes.HasPrefix(m.Frame, []byte(`{"type":"page"`)) {
			notePage(m)
			continue
		}
		if len(ans.Entries) >= rewindEntries {
			if k, ok := transitionKey(m.Frame); !ok || seen[k] {
				continue // not a transition, or one of a service already placed
			}
		}
		msg, err := m.Decode()
		if err != nil {
			continue
		}
		e, ok := msg.(*protocol.Entry)
		if !ok {
			continue
		}
		if len(ans.Entries) < rewindEntries {
			ans.Entries = append(ans.Entries, *e)
		}
		note(e)
		if k, ok := transitionKey(m.Frame); ok {
			seen[k] = true
		}
	}
	// Services that last changed before the scan: their newest transition
	// overall, where that is not after the moment.
	var start []uint64
	for _, s := range h.journal.StartSeqs() {
		if s < lo {
			start = append(start, s)
		}
	}
	h.journal.Seqs(start, func(m journal.Message) bool {
		if msg, err := m.Decode(); err == nil {
			if e, ok := msg.(*protocol.Entry); ok {
				note(e)
			}
		}
		return true
	})
	for i, j := 0, len(ans.Entries)-1; i < j; i, j = i+1, j-1 {
		ans.Entries[i], ans.Entries[j] = ans.Entries[j], ans.Entries[i]
	}
	slices.Reverse(ans.Pages) // oldest first, as the journal has them
	for _, s := range services {
		ans.Services = append(ans.Services, s)
	}
	sort.Slice(ans.Services, func(i, j int) bool {
		return serviceKey(ans.Services[i].Host, ans.Services[i].Service) < serviceKey(ans.Services[j].Host, ans.Services[j].Service)
	})
	return h.rewindIncidents(ans, seq, at)
}

// rewindIncidents adds each incident's frame as it stood at seq: those
// open then, and those resolved in the day before.
func (h *Hub) rewindIncidents(ans *protocol.Rewind, seq uint64, at time.Time) error {
	h.mu.Lock()
	heads := make([]journal.Message, 0, len(h.order))
	for _, id := range h.order {
		if m, ok := h.heads[id]; ok {
			heads = append(heads, m)
		}
	}
	h.mu.Unlock()
	for _, head := range heads {
		in := head.Msg.(*protocol.IncidentMsg).Incident
		if in.OpenedAt.After(at) && head.Seq > seq {
			continue
		}
		if in.ResolvedAt != nil && in.ResolvedAt.Before(at.Add(-rewindResolved)) && in.Resolved() {
			continue // resolved long before (a reopened one is the rare exception)
		}
		seqs := h.journal.IncidentSeqs(in.ID)
		n := sort.Search(len(seqs), func(i int) bool { return seqs[i] > seq })
		// The newest incident frame at or before seq, reading back.
		var found *protocol.IncidentMsg
		for k := n - 1; k >= 0 && found == nil; k -= 8 {
			batch := seqs[max(0, k-7) : k+1]
			var frames []journal.Message
			if err := h.journal.Seqs(batch, func(m journal.Message) bool { frames = append(frames, m); return true }); err != nil {
				return err
			}
			for i := len(frames) - 1; i >= 0 && found == nil; i-- {
				if frames[i].IsIncident() {
					if msg, err := frames[i].Decode(); err == nil {
						found = msg.(*protocol.IncidentMsg)
					}
				}
			}
		}
		if found == nil {
			continue
		}
		if f := found.Incident; f.Resolved() && f.ResolvedAt != nil && f.ResolvedAt.Before(at.Add(-rewindResolved)) {
			continue
		}
		ans.Incidents = append(ans.Incidents, *found)
	}
	return nil
}

// transitionKey is what a transition entry's text says changed ("exim on
// web-3" of "exim on web-3 ok → down: …"), read from the frame without
// decoding it: a rewind skips the older transitions of what it has placed.
func transitionKey(frame []byte) (string, bool) {
	i := bytes.Index(frame, []byte(`"text":"`))
	if i < 0 {
		return "", false
	}
	text := frame[i+len(`"text":"`):]
	arrow := bytes.Index(text, []byte(" → "))
	if arrow < 0 {
		arrow = bytes.Index(text, []byte(`\u2192`))
	}
	if arrow < 0 || bytes.IndexByte(text[:arrow], '"') >= 0 {
		return "", false
	}
	left := text[:arrow]
	sp := bytes.LastIndexByte(left, ' ')
	if sp < 0 || !bytes.Contains(left[:sp], []byte(" on ")) {
		return "", false
	}
	return string(left[:sp]), true
}
