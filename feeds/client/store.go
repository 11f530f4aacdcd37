package client

import (
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// HistoryLen is how many buckets of load history per host are kept, and
// HistoryStep how long each covers: about ten minutes in all.
const (
	HistoryLen  = 64
	HistoryStep = 10 * time.Second
)

// History is a fixed ring of load1 peaks, one per HistoryStep of the
// host's own clock, oldest first when read with Values. Bucketing by time
// keeps a sparkline still between steps, whatever the report rate: over
// SSH, a sparkline that shifts on every sample costs bytes every sample.
// It is a value type so a copy never aliases the store.
type History struct {
	buf    [HistoryLen]float32
	next   int
	n      int
	bucket int64 // unix time of the newest bucket's start
}

func (h *History) push(v float64) { h.pushAt(v, time.Time{}) }

func (h *History) pushAt(v float64, at time.Time) {
	if !at.IsZero() {
		b := at.Truncate(HistoryStep).Unix()
		if h.n > 0 && b == h.bucket {
			last := (h.next - 1 + HistoryLen) % HistoryLen
			h.buf[last] = max(h.buf[last], float32(v))
			return
		}
		h.bucket = b
	}
	h.buf[h.next] = float32(v)
	h.next = (h.next + 1) % HistoryLen
	if h.n < HistoryLen {
		h.n++
	}
}

// NewHistory returns a history holding values (the newest HistoryLen).
func NewHistory(values ...float64) History {
	var h History
	for _, v := range values {
		h.push(v)
	}
	return h
}

// Len is the number of samples held.
func (h *History) Len() int { return h.n }

// Values appends the samples, oldest first, to dst.
func (h *History) Values(dst []float64) []float64 {
	start := (h.next - h.n + HistoryLen) % HistoryLen
	for i := 0; i < h.n; i++ {
		dst = append(dst, float64(h.buf[(start+i)%HistoryLen]))
	}
	return dst
}

// HostLoad is the latest load of one host, merged across feeds.
type HostLoad struct {
	Feed     string
	Load     protocol.Load
	Received time.Time // local clock, for staleness without clock skew
	History  History
	Samples  uint64
}

// ServiceState is the latest state of one service on one host.
type ServiceState struct {
	Feed     string
	Service  protocol.Service
	Received time.Time
	// Changes holds the receive times of the last state changes (newest
	// last), so a reader can tell a flapping service.
	Changes []time.Time
}

const maxChanges = 8

// ConnState is a feed connection's state.
type ConnState int

const (
	Connecting ConnState = iota
	Connected
	Synced
	Disconnected
	Refused
)

func (s ConnState) String() string {
	return [...]string{"connecting", "connected", "synced", "disconnected", "refused"}[s]
}

// Health is one feed's connection state and counters.
type Health struct {
	Feed      string
	URL       string
	State     ConnState
	Reason    string    // why disconnected or refused
	RetryAt   time.Time // when the next attempt is made
	Since     time.Time // when State was entered
	Server    string
	Journal   string
	Seq       uint64 // newest journal seq held
	Malformed uint64 // frames dropped as malformed
	Unknown   uint64 // frames of unknown type, ignored
	Dupes     uint64 // journal messages already held, dropped

	// Channels and Components are what the hub's hello offered: its
	// publish channels and the public components incidents may name.
	Channels   []string
	Components []protocol.Component
	// Compacted says the last replay from zero left out old journal
	// messages; Oldest is the lowest seq the server holds (ask History
	// for what lies before what was replayed).
	Compacted bool
	Oldest    uint64
	// Gaps counts journal seqs skipped where the protocol allows none.
	Gaps uint64
	// TokenEnv is the variable the feed's token is read from, and
	// TokenSent whether it held one: what a refused command's message
	// tells the person to set. The token itself is never here.
	TokenEnv  string
	TokenSent bool
}

// Event is an ordered feed event the dashboard must see exactly once:
// journal messages, connection changes, command answers.
type Event interface{ feed() string }

// JournalEvent carries an *protocol.IncidentMsg or *protocol.Entry.
type JournalEvent struct {
	Feed string
	Msg  protocol.Message
}

// ResetEvent says the feed's journal changed: drop what came from it.
type ResetEvent struct {
	Feed       string
	OldJournal string
	NewJournal string
}

// StatusEvent is a change of a feed's connection state.
type StatusEvent struct {
	Feed    string
	State   ConnState
	Reason  string
	RetryAt time.Time
	At      time.Time
}

// AckEvent and NackEvent answer a command sent through the outbox.
type AckEvent struct {
	Feed string
	ID   string
	Seq  uint64
}

type NackEvent struct {
	Feed  string
	ID    string
	Code  string
	Error string
}

// QueuedEvent says a command was written to the outbox.
type QueuedEvent struct {
	Feed    string
	Command protocol.Command
}

// NoticeEvent is something the responder should read once: for instance
// that a damaged outbox was moved aside and what was recovered from it.
type NoticeEvent struct {
	Feed  string
	Text  string
	Error bool
}

// Presence is who watches one feed's hub, as it last said.
type Presence struct {
	Feed     string
	Watchers []protocol.Watcher
}

// HistoryAnswer is a hub's answer to Client.History: older journal
// messages (*protocol.IncidentMsg, *protocol.Entry) in increasing seq, of
// the journal Journal. They are not deduplicated against the live ones.
type HistoryAnswer struct {
	Feed      string
	Journal   string
	ID        string
	Messages  []protocol.Message
	More      bool
	Malformed int // messages of the answer that could not be read
	// Error is why the hub refused the request (its nack), untrusted text.
	Error string
	// Kind "load" is a host's load history (Host, Samples); kind "rewind"
	// the board as it stood at a moment (Rewind).
	Kind    string
	Host    string
	Samples []protocol.LoadSample
	Rewind  *protocol.Rewind
}

func (e JournalEvent) feed() string { return e.Feed }
func (e ResetEvent) feed() string   { return e.Feed }
func (e StatusEvent) feed() string  { return e.Feed }
func (e AckEvent) feed() string     { return e.Feed }
func (e NackEvent) feed() string    { return e.Feed }
func (e QueuedEvent) feed() string  { return e.Feed }
func (e NoticeEvent) feed() string  { return e.Feed }

// FeedOf returns the feed an event came from.
func FeedOf(e Event) string { return e.feed() }

// Batch is what changed since the previous Drain: the latest state of each
// changed host and service (coalesced: latest wins), every ordered event,
// and the health of every feed.
type Batch struct {
	Loads    []HostLoad
	Services []ServiceState
	Events   []Event
	Health   []Health
	// Presence holds the latest watchers of each feed whose set changed;
	// History every answer to a history request, once.
	Presence []Presence
	History  []HistoryAnswer
}

// Empty reports whether the batch carries nothing.
func (b *Batch) Empty() bool {
	return len(b.Loads) == 0 && len(b.Services) == 0 && len(b.Events) == 0 && b.Health == nil &&
		len(b.Presence) == 0 && len(b.History) == 0
}

// Store merges what every feed reports. Readers write into it; the
// dashboard drains it. State is coalesced so a flood of load samples costs
// memory per host, not per sample; ordered events are queued, never dropped.
type Store struct {
	mu            sync.Mutex
	hosts         map[string]*hostEntry
	services      map[string]*ServiceState
	dirtyHosts    []*hostEntry // changed since the last Drain, each once
	dirtyServices map[string]struct{}
	events        []Event
	health        map[string]*Health
	healthOrder   []string
	healthDirty   bool
	presence      map[string][]protocol.Watcher
	dirtyPresence map[string]struct{}
	history       []HistoryAnswer
	notify        chan struct{}
	urgent        chan struct{}
	now           func() time.Time
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{
		hosts:         map[string]*hostEntry{},
		services:      map[string]*ServiceState{},
		dirtyServices: map[string]struct{}{},
		health:        map[string]*Health{},
		presence:      map[string][]protocol.Watcher{},
		dirtyPresence: map[string]struct{}{},
		notify:        make(chan struct{}, 1),
		urgent:        make(chan struct{}, 1),
		now:           time.Now,
	}
}

// Notify is signalled (coalesced) whenever anything changes.
func (s *Store) Notify() <-chan struct{} { return s.notify }

// Urgent is signalled (coalesced) when an ordered event is queued: such
// changes should reach the screen without waiting for a frame budget.
func (s *Store) Urgent() <-chan struct{} { return s.urgent }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func serviceKey(host, service string) string { return host + "\x00" + service }

// hostEntry is a host's latest load and whether it is queued for the next
// Drain: a flag and a list rather than a set of names, because with
// thousands of hosts a map insert per sample and a delete per drain were a
// tenth of the dashboard's CPU.
type hostEntry struct {
	HostLoad
	dirty bool
}

// putLoadAged keeps a host's sample, already age old when it arrived.
func (s *Store) putLoadAged(feed string, l *protocol.Load, age time.Duration) {
	now := s.now().Add(-age)
	s.mu.Lock()
	h := s.hosts[l.Host]
	if h == nil {
		h = &hostEntry{}
		s.hosts[l.Host] = h
	}
	h.Feed, h.Load, h.Received = feed, *l, now
	h.History.pushAt(l.Load1, l.At.Time)
	h.Samples++
	if !h.dirty {
		h.dirty = true
		s.dirtyHosts = append(s.dirtyHosts, h)
	}
	s.mu.Unlock()
	signal(s.notify)
}

func (s *Store) putService(feed string, sv *protocol.Service) {
	now := s.now()
	key := serviceKey(sv.Host, sv.Service)
	s.mu.Lock()
	st := s.services[key]
	if st == nil {
		st = &ServiceState{}
		s.services[key] = st
	} else if st.Service.State != sv.State {
		st.Changes = append(st.Changes, now)
		if len(st.Changes) > maxChanges {
			st.Changes = append(st.Changes[:0], st.Changes[len(st.Changes)-maxChanges:]...)
		}
	}
	st.Feed, st.Service, st.Received = feed, *sv, now
	s.dirtyServices[key] = struct{}{}
	s.mu.Unlock()
	signal(s.notify)
}

func (s *Store) push(e Event) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
	signal(s.notify)
	signal(s.urgent)
}

