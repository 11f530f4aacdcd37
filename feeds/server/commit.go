package server

import (
	"encoding/json"
	"sort"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Group commit, hub side. A command is validated and given its seqs under
// cmdMu (one order for every subscriber) and the hub's incidents change at
// once, so the next command is checked against them; the journal writes
// and fsyncs in groups on its own goroutine, and tells durable() about
// each record in seq order. Only then is the record broadcast and the
// command acked: nothing is sent that a restart could not replay.

// Submit applies one command at most once per id and calls deliver with
// its answer: at once for a refusal, after the fsync that covers its
// messages for an ack (deliver then runs while those messages' broadcast
// is still held, so the sender sees them before its ack). It does not
// wait for the disk: a connection's reader may go on reading commands.
func (h *Hub) Submit(cmd protocol.Command, authorized bool, deliver func(Result)) {
	if cmd.Op == protocol.OpCollect {
		h.deliverCollect(cmd, authorized, deliver) // journals nothing itself
		return
	}
	h.cmdMu.Lock()
	defer h.cmdMu.Unlock()
	res, msgs := h.apply(cmd, authorized)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range msgs {
		h.noteIncidentState(m.Msg)
	}
	seq := ackSeq(res, msgs)
	if res.Code != "" || seq == 0 {
		h.log.Info("command refused", "id", cmd.ID, "op", cmd.Op, "actor", cmd.Actor, "code", res.Code)
		deliver(res)
		return
	}
	applied := len(msgs) > 0
	h.whenDurableLocked(seq, func(err error) {
		if err != nil {
			res = nack(cmd.ID, protocol.CodeUnavailable, "the journal could not be written; nothing was applied: "+err.Error())
			h.log.Info("command refused", "id", cmd.ID, "op", cmd.Op, "actor", cmd.Actor, "code", res.Code)
		} else if applied {
			// Only what is on disk may be published: nothing is told to
			// customers that a restart would not know was told.
			for _, m := range msgs {
				h.observePublished(m.Msg)
			}
			h.log.Info("command applied", "id", cmd.ID, "op", cmd.Op, "actor", cmd.Actor, "incident", cmd.Incident)
		}
		deliver(res)
	})
}

// ackSeq is the seq an answer waits for: its messages' last, or for an
// ack of a command applied before, the seq it was acked with.
func ackSeq(res Result, msgs []journal.Message) uint64 {
	if len(msgs) > 0 {
		return msgs[len(msgs)-1].Seq
	}
	if res.Code != "" {
		return 0
	}
	var a protocol.Ack
	if json.Unmarshal(res.Frame, &a) != nil {
		return 0
	}
	return a.Seq
}

// whenDurableLocked runs fn once seq is durable and broadcast (err nil),
// or once the journal says it never will be.
func (h *Hub) whenDurableLocked(seq uint64, fn func(error)) {
	switch {
	case seq <= h.published:
		fn(nil)
	case h.failed != nil:
		fn(h.failed)
	default:
		h.waiting[seq] = append(h.waiting[seq], fn)
	}
}

// durable is the journal's report on one record, in seq order: broadcast
// it and release the answers waiting for it; or, when the journal failed,
// refuse them, and go back to what is durable.
func (h *Hub) durable(msgs []journal.Message, err error) {
	if len(msgs) == 0 {
		return
	}
	last := msgs[len(msgs)-1].Seq
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		if h.failed == nil {
			h.failed = err
			h.log.Error("journal failed: refusing every command (nack unavailable) until vigil serve is restarted, which reopens and verifies the journal; nothing after the failure was acknowledged", "err", err)
			h.rollbackLocked()
		}
	} else {
		for _, m := range msgs {
			if im, ok := m.Msg.(*protocol.IncidentMsg); ok {
				h.heads[im.Incident.ID] = m
			}
			h.broadcastLocked(m.Frame)
		}
		h.published = last
	}
	for _, fn := range h.waiting[last] {
		fn(err)
	}
	delete(h.waiting, last)
}

// rollbackLocked forgets incident changes that never reached the disk.
func (h *Hub) rollbackLocked() {
	h.incidents = map[string]protocol.Incident{}
	order := h.order[:0]
	for _, id := range h.order {
		if m, ok := h.heads[id]; ok {
			h.incidents[id] = m.Msg.(*protocol.IncidentMsg).Incident.Clone()
			order = append(order, id)
		}
	}
	h.order = order
}

// declarationOrder sorts incident ids by their first journal message,
// after a start-up replay that saw them in the order of their newest.
func (h *Hub) declarationOrder() {
	first := make(map[string]uint64, len(h.order))
	for _, id := range h.order {
		if seqs := h.journal.IncidentSeqs(id); len(seqs) > 0 {
			first[id] = seqs[0]
		}
	}
	sort.SliceStable(h.order, func(a, b int) bool { return first[h.order[a]] < first[h.order[b]] })
}

// JournalFailed is the error that stopped the journal, or nil.
func (h *Hub) JournalFailed() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed
}
