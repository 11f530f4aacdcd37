// Package state is the dashboard's pure reducer: feed batches and clock
// ticks in, dashboard state out. It never imports bubbletea and does no
// I/O, so every rule of what the screen shows is tested without a
// terminal. Every string from a feed is sanitised on the way in.
package state

import (
	"fmt"
	"sort"
	"time"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Level is a host's load level: the one rule of feeds/level.
type Level = level.Level

const (
	OK   = level.OK
	Warn = level.Warn
	Crit = level.Crit
)

// Thresholds are load-per-CPU levels: the one rule of feeds/level.
type Thresholds = level.Thresholds

// Host is one host's latest load.
type Host struct {
	Name, Feed           string
	Load1, Load5, Load15 float64
	CPUs                 int
	MemUsedPct           *float64
	Interval             time.Duration
	At, Received         time.Time
	History              []float64
	Level                Level
}

// PerCPU is load1 per CPU.
func (h *Host) PerCPU() float64 { return level.PerCPU(h.Load1, h.CPUs) }

// Age is how long since the host last reported (by the local clock).
func (h *Host) Age(now time.Time) time.Duration { return now.Sub(h.Received) }

// Stale reports whether the host has been silent for 3 of its intervals.
func (h *Host) Stale(now time.Time) bool {
	iv := h.Interval
	if iv <= 0 {
		iv = 5 * time.Second
	}
	return h.Age(now) > 3*iv
}

// Service is one service on one host.
type Service struct {
	Host, Name, Feed string
	State, Detail    string
	Since, Received  time.Time
	Changes          []time.Time
}

// FlapWindow and FlapChanges: this many state changes within the window
// mark a service as flapping.
const (
	FlapWindow  = 10 * time.Minute
	FlapChanges = 3
)

// Flapping reports whether the service changed state often, recently.
func (s *Service) Flapping(now time.Time) bool {
	n := 0
	for _, t := range s.Changes {
		if now.Sub(t) <= FlapWindow {
			n++
		}
	}
	return n >= FlapChanges
}

// Incident is an incident and the feed it came from (where its commands go).
type Incident struct {
	Feed string
	protocol.Incident
}

// Pending is a command sent and not yet answered.
type Pending struct {
	Feed   string
	Cmd    protocol.Command
	Queued time.Time
}

// Refused is a command the server answered with nack.
type Refused struct {
	Cmd   protocol.Command
	Code  string
	Error string
	At    time.Time
}

// Notice is a one-line message for the footer.
type Notice struct {
	At    time.Time
	Text  string
	Error bool
}

// Alert is something worth the terminal bell: once per event.
type Alert struct {
	At   time.Time
	Text string
}

// State is everything the dashboard shows.
type State struct {
	Thresholds Thresholds

	hosts     map[string]*Host
	services  map[string]*Service
	incidents map[string]*Incident
	incOrder  []string
	Timeline  *Timeline
	health    []client.Health
	pending   map[string]*Pending
	refused   map[string]Refused // by incident + "/" + item
	overdue   map[string]bool    // incident + "/" + item
	gapStart  map[string]gap
	alerts    []Alert
	Notice    Notice

	// Versions move when what they name changes, so views can cache.
	HostsVersion, ServicesVersion, IncidentsVersion, TimelineVersion, HealthVersion uint64

	sortedHosts    []*Host
	sortedHostsKey [2]int64
	staleHosts     int
	staleKey       [2]int64
	staleValid     bool
	sortedSvcs     []*Service
	sortedSvcsKey  [2]int64
}

type gap struct {
	from   time.Time
	reason string
}

// New returns an empty state.
func New(th Thresholds, timelineCap int) *State {
	return &State{
		Thresholds: th,
		hosts:      map[string]*Host{}, services: map[string]*Service{},
		incidents: map[string]*Incident{}, Timeline: NewTimeline(timelineCap),
		pending: map[string]*Pending{}, refused: map[string]Refused{},
		overdue: map[string]bool{}, gapStart: map[string]gap{},
	}
}

func itemKey(incidentID, item string) string { return incidentID + "/" + item }

// Apply folds one drained batch into the state.
func (s *State) Apply(b client.Batch, now time.Time) {
	for i := range b.Loads {
		s.applyLoad(&b.Loads[i])
	}
	if len(b.Loads) > 0 {
		s.HostsVersion++
	}
	for i := range b.Services {
		s.applyService(&b.Services[i], now)
	}
	if len(b.Services) > 0 {
		s.ServicesVersion++
	}
	for _, e := range b.Events {
		s.applyEvent(e, now)
	}
	if b.Health != nil {
		s.health = b.Health
		for i := range s.health {
			s.health[i].Reason = Sanitize(s.health[i].Reason)
			s.health[i].Server = Sanitize(s.health[i].Server)
		}
		s.HealthVersion++
	}
}

func (s *State) applyLoad(l *client.HostLoad) {
	name := Sanitize(l.Load.Host)
	h := s.hosts[name]
	if h == nil {
		h = &Host{Name: name}
		s.hosts[name] = h
	}
	prev := h.Level
	known := h.CPUs > 0 || h.Load1 > 0
	h.Feed = l.Feed
	h.Load1, h.Load5, h.Load15, h.CPUs = l.Load.Load1, l.Load.Load5, l.Load.Load15, l.Load.CPUs
	h.MemUsedPct = l.Load.MemUsedPct
	h.Interval, h.At, h.Received = l.Load.Interval.Std(), l.Load.At.Time, l.Received
	h.History = l.History.Values(h.History[:0])
	// The server's level where the load carries it, so the journal's
	// crossings and the screen agree; else the same rule, hysteresis and all.
	if lvl, ok := level.Parse(l.Load.Level); ok {
		h.Level = lvl
	} else {
		h.Level = s.Thresholds.From(prev, h.Load1, h.CPUs)
	}
	if h.Level == Crit && known && prev != Crit {
		s.alert(l.Received, fmt.Sprintf("%s load crit: %.2f per CPU", name, h.PerCPU()))
	}
}

func (s *State) applyService(st *client.ServiceState, now time.Time) {
	host, name := Sanitize(st.Service.Host), Sanitize(st.Service.Service)
	key := host + "\x00" + name
	sv := s.services[key]
	wasDown := sv != nil && sv.State == protocol.StateDown
	if sv == nil {
		sv = &Service{Host: host, Name: name}
		s.services[key] = sv
	}
	sv.Feed, sv.State, sv.Detail = st.Feed, st.Service.State, Sanitize(st.Service.Detail)
	sv.Since, sv.Received, sv.Changes = st.Service.Since.Time, st.Received, st.Changes
	if sv.State == protocol.StateDown && !wasDown && len(st.Changes) > 0 {
		s.alert(now, fmt.Sprintf("%s on %s is down", name, host))
	}
}

func (s *State) alert(at time.Time, text string) {
	s.alerts = append(s.alerts, Alert{At: at, Text: text})
}

// TakeAlerts returns and clears the alerts raised since the last call.
func (s *State) TakeAlerts() []Alert {
	a := s.alerts
	s.alerts = nil
	return a
}

func sanitizeIncident(in protocol.Incident) protocol.Incident {
	in = in.Clone()
	in.ID, in.Title, in.Commander = Sanitize(in.ID), Sanitize(in.Title), Sanitize(in.Commander)
	in.Severity, in.Kind, in.Status = Sanitize(in.Severity), Sanitize(in.Kind), Sanitize(in.Status)
	for i := range in.Checklist {
		it := &in.Checklist[i]
		it.ID, it.Title, it.Hint = Sanitize(it.ID), Sanitize(it.Title), Sanitize(it.Hint)
		if it.DoneBy != nil {
			v := Sanitize(*it.DoneBy)
			it.DoneBy = &v
		}
		// Templates are rendered into drafts, never drawn as they are; the
		// draft is sanitised when shown.
	}
	return in
}

func (s *State) applyEvent(e client.Event, now time.Time) {
	switch v := e.(type) {
	case client.JournalEvent:
		switch m := v.Msg.(type) {
		case *protocol.IncidentMsg:
			in := sanitizeIncident(m.Incident)
			if _, seen := s.incidents[in.ID]; !seen {
				s.incOrder = append(s.incOrder, in.ID)
				s.Timeline.AddList(in.ID)
			}
			s.incidents[in.ID] = &Incident{Feed: v.Feed, Incident: in}
			s.IncidentsVersion++
		case *protocol.Entry:
			s.Timeline.Add(Entry{Feed: v.Feed, Seq: m.Seq, Incident: Sanitize(m.Incident), At: m.At.Time,
				Actor: Sanitize(m.Actor), Kind: Sanitize(m.Kind), Text: Sanitize(m.Text)})
			s.TimelineVersion++
		}
	case client.ResetEvent:
		s.dropFeed(v.Feed)
		s.Notice = Notice{At: now, Text: fmt.Sprintf("feed %s has a new journal (%s): reloaded", v.Feed, Sanitize(v.NewJournal))}
	case client.StatusEvent:
		s.applyStatus(v)
	case client.NoticeEvent:
		s.Notice = Notice{At: now, Text: Sanitize(v.Text), Error: v.Error}
	case client.QueuedEvent:
		s.pending[v.Command.ID] = &Pending{Feed: v.Feed, Cmd: v.Command, Queued: now}
		if v.Command.Op == protocol.OpCheck {
			delete(s.refused, itemKey(v.Command.Incident, v.Command.Item))
		}
		s.IncidentsVersion++
	case client.AckEvent:
		delete(s.pending, v.ID)
		s.IncidentsVersion++
	case client.NackEvent:
		p := s.pending[v.ID]
		delete(s.pending, v.ID)
		text := fmt.Sprintf("refused (%s): %s", Sanitize(v.Code), Sanitize(v.Error))
		if p != nil {
			text = p.Cmd.Op + " " + text
			if p.Cmd.Op == protocol.OpCheck {
				s.refused[itemKey(p.Cmd.Incident, p.Cmd.Item)] = Refused{Cmd: p.Cmd, Code: Sanitize(v.Code), Error: Sanitize(v.Error), At: now}
			}
		}
		s.Notice = Notice{At: now, Text: text, Error: true}
		s.IncidentsVersion++
	}
}

func (s *State) applyStatus(v client.StatusEvent) {
	switch v.State {
	case client.Disconnected, client.Refused:
		if _, open := s.gapStart[v.Feed]; !open {
			s.gapStart[v.Feed] = gap{from: v.At, reason: Sanitize(v.Reason)}
		}
	case client.Synced:
		if g, open := s.gapStart[v.Feed]; open {
			delete(s.gapStart, v.Feed)
			s.Timeline.Add(Entry{Feed: v.Feed, At: g.from, Actor: v.Feed, Kind: KindGap,
				Text: fmt.Sprintf("feed %s was disconnected from %s to %s (%s): what happened then was not seen live",
					v.Feed, g.from.UTC().Format("15:04:05"), v.At.UTC().Format("15:04:05 UTC"), g.reason)})
			s.TimelineVersion++
		}
	}
}

// KindGap is the entry kind of a time a feed was not connected.
const KindGap = "gap"

func (s *State) dropFeed(feed string) {
	for id, in := range s.incidents {
		if in.Feed == feed {
			delete(s.incidents, id)
		}
	}
	order := s.incOrder[:0]
	for _, id := range s.incOrder {
		if _, ok := s.incidents[id]; ok {
			order = append(order, id)
		}
	}
	s.incOrder = order
	s.Timeline.DropFeed(feed)
	s.IncidentsVersion++
	s.TimelineVersion++
}

// Tick advances the clock: steps that became overdue raise an alert, once.
func (s *State) Tick(now time.Time) {
	for _, id := range s.incOrder {
		in := s.incidents[id]
		if in.Resolved() {
			continue
		}
		for i := range in.Checklist {
			it := &in.Checklist[i]
			key := itemKey(in.ID, it.ID)
			st := incident.StepStatus(&in.Incident, it, now)
			if st.State == incident.StepOverdue {
				if !s.overdue[key] {
					s.overdue[key] = true
					s.alert(now, fmt.Sprintf("%s: %q is overdue", in.ID, it.Title))
				}
			} else {
				delete(s.overdue, key)
			}
		}
	}
}

// Hosts returns the hosts worst first: crit, then silent (stale), then
// warn, then ok; within a level by name, so rows move only when a host
// changes level: a list that re-sorts on every sample is hard to read and
// costs bytes over SSH on every frame.
func (s *State) Hosts(now time.Time) []*Host {
	key := [2]int64{int64(s.HostsVersion), now.Unix()}
	if s.sortedHosts != nil && key == s.sortedHostsKey && len(s.sortedHosts) == len(s.hosts) {
		return s.sortedHosts
	}
	type keyed struct {
		h    *Host
		rank int
	}
	ks := make([]keyed, 0, len(s.hosts))
	for _, h := range s.hosts {
		k := keyed{h: h, rank: 3}
		switch {
		case h.Level == Crit:
			k.rank = 0
		case h.Stale(now):
			k.rank = 1
		case h.Level == Warn:
			k.rank = 2
		}
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		a, b := ks[i], ks[j]
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.h.Name < b.h.Name
	})
	out := s.sortedHosts[:0]
	for _, k := range ks {
		out = append(out, k.h)
	}
	s.sortedHosts, s.sortedHostsKey = out, key
	return out
}

