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

// rewindJournal places on ans what the journal says stood at seq (at
// at): the newest entries, each service's state and each page's frame,
// then the incidents.
func (h *Hub) rewindJournal(ans *protocol.Rewind, seq, oldest uint64, at time.Time) error {
	if err := h.rewindRead(ans, rewindScanFrom(seq, oldest), seq, at); err != nil {
		return err
	}
	return h.rewindIncidents(ans, seq, at)
}

// rewindRead places on ans the entries, services and pages of the
// messages lo to seq, read newest first, and the services whose newest
// transition lies before lo.
func (h *Hub) rewindRead(ans *protocol.Rewind, lo, seq uint64, at time.Time) error {
	var recent []journal.Message
	if err := h.journal.Range(lo, seq, func(m journal.Message) bool { recent = append(recent, m); return true }); err != nil {
		return err
	}
	b := newRewindBoard(ans, at)
	for i := len(recent) - 1; i >= 0; i-- {
		b.read(&recent[i])
	}
	// Services that last changed before the scan: their newest transition
	// overall, where that is not after the moment.
	err := h.journal.Seqs(h.startSeqsBefore(lo), func(m journal.Message) bool {
		if e, ok := journalEntry(&m); ok {
			b.noteService(e)
		}
		return true
	})
	if err != nil {
		return err
	}
	b.finish()
	return nil
}

// rewindScanFrom is the oldest seq a rewind to seq reads through:
// rewindScan messages back, none before oldest.
func rewindScanFrom(seq, oldest uint64) uint64 {
	if seq > rewindScan {
		return max(oldest, seq-rewindScan+1)
	}
	return oldest
}

// startSeqsBefore is the journal's start-up seqs (each service's newest
// transition, the publishes) that lie before lo.
func (h *Hub) startSeqsBefore(lo uint64) []uint64 {
	var start []uint64
	for _, s := range h.journal.StartSeqs() {
		if s < lo {
			start = append(start, s)
		}
	}
	return start
}

// journalEntry is m as an entry, if it is one.
func journalEntry(m *journal.Message) (*protocol.Entry, bool) {
	msg, err := m.Decode()
	if err != nil {
		return nil, false
	}
	e, ok := msg.(*protocol.Entry)
	return e, ok
}

// rewindBoard is a rewind's board from journal messages read newest
// first: the newest entries, each service's newest transition, each
// page's newest frame.
type rewindBoard struct {
	ans      *protocol.Rewind
	at       time.Time
	services map[string]protocol.Service // by serviceKey
	placed   map[string]bool             // the transitionKey of every transition read
	pages    map[string]bool             // the pages whose newest frame is read
}

func newRewindBoard(ans *protocol.Rewind, at time.Time) *rewindBoard {
	return &rewindBoard{ans: ans, at: at, services: map[string]protocol.Service{}, placed: map[string]bool{}, pages: map[string]bool{}}
}

// read takes the next message back. Incident frames are left to
// rewindIncidents; once the entries are full, only transitions of
// services not yet placed are decoded.
func (b *rewindBoard) read(m *journal.Message) {
	if m.IsIncident() {
		return
	}
	if bytes.HasPrefix(m.Frame, []byte(`{"type":"page"`)) {
		b.notePage(m)
		return
	}
	full := len(b.ans.Entries) >= rewindEntries
	k, transition := transitionKey(m.Frame)
	if full && (!transition || b.placed[k]) {
		return // not a transition, or one of a service already placed
	}
	e, ok := journalEntry(m)
	if !ok {
		return
	}
	if !full {
		b.ans.Entries = append(b.ans.Entries, *e)
	}
	b.noteService(e)
	if transition {
		b.placed[k] = true
	}
}

// noteService places the service a transition entry (or a legacy one,
// said in its text) names, unless a newer one placed it.
func (b *rewindBoard) noteService(e *protocol.Entry) {
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
	if _, placed := b.services[k]; placed {
		return
	}
	_, detail, _ := strings.Cut(e.Text, ": ")
	b.services[k] = protocol.Service{Host: e.Host, Service: e.Service, State: e.State, Since: e.At, At: e.At, Detail: detail}
}

// notePage keeps a page's newest frame as it is: open at the moment, or
// resolved in the day before.
func (b *rewindBoard) notePage(m *journal.Message) {
	msg, err := m.Decode()
	pg, ok := msg.(*protocol.PageMsg)
	if err != nil || !ok || b.pages[pg.Page.ID] {
		return
	}
	b.pages[pg.Page.ID] = true
	if p := pg.Page; p.ResolvedAt != nil && p.ResolvedAt.Before(b.at.Add(-rewindResolved)) {
		return
	}
	b.ans.Pages = append(b.ans.Pages, json.RawMessage(m.Frame))
}

// finish puts the entries and pages oldest first, as the journal has
// them, and the services in key order.
func (b *rewindBoard) finish() {
	slices.Reverse(b.ans.Entries)
	slices.Reverse(b.ans.Pages)
	for _, s := range b.services {
		b.ans.Services = append(b.ans.Services, s)
	}
	sort.Slice(b.ans.Services, func(i, j int) bool {
		return serviceKey(b.ans.Services[i].Host, b.ans.Services[i].Service) < serviceKey(b.ans.Services[j].Host, b.ans.Services[j].Service)
	})
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
