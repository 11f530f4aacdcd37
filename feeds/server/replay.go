package server

import (
	"slices"
	"sort"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// replay is what a new subscriber is sent before live messages: the state
// snapshot, then journal messages up to cut (read from the journal by the
// connection's writer, not held in memory), then synced.
type replay struct {
	snapshot [][]byte
	since    uint64 // exact replay of (since, cut]; compacted when 0
	cut      uint64
	heads    []journal.Message // compacted: the newest incident frames
}

// attach registers s for live messages and returns what it must be sent
// first. Taken under mu, where durable() broadcasts, so every message is
// either at or below cut (in the replay) or above it (live), never both.
func (h *Hub) attach(s *subscriber, since uint64, journalID string) (*replay, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	if journalID != h.journal.ID() {
		since = 0
	}
	rp := &replay{since: min(since, h.published), cut: h.published}
	rp.snapshot = h.live.snapshot(nil)
	if f := h.oncallFrame(); f != nil {
		rp.snapshot = append(rp.snapshot, f)
	}
	if since == 0 {
		rp.heads = h.headsLocked()
	}
	h.subs[s] = struct{}{}
	return rp, true
}

// headsLocked returns the newest durable frame of every incident, by seq.
func (h *Hub) headsLocked() []journal.Message {
	heads := make([]journal.Message, 0, len(h.heads))
	for _, m := range h.heads {
		heads = append(heads, m)
	}
	sort.Slice(heads, func(a, b int) bool { return heads[a].Seq < heads[b].Seq })
	return heads
}

// startState calls fn for the start-up state (NewHub): the compacted
// journal and, before its window, the journal's start-up seqs.
func (h *Hub) startState(fn func(journal.Message) bool) error {
	return h.compactedFrom(h.headsLocked(), h.published, h.journal.StartSeqs(), fn)
}

// compactedFrom calls fn, in increasing seq up to cut, for the compacted
// journal: the given newest frame of every incident, the entries of open
// incidents and every entry of the replay window, and the extra seqs that
// lie before the window. Older incident frames are left out (each is
// superseded by its incident's newest).
func (h *Hub) compactedFrom(heads []journal.Message, cut uint64, extra []uint64, fn func(journal.Message) bool) error {
	window := h.journal.SeqAt(h.opts.Now().Add(-h.opts.ReplayWindow))
	out := &headMerge{heads: heads, fn: fn}
	if err := h.journal.Seqs(h.earlySeqs(heads, window, cut, extra), out.emit); err != nil || out.stopped {
		return err
	}
	if window <= cut {
		if err := h.journal.Range(window, cut, out.emit); err != nil || out.stopped {
			return err
		}
	}
	out.headsTo(cut)
	return nil
}

// earlySeqs is what the compacted journal holds from before the window,
// in increasing seq, each once: the extra seqs and the entries of the
// incidents open at their head, none past cut.
func (h *Hub) earlySeqs(heads []journal.Message, window, cut uint64, extra []uint64) []uint64 {
	var early []uint64
	for _, seq := range extra {
		if seq < window && seq <= cut {
			early = append(early, seq)
		}
	}
	for _, m := range heads {
		in := m.Msg.(*protocol.IncidentMsg).Incident
		if in.Resolved() {
			continue
		}
		for _, seq := range h.journal.IncidentSeqs(in.ID) {
			if seq >= window || seq > cut { // (the journal may be durable past cut: those go live)
				break
			}
			early = append(early, seq)
		}
	}
	slices.Sort(early)
	return slices.Compact(early)
}

// headMerge passes journal messages, in increasing seq, to fn with the
// incidents' heads (sent from memory) each placed before the first
// message after it; the journal's incident frames are left out, each
// older than its head or the head itself.
type headMerge struct {
	heads   []journal.Message
	next    int // the next head to send
	fn      func(journal.Message) bool
	stopped bool // fn asked for no more
}

func (o *headMerge) emit(m journal.Message) bool {
	for o.next < len(o.heads) && o.heads[o.next].Seq < m.Seq {
		if !o.send(o.heads[o.next]) {
			return false
		}
		o.next++
	}
	if m.IsIncident() {
		return true
	}
	return o.send(m)
}

func (o *headMerge) send(m journal.Message) bool {
	if !o.fn(m) {
		o.stopped = true
		return false
	}
	return true
}

// headsTo sends the heads left, up to cut.
func (o *headMerge) headsTo(cut uint64) {
	for ; o.next < len(o.heads) && o.heads[o.next].Seq <= cut; o.next++ {
		if !o.send(o.heads[o.next]) {
			return
		}
	}
}

// sendReplay writes a subscriber's replay through write, reading the
// journal as it goes, corked (flush ends the cork). An agent's connection
// has none (nil).
func (h *Hub) sendReplay(s *subscriber, rp *replay, write func([]byte) error, flush func() error) error {
	if rp == nil {
		return nil
	}
	s.cork.cork()
	defer s.cork.uncork()
	for _, frame := range rp.snapshot {
		if err := write(frame); err != nil {
			return err
		}
	}
	var werr error
	send := func(m journal.Message) bool {
		werr = write(m.Frame)
		return werr == nil
	}
	var err error
	synced := &protocol.Synced{Seq: rp.cut}
	if rp.since == 0 {
		err = h.compactedFrom(rp.heads, rp.cut, nil, send)
		synced.Compacted, synced.Oldest = true, h.journal.Oldest()
	} else if rp.since < rp.cut {
		err = h.journal.Range(rp.since+1, rp.cut, send)
	}
	if werr != nil {
		return werr
	}
	if err != nil {
		h.log.Error("journal: reading a replay failed", "remote", s.remote, "err", err)
		h.noteReadError(err)
		reason := "the journal could not be read"
		if d := h.JournalDamaged(); d != nil {
			reason = damagedClose(d)
		}
		flush()
		s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInternalServerErr, reason), writeBy(h.opts.WriteWait))
		return err
	}
	if err := write(protocol.MustEncode(synced)); err != nil {
		return err
	}
	return flush()
}