func (s *Store) putPresence(feed string, watchers []protocol.Watcher) {
	s.mu.Lock()
	s.presence[feed] = watchers
	s.dirtyPresence[feed] = struct{}{}
	s.mu.Unlock()
	signal(s.notify)
	signal(s.urgent)
}

// dropPresence forgets who watched through a connection that ended:
// a hub out of reach cannot say who is still there.
func (s *Store) dropPresence(feed string) {
	s.mu.Lock()
	_, had := s.presence[feed]
	if had {
		delete(s.presence, feed)
		s.dirtyPresence[feed] = struct{}{}
	}
	s.mu.Unlock()
	if had {
		signal(s.notify)
	}
}

func (s *Store) pushHistory(a HistoryAnswer) {
	s.mu.Lock()
	s.history = append(s.history, a)
	s.mu.Unlock()
	signal(s.notify)
	signal(s.urgent)
}

func (s *Store) registerFeed(name, url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.health[name]; !ok {
		s.health[name] = &Health{Feed: name, URL: url, State: Connecting, Since: s.now()}
		s.healthOrder = append(s.healthOrder, name)
		s.healthDirty = true
	}
}

// updateHealth changes a feed's health under the lock and flags it.
func (s *Store) updateHealth(name string, f func(h *Health)) {
	s.mu.Lock()
	h := s.health[name]
	if h != nil {
		f(h)
		s.healthDirty = true
	}
	s.mu.Unlock()
	signal(s.notify)
}

