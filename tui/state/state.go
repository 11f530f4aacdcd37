// Package state is the dashboard's pure reducer: feed batches and clock
// ticks in, dashboard state out. It never imports bubbletea and does no
// I/O, so every rule of what the screen shows is tested without a
// terminal. Every string from a feed is sanitised on the way in.
package state

import (
	"fmt"
	"sort"
	"strings"
	"time"

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
	// Previous is the state before the newest change ("" before any):
	// an expiry that went from warn to ok was renewed.
	Previous string
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
	// Progress marks a notice that says a command is on its way
	// ("declaring SEV1 outage: …"): it goes when the hub acknowledges
	// Command, the first command queued after it.
	Progress bool
	Command  string
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
	health    []Health
	pending   map[string]*Pending
	refused   map[string]Refused // by incident + "/" + item
	overdue   map[string]bool    // incident + "/" + item
	gapStart  map[string]gap
	// wasLive holds the feeds synced at least once: only they can lose
	// sight of anything (a feed never connected has no gap, it has not
	// started).
	wasLive map[string]bool
	// latestBy is, per feed, the latest time of a responder's entry
	// journaled so far: one journaled after it with an earlier time
	// arrived late (a note made offline).
	latestBy  map[string]time.Time
	alerts    []Alert
	presence  map[string][]protocol.Watcher // by feed
	published map[string]string             // publish ref -> incident/item it was for
	delivery  map[string]map[string]string  // incident/item -> channel -> latest outcome
	Notice    Notice
	paging    paging
	pages     pageBook   // pages and who is on call (pages.go)
	hubLoads  []*HubLoad // hosts' history from their hub, newest asked last

	// Versions move when what they name changes, so views can cache.
	HostsVersion, ServicesVersion, IncidentsVersion, TimelineVersion, HealthVersion, PresenceVersion uint64

	downFeeds      map[string]bool // feeds known and not connected
	sortedHosts    []*Host
	sortedRanks    []int8 // the rank each of sortedHosts was sorted by
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
		overdue: map[string]bool{}, gapStart: map[string]gap{}, wasLive: map[string]bool{}, latestBy: map[string]time.Time{}, presence: map[string][]protocol.Watcher{},
		published: map[string]string{}, delivery: map[string]map[string]string{},
		downFeeds: map[string]bool{},
		paging:    newPaging(),
	}
}

func itemKey(incidentID, item string) string { return incidentID + "/" + item }

// Apply folds one drained batch into the state.
func (s *State) Apply(b Batch, now time.Time) {
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
		clear(s.downFeeds)
		for i := range s.health {
			s.health[i].Reason = Sanitize(s.health[i].Reason)
			s.health[i].Server = Sanitize(s.health[i].Server)
			s.health[i].Channels = sanitizeAll(s.health[i].Channels)
			s.health[i].Components = sanitizeComponents(s.health[i].Components)
			if !s.health[i].State.Up() {
				s.downFeeds[s.health[i].Feed] = true
			}
		}
		// A feed going down makes its hosts and services stale.
		s.HealthVersion++
		s.HostsVersion++
		s.ServicesVersion++
	}
	for i := range b.History {
		s.applyHistory(&b.History[i], now)
	}
}

