package server

import (
	"encoding/json"
	"errors"
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
	h.submit(cmd, authorized, deliver, 0)
}

func (h *Hub) submit(cmd protocol.Command, authorized bool, deliver func(Result), tries int) {
	h.cmdMu.Lock()
	defer h.cmdMu.Unlock()
	res, msgs := h.apply(cmd, authorized)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range msgs {
		h.noteIncidentState(m.Msg)
	}
	seq := ackSeq(res, msgs)
	if h.staleRefusal(res, tries) {
		h.retry(0, func(error) { h.submit(cmd, authorized, deliver, maxConflicts) })
		return
	}
	if res.Code != "" || seq == 0 {
		h.log.Info("command refused", "id", cmd.ID, "op", cmd.Op, "actor", cmd.Actor, "code", res.Code)
		deliver(res)
		return
	}
	applied := len(msgs) > 0
	h.whenDurableLocked(seq, recordOf(msgs), func(err error) {
		if errors.Is(err, journal.ErrConflict) && tries < maxConflicts {
			// Another hub of the cluster appended first: validate the
			// command again once this hub has applied what it appended.
			h.retry(tries, func(catchUp error) {
				if catchUp != nil {
					h.log.Info("command refused", "id", cmd.ID, "op", cmd.Op, "actor", cmd.Actor, "code", protocol.CodeUnavailable)
					deliver(nack(cmd.ID, protocol.CodeUnavailable, "the cluster could not be caught up with; nothing was applied: "+catchUp.Error()))
					return
				}
				h.submit(cmd, authorized, deliver, tries+1)
			})
			return
		}
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

// whenDurableLocked runs fn once the record rec (its first message; nil
// for an answer that waits for any record up to seq) is durable and
// broadcast (err nil), or once the journal says it never will be. A
// shared journal may give a refused record's seqs to the next one, so
// answers wait for their own record, not for a seq. Called under cmdMu
// right after the Append: a refusal or another hub's record takes cmdMu
// to be reported, so a seq already published here is rec's own.
func (h *Hub) whenDurableLocked(seq uint64, rec protocol.Message, fn func(error)) {
	switch {
	case seq <= h.published:
		fn(nil)
	case h.failed != nil:
		fn(h.failed)
	default:
		h.waiting[seq] = append(h.waiting[seq], waiter{rec: rec, fn: fn})
	}
}

// waiter is an answer waiting for a record.
type waiter struct {
	rec protocol.Message
	fn  func(error)
}

// recordOf is a record's identity: its first message.
func recordOf(msgs []journal.Message) protocol.Message {
	if len(msgs) == 0 {
		return nil
	}
	return msgs[0].Msg
}

// durable is the journal's report on one record, in seq order: broadcast
// it and release the answers waiting for it; or, when it was not
// written, refuse them and go back to what is durable. A journal failure
// stops the hub's commands until restart; a shared journal's conflict or
// unavailability (journal.Transient) does not. A record another hub
// appended (Msg nil) is applied like this hub's own: under cmdMu, so no
// command is validated halfway across it.
func (h *Hub) durable(msgs []journal.Message, err error) {
	if len(msgs) == 0 {
		return
	}
	remote := err == nil && msgs[0].Msg == nil
	if err != nil || remote {
		h.cmdMu.Lock()
		defer h.cmdMu.Unlock()
	}
	last := msgs[len(msgs)-1].Seq
	h.mu.Lock()
	defer h.mu.Unlock()
	if remote {
		h.applyRemoteLocked(msgs)
	}
	if err != nil {
		if journal.Transient(err) {
			h.rollbackLocked()
		} else if h.failed == nil {
			h.failed = err
			h.log.Error("journal failed: refusing every command (nack unavailable) until vigil serve is restarted, which reopens and verifies the journal; nothing after the failure was acknowledged", "err", err)
			h.rollbackLocked()
		}
	} else {
		for _, m := range msgs {
			if im, ok := m.Msg.(*protocol.IncidentMsg); ok {
				h.heads[im.Incident.ID] = m
			}
			h.notePeerLocked(m.Seq, m.Msg)
			h.broadcastAboutLocked(hostOf(m.Msg), m.Frame)
			if !remote {
				h.observeCustomers(m.Msg)
			}
		}
		h.published = last
	}
	var keep []waiter
	for _, w := range h.waiting[last] {
		switch {
		case w.rec == nil && err == nil, w.rec != nil && w.rec == msgs[0].Msg:
			w.fn(err)
		case w.rec == nil && err != nil && h.failed != nil:
			w.fn(h.failed)
		default:
			keep = append(keep, w) // another record's answer, at the same seq
		}
	}
	if len(keep) > 0 {
		h.waiting[last] = keep
	} else {
		delete(h.waiting, last)
	}
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

// hostOf is the host a journal message is about, "" for none.
func hostOf(m protocol.Message) string {
	if e, ok := m.(*protocol.Entry); ok {
		return e.Host
	}
	return ""
}
