package server

import (
	"strings"

	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A restarted hub must not fabricate transitions: a service that was down
// before the restart and is down after it changed nothing, and its since
// stays when it went down. The journal's transition entries carry their
// service and state (or host level) as fields; at start-up replay the hub
// keeps the newest of each as the last known state, and the first report
// after the restart is compared with it instead of with nothing.

// noteTransition remembers the state a journaled transition entry left a
// service or a host's load in. It is called for every journal message at
// start-up, in seq order, beside noteIncident.
func (h *Hub) noteTransition(m protocol.Message) {
	e, ok := m.(*protocol.Entry)
	if !ok {
		return
	}
	if e.Host == "" {
		legacy, ok := legacyTransition(e)
		if !ok {
			return
		}
		e = &legacy
	}
	h.live.restoreTransition(e)
}

// restoreTransition keeps the state a journaled transition left a service
// or a host's load in.
func (f *liveFleet) restoreTransition(e *protocol.Entry) {
	switch {
	case e.Service != "" && protocol.ValidState(e.State):
		if f.lastKnown == nil {
			f.lastKnown = map[string]protocol.Service{}
		}
		f.lastKnown[serviceKey(e.Host, e.Service)] = protocol.Service{Host: e.Host, Service: e.Service, State: e.State, Since: e.At, Detail: transitionDetail(e.Text)}
	case e.Level != "":
		if lvl, ok := level.Parse(e.Level); ok {
			f.levels[e.Host] = lvl
		}
	}
}

// legacyTransition reads a transition entry journaled before entries
// carried their service, state and level, from its text ("exim on web-3
// ok → down: …", "load on web-3 ok → crit: load1 …"), so the first
// restart after an upgrade fabricates nothing either. Such entries belong
// to no incident and their actor is the host.
func legacyTransition(e *protocol.Entry) (protocol.Entry, bool) {
	if e.Incident != "" || (e.Kind != protocol.EntryAlert && e.Kind != protocol.EntrySystem) {
		return protocol.Entry{}, false
	}
	left, right, ok := strings.Cut(e.Text, " → ")
	if !ok {
		return protocol.Entry{}, false
	}
	to, detail, _ := strings.Cut(right, ": ")
	what, rest, ok := strings.Cut(left, " on ")
	if !ok {
		return protocol.Entry{}, false
	}
	host, _, ok := strings.Cut(rest, " ")
	if !ok || host != e.Actor || protocol.CheckID("host", host) != nil {
		return protocol.Entry{}, false
	}
	out := *e
	out.Host = host
	if _, isLevel := level.Parse(to); isLevel && what == "load" && strings.HasPrefix(detail, "load1 ") {
		out.Level = to
		return out, true
	}
	if protocol.ValidState(to) && protocol.CheckID("service", what) == nil {
		out.Service, out.State = what, to
		return out, true
	}
	return protocol.Entry{}, false
}

func serviceKey(host, service string) string { return host + "\x00" + service }

// transitionEntry is the journal entry of a service changing state, with
// the fields a restart recovers it from.
func transitionEntry(s protocol.Service, from, text string) protocol.Entry {
	kind := protocol.EntrySystem
	if s.State == protocol.StateDown || s.State == protocol.StateWarn {
		kind = protocol.EntryAlert
	}
	at := s.At
	if !s.Since.IsZero() {
		at = s.Since // when the new state began: what since reads after a restart
	}
	return protocol.Entry{At: at, Actor: s.Host, Kind: kind, Text: text, Host: s.Host, Service: s.Service, State: s.State}
}