func (s *State) applyLoad(l *HostLoad) {
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
	h.History = append(h.History[:0], l.History...)
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

func (s *State) applyService(st *ServiceState, now time.Time) {
	host, name := Sanitize(st.Service.Host), Sanitize(st.Service.Service)
	key := host + "\x00" + name
	sv := s.services[key]
	wasDown := sv != nil && sv.State == protocol.StateDown
	if sv == nil {
		sv = &Service{Host: host, Name: name}
		s.services[key] = sv
	}
	if sv.State != "" && sv.State != st.Service.State {
		sv.Previous = sv.State
	}
	sv.Feed, sv.State, sv.Detail = st.Feed, st.Service.State, Sanitize(st.Service.Detail)
	sv.Since, sv.Received, sv.Changes = st.Service.Since.Time, st.Received, append(sv.Changes[:0], st.Changes...)
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
	in.Components = sanitizeAll(in.Components)
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

func (s *State) applyEvent(e Event, now time.Time) {
	switch v := e.(type) {
	case JournalEvent:
		s.applyJournal(v)
	case OncallEvent:
		s.applyOncall(v)
	case PresenceEvent:
		s.applyPresence(v)
	case ResetEvent:
		s.applyReset(v, now)
	case StatusEvent:
		s.applyStatus(v)
	case NoticeEvent:
		s.Notice = Notice{At: now, Text: Sanitize(v.Text), Error: v.Error}
	case QueuedEvent:
		s.applyQueued(v, now)
	case AckEvent:
		s.applyAck(v)
	case NackEvent:
		s.applyNack(v, now)
	}
}

// applyJournal folds in one journal message: an incident's new frame, a
// timeline entry or a page.
func (s *State) applyJournal(v JournalEvent) {
	switch m := v.Msg.(type) {
	case *protocol.IncidentMsg:
		in := sanitizeIncident(m.Incident)
		if _, seen := s.incidents[in.ID]; !seen {
			s.incOrder = append(s.incOrder, in.ID)
		}
		s.incidents[in.ID] = &Incident{Feed: v.Feed, Incident: in}
		s.Timeline.SetClosed(in.ID, in.Resolved())
		s.IncidentsVersion++
	case *protocol.Entry:
		s.Timeline.Add(s.markLate(entryOf(v.Feed, m)))
		s.TimelineVersion++
		s.noteDelivery(m)
	case *protocol.PageMsg:
		s.applyPage(v.Feed, m)
	}
}

func (s *State) applyPresence(v PresenceEvent) {
	ws := make([]protocol.Watcher, 0, len(v.Watchers))
	for _, w := range v.Watchers {
		ws = append(ws, protocol.Watcher{Actor: Sanitize(w.Actor), Via: Sanitize(w.Via), Since: w.Since})
	}
	s.presence[v.Feed] = ws
	s.PresenceVersion++
}

// applyReset forgets all that came from a feed whose journal was replaced.
func (s *State) applyReset(v ResetEvent, now time.Time) {
	s.dropFeed(v.Feed)
	s.forgetPaging(v.Feed)
	s.forgetPages(v.Feed)
	delete(s.presence, v.Feed)
	s.PresenceVersion++
	s.Notice = Notice{At: now, Text: fmt.Sprintf("feed %s has a new journal (%s): reloaded", v.Feed, Sanitize(v.NewJournal))}
}

// applyQueued holds a command sent until its answer; the progress notice
// waiting for a command takes this one, and a step checked again is no
// longer shown refused.
func (s *State) applyQueued(v QueuedEvent, now time.Time) {
	s.pending[v.Command.ID] = &Pending{Feed: v.Feed, Cmd: v.Command, Queued: now}
	if s.Notice.Progress && s.Notice.Command == "" {
		s.Notice.Command = v.Command.ID
	}
	if v.Command.Op == protocol.OpCheck {
		delete(s.refused, itemKey(v.Command.Incident, v.Command.Item))
	}
	s.IncidentsVersion++
}

func (s *State) applyAck(v AckEvent) {
	delete(s.pending, v.ID)
	if s.Notice.Progress && s.Notice.Command == v.ID {
		s.Notice = Notice{} // done: the timeline and the panes show what it did
	}
	s.IncidentsVersion++
}

// applyNack says why a command was refused, and marks a refused check on
// its step.
func (s *State) applyNack(v NackEvent, now time.Time) {
	p := s.pending[v.ID]
	delete(s.pending, v.ID)
	text := fmt.Sprintf("refused (%s): %s", Sanitize(v.Code), Sanitize(v.Error))
	if v.Code == protocol.CodeForbidden && strings.Contains(v.Error, "token") {
		text += tokenHint(s.FeedHealth(v.Feed))
	}
	if p != nil {
		text = p.Cmd.Op + " " + text
		if p.Cmd.Op == protocol.OpCheck {
			s.refused[itemKey(p.Cmd.Incident, p.Cmd.Item)] = Refused{Cmd: p.Cmd, Code: Sanitize(v.Code), Error: Sanitize(v.Error), At: now}
		}
	}
	s.Notice = Notice{At: now, Text: text, Error: true}
	s.IncidentsVersion++
}

// entryOf is a journal entry as the timeline holds it, sanitised.
func entryOf(feed string, m *protocol.Entry) Entry {
	e := Entry{Feed: feed, Seq: m.Seq, Incident: Sanitize(m.Incident), At: m.At.Time,
		Actor: Sanitize(m.Actor), Kind: Sanitize(m.Kind), Text: Sanitize(m.Text), Host: Sanitize(m.Host),
		Evidence: sanitizeEvidence(m.Evidence)}
	if m.Received != nil {
		e.Received = m.Received.Time
	}
	if m.Delivery != nil {
		e.Outcome = Sanitize(m.Delivery.Outcome)
	}
	return e
}

func (s *State) applyStatus(v StatusEvent) {
	switch v.State {
	case FeedDisconnected, FeedRefused:
		s.dropAsks(v.Feed) // a request is not kept across a disconnect
		if _, open := s.gapStart[v.Feed]; !open && s.wasLive[v.Feed] {
			s.gapStart[v.Feed] = gap{from: v.At, reason: Sanitize(v.Reason)}
		}
	case FeedSynced:
		s.wasLive[v.Feed] = true
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
	s.expireAsks(now)
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
					s.alert(now, fmt.Sprintf("%s: %q is overdue", in.ID, it.Label()))
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
	// Hosts are never removed, and within a rank the order is by name: with
	// the same hosts at the same ranks, the order holds without a sort, which
	// at 10,000 hosts is most of a frame's cost.
	if len(s.sortedHosts) == len(s.hosts) && s.ranksHold(now) {
		s.sortedHostsKey = key
		return s.sortedHosts
	}
	type keyed struct {
		h    *Host
		rank int8
	}
	ks := make([]keyed, 0, len(s.hosts))
	for _, h := range s.hosts {
		ks = append(ks, keyed{h: h, rank: s.hostRank(h, now)})
	}
	sort.Slice(ks, func(i, j int) bool {
		a, b := ks[i], ks[j]
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.h.Name < b.h.Name
	})
	out, ranks := s.sortedHosts[:0], s.sortedRanks[:0]
	for _, k := range ks {
		out, ranks = append(out, k.h), append(ranks, k.rank)
	}
	s.sortedHosts, s.sortedRanks, s.sortedHostsKey = out, ranks, key
	return out
}

// hostRank orders hosts worst first: crit, stale, warn, ok.
func (s *State) hostRank(h *Host, now time.Time) int8 {
	switch {
	case h.Level == Crit:
		return 0
	case s.HostStale(h, now):
		return 1
	case h.Level == Warn:
		return 2
	}
	return 3
}

// ranksHold reports whether every host still has the rank it was sorted by.
func (s *State) ranksHold(now time.Time) bool {
	for i, h := range s.sortedHosts {
		if s.hostRank(h, now) != s.sortedRanks[i] {
			return false
		}
	}
	return true
}

// StaleHosts is the number of hosts silent for 3 of their intervals.
func (s *State) StaleHosts(now time.Time) int {
	key := [2]int64{int64(s.HostsVersion), now.Unix()}
	if key != s.staleKey || !s.staleValid {
		n := 0
		for _, h := range s.hosts {
			if s.HostStale(h, now) {
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
func (s *State) Health() []Health { return s.health }

// FeedHealth returns one feed's health, or nil before it has any.
func (s *State) FeedHealth(feed string) *Health {
	for i := range s.health {
		if s.health[i].Feed == feed {
			return &s.health[i]
		}
	}
	return nil
}

// sanitizeAll returns a sanitised copy of names from a feed.
func sanitizeAll(names []string) []string {
	if names == nil {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = Sanitize(n)
	}
	return out
}

// sanitizeComponents returns a sanitised copy of a hub's components.
func sanitizeComponents(cs []protocol.Component) []protocol.Component {
	if cs == nil {
		return nil
	}
	out := make([]protocol.Component, len(cs))
	for i, c := range cs {
		out[i] = protocol.Component{ID: Sanitize(c.ID), Name: Sanitize(c.Name)}
	}
	return out
}

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

func sanitizeEvidence(ev *protocol.EvidenceData) *Evidence {
	if ev == nil {
		return nil
	}
	out := &Evidence{Reason: Sanitize(ev.Reason)}
	for _, p := range ev.Processes {
		p.User, p.Command = Sanitize(p.User), Sanitize(p.Command)
		out.Processes = append(out.Processes, p)
	}
	for _, o := range ev.Outputs {
		o.Name, o.Text, o.Error = Sanitize(o.Name), SanitizeLines(o.Text), Sanitize(o.Error)
		out.Outputs = append(out.Outputs, o)
	}
	return out
}

// feedDown reports whether a feed is known and not connected. It is asked
// for every host on every frame, so it is a lookup, not a scan of the feeds.
func (s *State) feedDown(feed string) bool { return s.downFeeds[feed] }

// HostStale reports whether a host's figures can no longer be trusted: it
// stopped reporting, or the feed it came from is down.
func (s *State) HostStale(h *Host, now time.Time) bool {
	return h.Stale(now) || s.feedDown(h.Feed)
}

// ServiceStale reports whether a service's state can no longer be
// trusted: its feed is down, or its host stopped reporting.
func (s *State) ServiceStale(sv *Service, now time.Time) bool {
	if s.feedDown(sv.Feed) {
		return true
	}
	h := s.hosts[sv.Host]
	return h != nil && h.Stale(now)
}

// Host returns one host by name, or nil.
func (s *State) Host(name string) *Host { return s.hosts[name] }

// Service returns one service, or nil.
func (s *State) Service(host, name string) *Service { return s.services[host+"\x00"+name] }

// ServicesOf returns a host's services, problems first.
func (s *State) ServicesOf(host string) []*Service {
	var out []*Service
	for _, sv := range s.Services() {
		if sv.Host == host {
			out = append(out, sv)
		}
	}
	return out
}

// searchBack bounds how far back detail views look in the timeline.
const searchBack = 20_000

// LatestEvidence returns the newest evidence entry about host, or nil.
func (s *State) LatestEvidence(host string) *Entry {
	n := s.Timeline.Len("")
	for i := n - 1; i >= 0 && i >= n-searchBack; i-- {
		if e := s.Timeline.At("", i); e.Evidence != nil && e.Host == host {
			return e
		}
	}
	return nil
}

// Transitions returns up to limit timeline entries about a service on a
// host (its state changes as the hub journaled them), newest first.
func (s *State) Transitions(host, service string, limit int) []*Entry {
	var out []*Entry
	n := s.Timeline.Len("")
	for i := n - 1; i >= 0 && i >= n-searchBack && len(out) < limit; i-- {
		e := s.Timeline.At("", i)
		if e.Kind != protocol.EntryAlert && e.Kind != protocol.EntrySystem {
			continue
		}
		if (e.Host == host || strings.Contains(e.Text, host)) && strings.Contains(e.Text, service) {
			out = append(out, e)
		}
	}
	return out
}

// Watchers returns who watches, across feeds, once each, by name.
func (s *State) Watchers() []protocol.Watcher {
	seen := map[string]bool{}
	var out []protocol.Watcher
	for _, ws := range s.presence {
		for _, w := range ws {
			if w.Actor != "" && !seen[w.Actor] {
				seen[w.Actor] = true
				out = append(out, w)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Actor < out[j].Actor })
	return out
}

// noteDelivery follows publish and delivery entries, so a step shows a
// delivery that failed until one to the same channel succeeds.
func (s *State) noteDelivery(e *protocol.Entry) {
	switch e.Kind {
	case protocol.EntryPublish:
		if e.Ref != "" && e.Item != "" {
			s.published[e.Ref] = itemKey(Sanitize(e.Incident), Sanitize(e.Item))
		}
	case protocol.EntryDelivery:
		key, ok := s.published[e.Ref]
		if !ok && e.Item != "" {
			key, ok = itemKey(Sanitize(e.Incident), Sanitize(e.Item)), true
		}
		if !ok || e.Delivery == nil || e.Channel == "" {
			return
		}
		if s.delivery[key] == nil {
			s.delivery[key] = map[string]string{}
		}
		s.delivery[key][Sanitize(e.Channel)] = Sanitize(e.Delivery.Outcome)
		s.IncidentsVersion++
	}
}

// UndeliveredChannels returns, by name, the channels whose latest
// delivery of a step's update failed or is being retried.
func (s *State) UndeliveredChannels(incidentID, item string) (failed, retrying []string) {
	for ch, outcome := range s.delivery[itemKey(incidentID, item)] {
		switch outcome {
		case protocol.DeliveryFailed:
			failed = append(failed, ch)
		case protocol.DeliveryRetrying:
			retrying = append(retrying, ch)
		}
	}
	sort.Strings(failed)
	sort.Strings(retrying)
	return failed, retrying
}
