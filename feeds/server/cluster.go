package server

import (
	"context"
	"errors"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A hub of a cluster is a state machine over a shared journal: records
// another hub appended arrive through durable() like this hub's own, and
// are applied to the incidents here before anything else is validated.
// A command that lost the race to append (journal.ErrConflict) is
// validated again, once this hub has caught up, against the state the
// other hub's record made: applied once, or refused as it would have
// been had it come second.

const (
	// maxConflicts bounds how often one command is validated again.
	maxConflicts = 8
	// catchUpWait bounds the wait for the cluster before a retry.
	catchUpWait = 10 * time.Second
)

// applyRemoteLocked applies a record another hub appended: its incident
// frames become this hub's incidents, its publishes show on this hub's
// status page, and its transitions are what this hub knows a service was
// left in (an agent that moves here is not journaled again as new). Its
// deliveries stay with the hub that journaled the publish: three hubs
// must not each send it.
func (h *Hub) applyRemoteLocked(msgs []journal.Message) {
	for i := range msgs {
		msg, err := msgs[i].Decode()
		if err != nil {
			h.log.Error("journal: another hub's message does not decode", "seq", msgs[i].Seq, "err", err)
			continue
		}
		h.noteIncidentState(msg)
		h.board.Observe(msg)
		h.noteTransition(msg)
	}
}

// staleRefusal reports whether a refusal may come from this hub lagging
// behind the others (an incident declared on another hub a moment ago):
// a hub of a cluster catches up once and validates again before it
// refuses for not_found or conflict.
func (h *Hub) staleRefusal(res Result, tries int) bool {
	if _, shared := h.journal.(journal.CatchUpper); !shared || tries > 0 {
		return false
	}
	return res.Code == protocol.CodeNotFound || res.Code == protocol.CodeConflict
}

// retry runs fn on a short-lived goroutine once the journal has caught up
// with what the other hubs appended (err set when it could not).
func (h *Hub) retry(fn func(catchUp error)) {
	cu, shared := h.journal.(journal.CatchUpper)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), catchUpWait)
		defer cancel()
		var err error
		if shared {
			err = cu.CatchUp(ctx)
		}
		fn(err)
	}()
}

// retryOnConflict appends an entry no command caused again when another
// hub's record got in first. Only a shared journal conflicts.
func (h *Hub) retryOnConflict(e *protocol.Entry, tries int) {
	if _, shared := h.journal.(journal.CatchUpper); !shared {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.whenDurableLocked(e.Seq, e, func(err error) {
		switch {
		case err == nil:
		case errors.Is(err, journal.ErrConflict) && tries < maxConflicts:
			again := *e
			h.retry(func(error) { h.recordAgain(again, tries+1) })
		default:
			h.log.Error("journal write failed; entry lost", "err", err, "text", e.Text)
		}
	})
}

func (h *Hub) recordAgain(e protocol.Entry, tries int) {
	h.cmdMu.Lock()
	defer h.cmdMu.Unlock()
	if _, err := h.journal.Append("", &e); err != nil {
		h.log.Error("journal write failed; entry lost", "err", err, "text", e.Text)
		return
	}
	h.retryOnConflict(&e, tries)
}
