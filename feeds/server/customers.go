package server

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/customers"
	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
	"github.com/vigil-oncall/vigil/feeds/subscribers"
)

// customerFacts is what the journal says about hosts and incidents, for
// working out who an incident touched. It has its own lock: commands read
// it while the hub's lock is held by broadcasts.
type customerFacts struct {
	mu    sync.Mutex
	facts *customers.Facts
}

func (h *Hub) observeCustomers(m protocol.Message) {
	if m == nil {
		return
	}
	h.cust.mu.Lock()
	if h.cust.facts == nil {
		h.cust.facts = customers.NewFacts()
	}
	h.cust.facts.Observe(m)
	h.cust.mu.Unlock()
	h.auto.observe(m)
}

// CustomerList is the customers file as last read; nil without one.
func (h *Hub) CustomerList() *customers.List {
	if h.opts.Customers == nil {
		return nil
	}
	return h.opts.Customers.List()
}

// Affected is the ids of the customers an incident touched: a host of
// theirs was out while it was open, or it names a component of theirs.
func (h *Hub) Affected(incidentID string) []string {
	l := h.CustomerList()
	if l == nil {
		return nil
	}
	h.cust.mu.Lock()
	defer h.cust.mu.Unlock()
	if h.cust.facts == nil {
		return nil
	}
	return h.cust.facts.Affected(l, incidentID, h.opts.Now())
}

// Credits is the month's credits as the hub knows them.
func (h *Hub) Credits(m customers.Month) []customers.Credit {
	l := h.CustomerList()
	if l == nil {
		return nil
	}
	h.cust.mu.Lock()
	defer h.cust.mu.Unlock()
	if h.cust.facts == nil {
		return nil
	}
	return customers.Credits(l, h.cust.facts, h.opts.Plans, m, h.opts.Now())
}

func (h *Hub) customersChannel(name string) bool {
	_, ok := h.opts.Senders[name].(*publish.CustomerMail)
	return ok
}

// freezeRecipients puts on a publish to a customers channel the ids of the
// customers it writes to, as they stand now: what is sent after a restart
// is what was decided here, not what the file says then.
func (h *Hub) freezeRecipients(pub *protocol.Entry, incidentID string) *incident.Refusal {
	if !slices.ContainsFunc(pub.Channels, h.customersChannel) {
		return nil
	}
	if h.CustomerList() == nil {
		return refuse(protocol.CodeInvalid, "no customers file is configured")
	}
	pub.Recipients = h.Affected(incidentID)
	if pub.Recipients == nil {
		pub.Recipients = []string{}
	}
	frame, err := protocol.Encode(pub)
	if err == nil && !protocol.FitsFrame(append(frame, make([]byte, 512)...)) {
		return refuse(protocol.CodeInvalid, "%d affected customers do not fit in one journal entry; publish to the components' subscribers instead", len(pub.Recipients))
	}
	return nil
}

// customersReread is how often the customers file is looked at for a
// change.
const customersReread = 10 * time.Second

// WatchCustomers reads the customers file again when it changes, until
// ctx ends; a refused file is logged and the old list kept.
func WatchCustomers(ctx context.Context, src *customers.Source, log *slog.Logger) {
	t := time.NewTicker(customersReread)
	defer t.Stop()
	src.Watch(ctx, t.C, func(l *customers.List, err error) {
		if err != nil {
			log.Error("customers file refused; the previous list stays", "err", err, "customers", l.Len())
			return
		}
		log.Info("customers file read", "file", src.Path(), "customers", l.Len())
	})
}

// audience is what the status page adds for customers: the sign-up form
// and the uptime bars.
type audience struct {
	mu        sync.Mutex
	subscribe bool
}

func (h *Hub) initAudience() {
	h.initUptime()
	h.board.SetExtras(h.extendPage)
}

func (h *Hub) extendPage(p *publish.Page, now time.Time) {
	h.aud.mu.Lock()
	p.Subscribe = h.aud.subscribe
	h.aud.mu.Unlock()
	if len(h.opts.Site.Components) > 0 {
		p.Uptime = h.UptimeNow(now).Bars()
	}
	if h.auto != nil {
		named := map[string]bool{}
		for _, t := range h.board.Snapshot() {
			if !t.Incident.Resolved() {
				for _, c := range t.Incident.Components {
					named[c] = true
				}
			}
		}
		_, states := h.auto.snapshot()
		applyAuto(p, states, named)
	}
}

// RouteSubscribers serves sign-up, confirmation and unsubscribe beside
// /status and offers the form on the page; call it before serving, and
// run sh.Run for the confirmation mail.
func (h *Hub) RouteSubscribers(sh *subscribers.Handler) {
	sh.Now, sh.Log = h.opts.Now, h.log
	for pattern, handler := range sh.Routes() {
		h.Handle(pattern, handler)
	}
	h.aud.mu.Lock()
	h.aud.subscribe = true
	h.aud.mu.Unlock()
}

// startAudience watches the customers file and serves the subscription
// pages (their routes before the hub's mux is built), each until ctx ends.
func startAudience(ctx context.Context, wg *sync.WaitGroup, hub *Hub, custs *customers.Source, subs *subscribers.Handler, log *slog.Logger) {
	if custs != nil {
		wg.Add(1)
		go func() { defer wg.Done(); WatchCustomers(ctx, custs, log) }()
	}
	if subs != nil {
		hub.RouteSubscribers(subs)
		wg.Add(1)
		go func() { defer wg.Done(); subs.Run(ctx) }()
	}
}
