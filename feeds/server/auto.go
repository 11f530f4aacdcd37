package server

import (
	"cmp"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/config"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
)

// AutoComponent is a public component whose state follows its hosts and
// services (globs; no services: every one) while no incident names it.
type AutoComponent struct {
	ID       string
	Hosts    []string
	Services []string
}

func (a AutoComponent) covers(host, service string) bool {
	if !slices.ContainsFunc(a.Hosts, func(g string) bool { ok, _ := path.Match(g, host); return ok }) {
		return false
	}
	return service == "" || len(a.Services) == 0 || slices.ContainsFunc(a.Services, func(g string) bool { ok, _ := path.Match(g, service); return ok })
}

// autoTrack is each auto component's state from the journal's transition
// and silence entries, and the spans it spent out of operational.
type autoTrack struct {
	mu    sync.Mutex
	rules []AutoComponent
	bad   map[string]map[string]string // component → host\x00service (or host\x00 for silence) → its status
	cur   map[string]string
	since map[string]time.Time
	spans map[string][]publish.StateSpan
}

func newAutoTrack(rules []AutoComponent) *autoTrack {
	return &autoTrack{rules: rules, bad: map[string]map[string]string{}, cur: map[string]string{},
		since: map[string]time.Time{}, spans: map[string][]publish.StateSpan{}}
}

// observe takes one journal message: a service going down makes the
// components covering it partially out, a warning degraded, a host going
// silent partially out; recovery clears what it set.
func (t *autoTrack) observe(m protocol.Message) {
	e, ok := m.(*protocol.Entry)
	if !ok || t == nil || len(t.rules) == 0 {
		return
	}
	key, status, ok := autoReading(e)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.rules {
		if r.covers(e.Host, e.Service) {
			t.set(r.ID, key, status, e.At.Time)
		}
	}
}

// autoReading is what an entry says of a host for the auto components:
// key is host\x00service, or host\x00 for its silence, and status the
// state it gives the components covering it ("" clears what key set).
// ok is false for an entry that says nothing of a host's state.
func autoReading(e *protocol.Entry) (key, status string, ok bool) {
	if e.Host == "" || e.Level != "" || e.Incident != "" {
		return "", "", false
	}
	switch {
	case e.Service != "" && protocol.ValidState(e.State):
		return e.Host + "\x00" + e.Service, autoStatusOf(e.State), true
	case e.Service == "" && e.Kind == protocol.EntryAlert && strings.Contains(e.Text, " reporting"):
		return e.Host + "\x00", publish.PartialOutage, true
	case e.Service == "" && e.Kind == protocol.EntrySystem && strings.Contains(e.Text, "reporting again"):
		return e.Host + "\x00", "", true
	}
	return "", "", false
}

// autoStatusOf is the component state a service's state gives: down a
// partial outage, a warning degraded, any other none.
func autoStatusOf(state string) string {
	switch state {
	case protocol.StateDown:
		return publish.PartialOutage
	case protocol.StateWarn:
		return publish.DegradedPerformance
	}
	return ""
}

// set records key's status for component id (clearing it for "") and,
// where that moves the component's state, closes the span it leaves.
func (t *autoTrack) set(id, key, status string, at time.Time) {
	bad := t.bad[id]
	if bad == nil {
		bad = map[string]string{}
		t.bad[id] = bad
	}
	if status == "" {
		delete(bad, key)
	} else {
		bad[key] = status
	}
	next := worstAutoStatus(bad)
	prev := cmp.Or(t.cur[id], publish.Operational)
	if next == prev {
		return
	}
	if prev != publish.Operational {
		t.spans[id] = append(t.spans[id], publish.StateSpan{From: t.since[id], To: at, State: prev})
	}
	t.cur[id], t.since[id] = next, at
}

// worstAutoStatus is a component's state from what its hosts set: a
// partial outage over degraded, operational where none is set.
func worstAutoStatus(bad map[string]string) string {
	worst := publish.Operational
	for _, s := range bad {
		if s == publish.PartialOutage || worst == publish.Operational {
			worst = s
		}
	}
	return worst
}

// snapshot is each auto component's spans (the current one open) and its
// state now.
func (t *autoTrack) snapshot() (map[string][]publish.StateSpan, map[string]string) {
	spans, now := map[string][]publish.StateSpan{}, map[string]string{}
	if t == nil {
		return spans, now
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.rules {
		out := slices.Clone(t.spans[r.ID])
		cur := t.cur[r.ID]
		if cur != "" && cur != publish.Operational {
			out = append(out, publish.StateSpan{From: t.since[r.ID], State: cur})
		}
		spans[r.ID] = out
		now[r.ID] = cur
	}
	return spans, now
}

// applyAuto sets, on the page, each auto component no open incident
// names to the state its hosts give it, saying so.
func applyAuto(p *publish.Page, now map[string]string, named map[string]bool) {
	for i := range p.Components {
		c := &p.Components[i]
		st, ok := now[c.ID]
		if !ok || named[c.ID] || st == "" || st == publish.Operational || c.Status != publish.Operational {
			continue
		}
		c.Status, c.Auto = st, true
	}
}

// autoComponents is the configured components with auto = true.
func autoComponents(s config.Serve) []AutoComponent {
	var out []AutoComponent
	for _, c := range s.Components {
		if c.Auto {
			out = append(out, AutoComponent{ID: c.ID, Hosts: c.Hosts, Services: c.Services})
		}
	}
	return out
}