// StaleHosts is the number of hosts silent for 3 of their intervals.
func (s *State) StaleHosts(now time.Time) int {
	key := [2]int64{int64(s.HostsVersion), now.Unix()}
	if key != s.staleKey || !s.staleValid {
		n := 0
		for _, h := range s.hosts {
			if h.Stale(now) {
				n++
			}
		}
		s.staleHosts, s.staleKey, s.staleValid = n, key, true
	}
	return s.staleHosts
}

// HostCount is the number of hosts known.
func (s *State) HostCount() int { return len(s.hosts) }

var stateRank = map[string]int{protocol.StateDown: 0, protocol.StateWarn: 1, protocol.StateUnknown: 2, protocol.StateMaintenance: 3, protocol.StateOK: 4}

// Services returns the services problems first (down, warn, unknown,
// maintenance, ok), the longest-standing problem first, then by host.
func (s *State) Services() []*Service {
	key := [2]int64{int64(s.ServicesVersion), 0}
	if s.sortedSvcs != nil && key == s.sortedSvcsKey && len(s.sortedSvcs) == len(s.services) {
		return s.sortedSvcs
	}
	out := s.sortedSvcs[:0]
	for _, sv := range s.services {
		out = append(out, sv)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		ra, oka := stateRank[a.State]
		rb, okb := stateRank[b.State]
		if !oka {
			ra = 2
		}
		if !okb {
			rb = 2
		}
		if ra != rb {
			return ra < rb
		}
		if ra < 4 && !a.Since.Equal(b.Since) {
			return a.Since.Before(b.Since)
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		return a.Name < b.Name
	})
	s.sortedSvcs, s.sortedSvcsKey = out, key
	return out
}

