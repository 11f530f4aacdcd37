package server

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
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
	// maxConflicts bounds how often one command is validated again: hubs
	// appending all the time (responders on each) can each lose many
	// races in a row on a loaded machine, and a refusal is an error a
	// responder sees.
	maxConflicts = 256
	// catchUpWait bounds the wait for the cluster before a retry: long
	// enough for a new stream leader's election (4-9 s in nats-server).
	catchUpWait = 30 * time.Second
)

// applyRemoteLocked applies a record another hub appended: its incident
// frames become this hub's incidents, its publishes show on this hub's
// status page, and its transitions are what this hub knows a service was
// left in (an agent that moves here is not journaled again as new). Every
// hub holds the deliveries owed; the one holding the delivery lease sends.
func (h *Hub) applyRemoteLocked(msgs []journal.Message) {
	for i := range msgs {
		msg, err := msgs[i].Decode()
		if err != nil {
			h.log.Error("journal: another hub's message does not decode", "seq", msgs[i].Seq, "err", err)
			continue
		}
		h.noteIncidentState(msg)
		h.board.Observe(msg)
		h.deliveries.Observe(msg)
		h.noteTransition(msg)
		h.observeCustomers(msg)
	}
}

// staleRefusal reports whether a refusal may come from this hub lagging
// behind the others (an incident declared on another hub a moment ago):
// a hub of a cluster catches up once and validates again before it
// refuses for not_found or conflict.
func (h *Hub) staleRefusal(res Result, tries int) bool {
	if !h.clustered() || tries > 0 {
		return false
	}
	return res.Code == protocol.CodeNotFound || res.Code == protocol.CodeConflict
}

// retry queues fn to run once the journal has caught up with what the
// other hubs appended (catchUp set when it could not). One worker runs
// the queue in order, so a conflict that refused several pipelined
// commands appends them again in the order they came, after one catch-up
// and a random pause that grows with tries: hubs that keep colliding take
// turns instead of colliding again in step. The worker ends when the
// queue is empty.
func (h *Hub) retry(tries int, fn func(catchUp error)) {
	h.retries.Lock()
	defer h.retries.Unlock()
	h.retries.queue = append(h.retries.queue, fn)
	h.retries.tries = max(h.retries.tries, tries)
	if !h.retries.running {
		h.retries.running = true
		go h.runRetries()
	}
}

// retryQueue is the commands and entries waiting to be validated again.
type retryQueue struct {
	sync.Mutex
	queue   []func(catchUp error)
	tries   int
	running bool
}

func (h *Hub) runRetries() {
	cu, shared := h.journal.(journal.CatchUpper)
	for {
		h.retries.Lock()
		queue, tries := h.retries.queue, h.retries.tries
		h.retries.queue, h.retries.tries = nil, 0
		if len(queue) == 0 {
			h.retries.running = false
			h.retries.Unlock()
			return
		}
		h.retries.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), catchUpWait)
		pause := time.Duration(rand.Int64N(int64(time.Millisecond) * int64(1+tries)))
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		var err error
		if shared {
			err = cu.CatchUp(ctx)
		}
		cancel()
		for _, fn := range queue {
			fn(err)
		}
	}
}

// retryOnConflict appends an entry no command caused again when another
// hub's record got in first. Only a shared journal conflicts.
func (h *Hub) retryOnConflict(e *protocol.Entry, id string, tries int) {
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
			h.retry(tries, func(error) { h.recordAgain(again, id, tries+1) })
		default:
			h.log.Error("journal write failed; entry lost", "err", err, "text", e.Text)
		}
	})
}

func (h *Hub) recordAgain(e protocol.Entry, id string, tries int) {
	h.cmdMu.Lock()
	defer h.cmdMu.Unlock()
	if _, done := h.journal.Applied(id); done {
		return // the record that got in first was this one, from another hub
	}
	if _, err := h.journal.Append(id, &e); err != nil {
		h.log.Error("journal write failed; entry lost", "err", err, "text", e.Text)
		return
	}
	h.retryOnConflict(&e, id, tries)
}
