package state

import (
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// The reducer's input: what the dashboard learnt from its feeds since the
// last frame. These are plain values in protocol terms; the transport
// (WebSocket, TLS, outbox) stays in feeds/client and is converted at the
// dashboard's edge, so the reducer and its tests never pull it in.

// Batch is what changed since the previous frame: the latest state of each
// changed host and service, every ordered event, and every feed's health
// (nil when no feed's health changed).
type Batch struct {
	Loads    []HostLoad
	Services []ServiceState
	Events   []Event
	Health   []Health
	History  []HistoryPage // answers to history requests
}

// HistoryPage is a hub's answer to a history request: older journal
// messages (*protocol.IncidentMsg, *protocol.Entry) in increasing seq,
// not yet sanitised; More says older ones exist.
type HistoryPage struct {
	Feed     string
	Journal  string // the journal it was read from: a page of a replaced one is dropped
	ID       string
	Messages []protocol.Message
	More     bool
	Error    string // the hub refused the request: why, not yet sanitised
}

// HostLoad is one host's latest load and its recent history.
type HostLoad struct {
	Feed     string
	Load     protocol.Load
	Received time.Time // local clock, for staleness without clock skew
	History  []float64 // load1 peaks, oldest first
}

// ServiceState is one service's latest state and when it last changed.
type ServiceState struct {
	Feed     string
	Service  protocol.Service
	Received time.Time
	Changes  []time.Time // receive times of the last state changes, newest last
}

// Conn is a feed connection's state.
type Conn int

const (
	FeedConnecting Conn = iota
	FeedConnected
	FeedSynced
	FeedDisconnected
	FeedRefused
)

func (c Conn) String() string {
	if c < FeedConnecting || c > FeedRefused {
		return "unknown"
	}
	return [...]string{"connecting", "connected", "synced", "disconnected", "refused"}[c]
}

// Up reports whether the feed is connected.
func (c Conn) Up() bool { return c == FeedConnected || c == FeedSynced }

// Health is one feed's connection state and counters.
type Health struct {
	Feed      string
	URL       string
	State     Conn
	Reason    string
	RetryAt   time.Time
	Since     time.Time
	Server    string
	Journal   string
	Seq       uint64
	Malformed uint64
	Unknown   uint64
	Dupes     uint64
	// Channels are the publish channels the feed's hub offers (hello).
	Channels []string
	// Components are the public components its incidents may name
	// (hello): what the declare and edit dialogs offer, and the names
	// drafts use.
	Components []protocol.Component
	// Compacted says the last replay from zero left older journal
	// messages out (they can be paged in); Oldest is the lowest seq the
	// hub holds.
	Compacted bool
	Oldest    uint64
	// TokenEnv is the variable the dashboard reads the feed's token from;
	// TokenSent whether it held one.
	TokenEnv  string
	TokenSent bool
}

// Event is an ordered feed event, seen exactly once.
type Event interface{ event() }

// JournalEvent carries an *protocol.IncidentMsg or *protocol.Entry.
type JournalEvent struct {
	Feed string
	Msg  protocol.Message
}

// ResetEvent says the feed's journal changed: drop what came from it.
type ResetEvent struct {
	Feed                   string
	OldJournal, NewJournal string
}

// StatusEvent is a change of a feed's connection state.
type StatusEvent struct {
	Feed    string
	State   Conn
	Reason  string
	RetryAt time.Time
	At      time.Time
}

// AckEvent and NackEvent answer a command.
type AckEvent struct {
	Feed string
	ID   string
}

type NackEvent struct {
	Feed        string
	ID          string
	Code, Error string
}

// QueuedEvent says a command was written to the outbox.
type QueuedEvent struct {
	Feed    string
	Command protocol.Command
}

// PresenceEvent is who watches a feed's hub now (the whole set).
type PresenceEvent struct {
	Feed     string
	Watchers []protocol.Watcher
}

// NoticeEvent is something to read once, from the client itself: for
// instance what was recovered from a damaged outbox.
type NoticeEvent struct {
	Feed  string
	Text  string
	Error bool
}

func (NoticeEvent) event()   {}
func (JournalEvent) event()  {}
func (ResetEvent) event()    {}
func (StatusEvent) event()   {}
func (AckEvent) event()      {}
func (NackEvent) event()     {}
func (QueuedEvent) event()   {}
func (PresenceEvent) event() {}
