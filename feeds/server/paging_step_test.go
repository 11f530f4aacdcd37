package server

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A step whose write failed is held back whole: its pages are marked to
// journal again, its notifications no longer in flight, so the next step
// journals and sends them.
func TestHeldBackPagingStepIsTriedAgain(t *testing.T) {
	r := newPagingRig(t)
	r.hub.PublishService(protocol.Service{Host: "shared-04", Service: "exim", State: protocol.StateDown,
		At: protocol.At(pagingT0), Since: protocol.At(pagingT0)})
	due := pagingT0.Add(30 * time.Second)
	r.clock.set(due)
	p := r.hub.pager
	p.mu.Lock()
	p.advanceLocked(due, nil, nil)
	msgs, ids := p.changedPagesLocked()
	notes, sending := p.startDueLocked(due, r.hub.opts.Name)
	p.mu.Unlock()
	if len(msgs) != 1 || len(ids) != 1 || ids[0] != "PG-1" || len(notes) != 1 || len(sending) != 1 {
		t.Fatalf("the step: pages %v, notifications %+v, entries %d", ids, notes, len(sending))
	}
	p.mu.Lock()
	again, _ := p.startDueLocked(due, r.hub.opts.Name)
	p.mu.Unlock()
	if len(again) != 0 {
		t.Fatalf("a notification in flight was due again: %+v", again)
	}

	r.hub.holdBackPaging(errors.New("not the leader"), ids, notes)
	p.mu.Lock()
	inflight, dirty := len(p.inflight), p.dirty["PG-1"]
	p.mu.Unlock()
	if inflight != 0 || !dirty {
		t.Fatalf("held back: %d in flight, PG-1 to journal %v", inflight, dirty)
	}
	r.step(t, due)
	if mails := r.mail.received(); len(mails) != 1 || !strings.Contains(mails[0], "To: <alice@example.com>") {
		t.Fatalf("after the retry: %q", mails)
	}
	if pg := r.page(t, "PG-1"); len(pg.Notified) != 1 || pg.Notified[0].Person != "alice" {
		t.Fatalf("after the retry PG-1 is %+v", pg)
	}
}