func (s *Store) setState(name string, st ConnState, reason string, retryAt time.Time) {
	now := s.now()
	s.updateHealth(name, func(h *Health) {
		h.State, h.Reason, h.RetryAt, h.Since = st, reason, retryAt, now
	})
	s.push(StatusEvent{Feed: name, State: st, Reason: reason, RetryAt: retryAt, At: now})
}

// Drain returns and clears what changed since the previous Drain.
func (s *Store) Drain() Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b Batch
	if len(s.dirtyHosts) > 0 {
		b.Loads = make([]HostLoad, len(s.dirtyHosts))
		for i, h := range s.dirtyHosts {
			b.Loads[i] = h.HostLoad
			h.dirty = false
			s.dirtyHosts[i] = nil
		}
		s.dirtyHosts = s.dirtyHosts[:0]
	}
	if len(s.dirtyServices) > 0 {
		b.Services = make([]ServiceState, 0, len(s.dirtyServices))
		for key := range s.dirtyServices {
			st := *s.services[key]
			st.Changes = append([]time.Time(nil), st.Changes...)
			b.Services = append(b.Services, st)
			delete(s.dirtyServices, key)
		}
	}
	b.Events, s.events = s.events, nil
	b.History, s.history = s.history, nil
	for feed := range s.dirtyPresence {
		b.Presence = append(b.Presence, Presence{Feed: feed, Watchers: s.presence[feed]})
		delete(s.dirtyPresence, feed)
	}
	if s.healthDirty {
		b.Health = make([]Health, 0, len(s.healthOrder))
		for _, name := range s.healthOrder {
			h := *s.health[name]
			h.Channels = append([]string(nil), h.Channels...)
			h.Components = append([]protocol.Component(nil), h.Components...)
			b.Health = append(b.Health, h)
		}
		s.healthDirty = false
	}
	return b
}

// HealthOf returns a copy of one feed's health.
func (s *Store) HealthOf(feed string) (Health, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.health[feed]
	if !ok {
		return Health{}, false
	}
	return *h, true
}