// History limits: the default and largest page a history request gets.
const (
	historyDefault = 200
	historyMax     = 5000
)

// history answers a history request with journal frames below before, in
// increasing seq, the newest limit of them, fewer where the answer would
// pass the protocol's frame limit; more says whether older ones exist.
func (h *Hub) history(req *protocol.History) []byte {
	limit := req.Limit
	if limit <= 0 {
		limit = historyDefault
	}
	limit = min(limit, historyMax)
	top := h.Seq()
	before := req.Before
	if before == 0 || before > top+1 {
		before = top + 1
	}
	ans := &protocol.History{ID: req.ID}
	var msgs []journal.Message
	collect := func(m journal.Message) bool { msgs = append(msgs, m); return true }
	var err error
	oldest := h.journal.Oldest()
	if req.Incident != "" {
		seqs := h.journal.IncidentSeqs(req.Incident)
		n := sort.Search(len(seqs), func(i int) bool { return seqs[i] >= before })
		lo := max(0, n-limit)
		err = h.journal.Seqs(seqs[lo:n], collect)
		ans.More = lo > 0
	} else if before > 1 {
		from := uint64(1)
		if before > uint64(limit) {
			from = before - uint64(limit)
		}
		err = h.journal.Range(max(from, oldest), before-1, collect)
		ans.More = from > oldest && oldest > 0
	}
	if err != nil {
		h.log.Error("journal: reading history failed", "err", err)
		h.noteReadError(err)
		return protocol.MustEncode(&protocol.Nack{ID: req.ID, Code: protocol.CodeUnavailable, Error: "the journal could not be read: " + err.Error()})
	}
	// Keep the newest that fit: the answer is the frames plus its envelope.
	budget := protocol.MaxFrameSize - len(protocol.MustEncode(&protocol.History{ID: req.ID, More: true})) - 16
	k := len(msgs)
	for k > 0 && budget-(len(msgs[k-1].Frame)+1) >= 0 {
		budget -= len(msgs[k-1].Frame) + 1
		k--
	}
	if k > 0 {
		ans.More = true
	}
	for _, m := range msgs[k:] {
		ans.Messages = append(ans.Messages, m.Frame)
	}
	return protocol.MustEncode(ans)
}
