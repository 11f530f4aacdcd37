package server

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/vigil-oncall/vigil/feeds/paging"
)

// Paging in a cluster. Every hub holds the same journal, so every hub's
// engine knows every page, acknowledgement and notification; one hub, the
// owner of the lease "paging", turns events into pages, fires the
// escalation timers, sends, and fetches the heartbeat. The others forward
// the events they see (their agents', their scrapes', their webhooks') to
// it over core NATS and answer commands from the journal as usual. When
// the owner dies another hub takes the lease within it, reads the pages
// the journal holds, sends again what the dead one journaled as being
// sent (with the same identity: the one window no sender can close), and
// raises again every problem still standing, since the events forwarded
// while nobody owned the lease went nowhere.

// PagingLease is the lease the paging owner holds.
const PagingLease = "paging"

// sharer is a cluster journal that carries messages between hubs.
type sharer interface {
	Share(topic string, in func(data []byte)) (out func(data []byte))
}

// secretSharer is a cluster journal that agrees a secret between hubs.
type secretSharer interface {
	SharedSecret(ctx context.Context, name string, mine []byte) ([]byte, error)
}

// wireEvent is an event as one hub forwards it to the paging owner.
type wireEvent struct {
	At      time.Time `json:"at"`
	What    string    `json:"what"`
	Host    string    `json:"host,omitempty"`
	Service string    `json:"service,omitempty"`
	Text    string    `json:"text,omitempty"`
	Clear   bool      `json:"clear,omitempty"`
	// Resync: alone, the new paging hub asks for every problem standing;
	// with an event, it is one of them (applied unless a page lists it).
	Resync bool `json:"resync,omitempty"`
}

// joinClusterPaging makes this hub one of a cluster's pagers, before any
// of its loops start: it forwards its events until it holds the lease.
func (h *Hub) joinClusterPaging() {
	p := h.pager
	p.owner.Store(false)
	if s, ok := h.journal.(sharer); ok {
		p.forward = s.Share("paging", h.takeForwardedEvent)
	}
}

// holdPaging pages for the cluster while this hub holds the lease, until
// ctx ends.
func (h *Hub) holdPaging(ctx context.Context, lease time.Duration) {
	p := h.pager
	h.holdOrRun(ctx, PagingLease, lease, func(ctx context.Context) {
		h.log.Info("paging: this hub pages for the cluster")
		p.owner.Store(true)
		h.raiseStanding()
		p.poke()
		<-ctx.Done()
		p.owner.Store(false)
		// Sends under way finish and journal their outcome; the next
		// owner does not start what this one journaled as delivered.
	})
}

// agreeAckSecret makes acknowledge links work on every hub: the first
// hub's key becomes everyone's. Until it is agreed, links are made and
// read with this hub's own key (and read with both after).
func (h *Hub) agreeAckSecret(ctx context.Context) {
	ss, ok := h.journal.(secretSharer)
	if !ok {
		return
	}
	p := h.pager
	for wait := time.Second; ctx.Err() == nil; wait = min(2*wait, 30*time.Second) {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		b, err := ss.SharedSecret(cctx, "paging-ack", p.opts.Secret)
		cancel()
		if err == nil && len(b) >= 32 {
			p.shared.Store(&b)
			return
		}
		h.log.Debug("paging: the cluster's acknowledge key not agreed yet", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// forwardEvent sends an event to the paging owner.
func (h *Hub) forwardEvent(ev paging.Event, resync bool) {
	p := h.pager
	if p.forward == nil {
		return
	}
	b, err := json.Marshal(wireEvent{At: ev.At, What: ev.What, Host: ev.Host, Service: ev.Service, Text: ev.Text, Clear: ev.Clear, Resync: resync})
	if err != nil {
		return
	}
	p.forward(b)
}

// takeForwardedEvent applies an event another hub saw, if this hub pages;
// a new paging hub's call for the problems standing is answered by every
// other hub.
func (h *Hub) takeForwardedEvent(data []byte) {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		h.log.Debug("paging: a forwarded event does not decode", "err", err)
		return
	}
	owner := h.pager.owner.Load()
	switch {
	case w.What == "" && w.Resync:
		if !owner {
			for _, ev := range h.pager.standingEvents() {
				h.forwardEvent(ev, true)
			}
		}
	case !owner || w.What == "":
	case w.Resync:
		h.applyStandingEvent(paging.Event{At: w.At, What: w.What, Host: w.Host, Service: w.Service, Text: w.Text})
	default:
		h.applyPageEvent(paging.Event{At: w.At, What: w.What, Host: w.Host, Service: w.Service, Text: w.Text, Clear: w.Clear})
	}
}

// raiseStanding raises every problem this hub saw that has not cleared
// and no page lists, and asks the other hubs to send theirs: events
// forwarded while no hub held the lease went nowhere.
func (h *Hub) raiseStanding() {
	for _, ev := range h.pager.standingEvents() {
		h.applyStandingEvent(ev)
	}
	if f := h.pager.forward; f != nil {
		b, _ := json.Marshal(wireEvent{Resync: true})
		f(b)
	}
}

// applyStandingEvent applies a problem still standing unless a page lists
// it (open, or resolved by hand while it stood).
func (h *Hub) applyStandingEvent(ev paging.Event) {
	p := h.pager
	p.mu.Lock()
	known := p.eng.Lists(ev)
	p.mu.Unlock()
	if !known {
		h.applyPageEvent(ev)
	}
}

// standingEvents is what this hub saw begin and not clear.
func (p *pager) standingEvents() []paging.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]paging.Event, 0, len(p.standing))
	for _, ev := range p.standing {
		out = append(out, ev)
	}
	slices.SortFunc(out, func(a, b paging.Event) int { return a.At.Compare(b.At) })
	return out
}

// stand remembers ev until it clears.
func (p *pager) stand(ev paging.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ev.Clear {
		delete(p.standing, ev.Key())
	} else if _, ok := p.standing[ev.Key()]; !ok {
		p.standing[ev.Key()] = ev
	}
}