// DownServices lists the services that are down, for message drafts.
func (s *State) DownServices() []incident.Affected {
	var out []incident.Affected
	for _, sv := range s.services {
		if sv.State == protocol.StateDown {
			out = append(out, incident.Affected{Host: sv.Host, Service: sv.Name, Since: sv.Since})
		}
	}
	return out
}

// Incidents returns every incident in the order first seen.
func (s *State) Incidents() []*Incident {
	out := make([]*Incident, 0, len(s.incOrder))
	for _, id := range s.incOrder {
		out = append(out, s.incidents[id])
	}
	return out
}

// OpenIncidents returns the incidents not resolved, most severe first,
// then the newest.
func (s *State) OpenIncidents() []*Incident {
	var out []*Incident
	for _, id := range s.incOrder {
		if in := s.incidents[id]; !in.Resolved() {
			out = append(out, in)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Severity != out[j].Severity {
			return out[i].Severity < out[j].Severity
		}
		return out[i].OpenedAt.After(out[j].OpenedAt.Time)
	})
	return out
}

// Incident returns one incident by id.
func (s *State) Incident(id string) *Incident { return s.incidents[id] }

// Health returns every feed's health, in configuration order.
func (s *State) Health() []client.Health { return s.health }

// PendingCheck returns the unanswered check command for a step, if any.
func (s *State) PendingCheck(incidentID, item string) *Pending {
	var newest *Pending
	for _, p := range s.pending {
		if p.Cmd.Op == protocol.OpCheck && p.Cmd.Incident == incidentID && p.Cmd.Item == item {
			if newest == nil || p.Queued.After(newest.Queued) {
				newest = p
			}
		}
	}
	return newest
}

// PendingCount is the number of unanswered commands.
func (s *State) PendingCount() int { return len(s.pending) }

// RefusedCheck returns the last refusal of a tick of this step, if any.
func (s *State) RefusedCheck(incidentID, item string) (Refused, bool) {
	r, ok := s.refused[itemKey(incidentID, item)]
	return r, ok
}

// Gaps returns the feeds currently disconnected, with since when and why.
func (s *State) Gaps() map[string]time.Time {
	out := map[string]time.Time{}
	for f, g := range s.gapStart {
		out[f] = g.from
	}
	return out
}
