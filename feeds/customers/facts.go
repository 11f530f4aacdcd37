package customers

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Interval is a span of time; a zero To is still open.
type Interval struct{ From, To time.Time }

func (iv Interval) end(now time.Time) time.Time {
	if iv.To.IsZero() {
		return now
	}
	return iv.To
}

// clip is the part of iv within [from, to), and whether there is one.
func (iv Interval) clip(from, to, now time.Time) (Interval, bool) {
	a, b := iv.From, iv.end(now)
	if a.Before(from) {
		a = from
	}
	if b.After(to) {
		b = to
	}
	if !a.Before(b) {
		return Interval{}, false
	}
	return Interval{a, b}, true
}

// hostTrack is one host's outages: spans when any of its services was down
// or it had stopped reporting.
type hostTrack struct {
	down     map[string]bool
	silent   bool
	outSince time.Time // zero: not out now
	outages  []Interval
}

// keepOutages is how long a host's outages are remembered: a year and a
// month, for last year's credits.
const keepOutages = 400 * 24 * time.Hour

func (h *hostTrack) out() bool { return h.silent || len(h.down) > 0 }

// Facts is what the journal says about hosts and incidents, built by
// observing every journal message in order.
type Facts struct {
	hosts     map[string]*hostTrack
	incidents map[string]protocol.Incident
	order     []string // incident ids in first-seen order
}

// NewFacts returns empty facts.
func NewFacts() *Facts {
	return &Facts{hosts: map[string]*hostTrack{}, incidents: map[string]protocol.Incident{}}
}

// Observe takes one journal message.
func (f *Facts) Observe(m protocol.Message) {
	switch v := m.(type) {
	case *protocol.IncidentMsg:
		if _, seen := f.incidents[v.Incident.ID]; !seen {
			f.order = append(f.order, v.Incident.ID)
		}
		f.incidents[v.Incident.ID] = v.Incident
	case *protocol.Entry:
		f.entry(v)
	}
}

// entry reads a host fact: a service transition (host, service, state)
// or a host going silent or coming back (host, no service, no level).
func (f *Facts) entry(e *protocol.Entry) {
	if e.Host == "" || e.Level != "" || e.Incident != "" {
		return
	}
	h := f.hosts[e.Host]
	if h == nil {
		h = &hostTrack{down: map[string]bool{}}
		f.hosts[e.Host] = h
	}
	was := h.out()
	switch {
	case e.Service != "" && protocol.ValidState(e.State):
		if e.State == protocol.StateDown {
			h.down[e.Service] = true
		} else {
			delete(h.down, e.Service)
		}
	case e.Service == "" && e.Kind == protocol.EntryAlert && strings.Contains(e.Text, " reporting"):
		h.silent = true
	case e.Service == "" && e.Kind == protocol.EntrySystem && strings.Contains(e.Text, "reporting again"):
		h.silent = false
	default:
		return
	}
	at := e.At.Time
	switch now := h.out(); {
	case now && !was:
		h.outSince = at
	case !now && was:
		if at.Before(h.outSince) {
			at = h.outSince
		}
		h.outages = append(h.outages, Interval{h.outSince, at})
		h.outSince = time.Time{}
		// A hub runs for years: keep what a credit or an incident can
		// still ask about.
		if old := h.outages[0]; at.Sub(old.To) > keepOutages {
			h.outages = slices.DeleteFunc(h.outages, func(iv Interval) bool { return at.Sub(iv.To) > keepOutages })
		}
	}
}

// Outages is the spans host was out (a service down or silent) within
// [from, to), now closing one still open.
func (f *Facts) Outages(host string, from, to, now time.Time) []Interval {
	h := f.hosts[host]
	if h == nil {
		return nil
	}
	var out []Interval
	all := h.outages
	if !h.outSince.IsZero() {
		all = append(slices.Clip(all), Interval{From: h.outSince})
	}
	for _, iv := range all {
		if c, ok := iv.clip(from, to, now); ok {
			out = append(out, c)
		}
	}
	return out
}

// Incident returns the newest state of an incident.
func (f *Facts) Incident(id string) (protocol.Incident, bool) {
	in, ok := f.incidents[id]
	return in, ok
}

// Incidents is every incident seen, in the order first seen.
func (f *Facts) Incidents() []protocol.Incident {
	out := make([]protocol.Incident, 0, len(f.order))
	for _, id := range f.order {
		out = append(out, f.incidents[id])
	}
	return out
}

// window is when an incident was open: opened to resolved (or now).
func window(in protocol.Incident) Interval {
	iv := Interval{From: in.OpenedAt.Time}
	if in.ResolvedAt != nil && !in.ResolvedAt.IsZero() {
		iv.To = in.ResolvedAt.Time
	}
	return iv
}

// Maintenance is the kind of incident that announces maintenance.
const Maintenance = "maintenance"

// maintenanceWindow is an announced maintenance's scheduled span (its end,
// else its resolution, else still open).
func maintenanceWindow(in protocol.Incident) (Interval, bool) {
	if in.Kind != Maintenance || in.ScheduledStart == nil || in.ScheduledStart.IsZero() {
		return Interval{}, false
	}
	iv := Interval{From: in.ScheduledStart.Time}
	switch {
	case in.ScheduledEnd != nil && !in.ScheduledEnd.IsZero():
		iv.To = in.ScheduledEnd.Time
	case in.ResolvedAt != nil && !in.ResolvedAt.IsZero():
		iv.To = in.ResolvedAt.Time
	}
	return iv, true
}

// Affected is the ids of the customers an incident touches, in file
// order: one of their hosts was out while it was open, or it names one of
// their components.
func (f *Facts) Affected(l *List, incidentID string, now time.Time) []string {
	in, ok := f.incidents[incidentID]
	if !ok || l == nil {
		return nil
	}
	w := window(in)
	from, to := w.From, w.end(now)
	hit := map[int32]bool{}
	for host := range f.hosts {
		idx := l.byHostIdx(host)
		if len(idx) == 0 || len(f.Outages(host, from, to.Add(time.Nanosecond), now)) == 0 {
			continue
		}
		for _, i := range idx {
			hit[i] = true
		}
	}
	for _, c := range in.Components {
		for _, i := range l.byComponent[c] {
			hit[i] = true
		}
	}
	idx := make([]int32, 0, len(hit))
	for i := range hit {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	ids := make([]string, len(idx))
	for k, i := range idx {
		ids[k] = l.customers[i].ID
	}
	return ids
}
