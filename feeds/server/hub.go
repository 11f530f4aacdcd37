// Package server is the feed side of vigil.v1: a Hub that holds the latest
// load and service state, the incident journal and its incidents, applies
// responders' commands, and broadcasts to every subscriber over WebSocket.
package server

import (
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/customers"
	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/link"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
)

// Options configure a Hub.
type Options struct {
	Name         string // server name sent in hello
	Book         incident.Book
	Thresholds   level.Thresholds
	Tokens       []string // accepted bearer tokens; none: commands are open
	RequireToken bool     // refuse unauthenticated subscribers with 401
	QueueSize    int      // frames a subscriber may fall behind before it is dropped
	PingPeriod   time.Duration
	WriteWait    time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
	// LoadLog, if set, receives one JSON line per host and minute with the
	// minute's peak load: the history a post-mortem draws load from.
	LoadLog io.Writer
	// ReplayWindow is how far back a fresh subscriber (since 0) is sent
	// every entry; before it, only open incidents' entries and the newest
	// frame of each incident. Default 24h.
	ReplayWindow time.Duration

	// Site is the public status page: name, URL, components. Senders
	// deliver publishes by channel name (ChannelPage needs none), retried
	// by Retry.
	Site    publish.Site
	Senders map[string]publish.Sender
	Retry   publish.Retry
	// Agents are the tokens agents report with, and the hosts each covers.
	Agents []AgentGrant
	// StaleCheck is how often reported hosts are checked for silence.
	StaleCheck time.Duration
	// LoadPace is how often each subscriber is sent the load samples that
	// arrived meanwhile (the newest per host), at its own instant of each
	// interval (paceOffset): DefaultLoadPace when zero. Negative sends
	// every sample as it comes, queued like any frame (a subscriber that
	// falls the queue behind is dropped).
	LoadPace time.Duration
	// turnGap is the time between two chunks of a turn: chunkGap's
	// (pace.go) when zero.
	turnGap time.Duration
	// Lease is how long a hub of a cluster owns work it does for all
	// (deliveries, paging) without renewing it; default 10s.
	Lease time.Duration
	// Paging, if set, makes the hub page people (paging.go).
	Paging *PagingOptions
	// Metrics are served at /metrics; NewHub makes them if nil.
	Metrics *Metrics
	// History keeps every host's load and answers history requests of
	// kind load and the loads of a rewind; nil keeps none.
	History LoadHistory
	// Hosts the configuration says report here, and the load log's
	// newest line of each host (ReadLastPeaks): with the journal's, the
	// hosts shown stale after a restart until they report (known.go).
	Hosts     []KnownHost
	LastLoads map[string]LoadPeak
	// HTTP bounds slow and unfinished requests (httplimits.go).
	HTTP HTTPLimits

	// Customers is the customers file (nil: none); Plans their SLAs.
	Customers *customers.Source
	Plans     map[string]customers.Plan
	// DataDir, if set, keeps the run log uptime is counted within;
	// Uptime says how component states count.
	DataDir string
	Uptime  publish.UptimeRules
	// Auto are the components whose state follows their hosts.
	Auto []AutoComponent
}

func (o *Options) defaults() {
	if o.Name == "" {
		o.Name = "vigil"
	}
	if o.Book == nil {
		o.Book = incident.Defaults()
	}
	o.Thresholds = o.Thresholds.OrDefaults()
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	if o.PingPeriod <= 0 {
		o.PingPeriod = link.PingPeriod
	}
	if o.LoadPace == 0 {
		o.LoadPace = DefaultLoadPace
	}
	if o.WriteWait <= 0 {
		o.WriteWait = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReplayWindow <= 0 {
		o.ReplayWindow = 24 * time.Hour
	}
	if o.StaleCheck <= 0 {
		o.StaleCheck = time.Second
	}
}

// Hub is the server's state and its subscribers.
type Hub struct {
	opts Options
	log  *slog.Logger
	cust customerFacts
	aud  audience
	// runs is when the hub ran (nil without a data directory: since
	// started); uptime outside those spans is no data.
	runs    *runLog
	started time.Time
	auto    *autoTrack // nil without auto components

	// cmdMu serializes everything that appends to the journal (validation
	// and seq assignment), so every subscriber sees one order. It is not
	// held across the fsync: the journal commits in groups, and what a
	// command caused is broadcast and acked once durable (commit.go).
	cmdMu   sync.Mutex
	journal journal.Backend

	mu        sync.Mutex
	live      liveFleet // hosts' loads, levels, services, liveness (livefleet.go)
	incidents map[string]protocol.Incident
	order     []string // incident ids in declaration order
	subs      map[*subscriber]struct{}
	closed    bool
	active    sync.WaitGroup // connection handlers still running
	loadLogMu sync.Mutex     // one writer of the load log at a time

	board      *publish.Board  // what the status page shows
	deliveries *publish.Engine // publishes not yet delivered to every channel
	fleet      fleet           // agents' connections (fleet.go)
	presence   presence        // who is watching (presence.go)

	// Durable state (commit.go): the newest seq broadcast (everything up
	// to it is on disk), the newest durable frame of each incident, the
	// answers waiting for their record to be durable, and the journal's
	// failure once it stopped.
	published uint64
	heads     map[string]journal.Message
	waiting   map[uint64][]waiter
	failed    error
	damaged   error                // the journal found damaged while serving (damage.go)
	heardOf   map[string]time.Time // start-up: newest entry about each host (known.go)

	// retries: commands a cluster's conflict refused, to validate again
	// (cluster.go).
	retries retryQueue
	// peers is what the journal last said of each peer hub (hubloss.go);
	// guarded by mu.
	peers map[string]peerState
	// liveOut publishes this hub's live frames to the other hubs of a
	// cluster (live.go); nil alone.
	liveOut func(frame []byte)

	pager   *pager // nil without paging (paging.go)
	metrics *Metrics
}

// NewHub builds a hub over an open journal, rebuilding its state from it.
//
// Start-up replay hooks (noteIncident and any beside it) are called for
// each message of the start-up state, not for every message ever
// journaled: what a fresh subscriber is sent (the newest incident frame of
// every incident, the entries of open incidents and those of the replay
// window), and, from before the window, every publish and delivery entry
// and the newest transition entry of each service and of each host's load
// level (journal.Backend.StartSeqs), all in increasing seq. Start time and
// memory so stay bounded by what is live, whatever the journal's age.
func NewHub(j journal.Backend, opts Options) *Hub {
	opts.defaults()
	h := &Hub{
		opts: opts, log: opts.Logger, journal: j,
		live:      newLiveFleet(opts.Thresholds, opts.LoadPace, opts.LoadLog != nil),
		incidents: map[string]protocol.Incident{}, subs: map[*subscriber]struct{}{},
		heads: map[string]journal.Message{}, waiting: map[uint64][]waiter{},
		fleet: newFleet(), presence: presence{watchers: map[*subscriber]protocol.Watcher{}},
	}
	h.initPublishing()
	h.pager = newPager(opts.Paging)
	if h.metrics = opts.Metrics; h.metrics == nil {
		h.metrics = NewMetrics()
	}
	h.metrics.hub.Store(h)
	h.initAudience()
	h.published = j.Seq()
	for _, m := range j.Heads() {
		h.heads[m.Msg.(*protocol.IncidentMsg).Incident.ID] = m
	}
	err := h.startState(func(m journal.Message) bool {
		if _, err := m.Decode(); err != nil {
			h.log.Error("journal: a message that does not decode", "seq", m.Seq, "err", err)
			return true
		}
		h.noteIncident(m.Msg)
		h.noteTransition(m.Msg)
		h.notePeerLocked(m.Seq, m.Msg)
		h.noteHost(m.Msg)
		h.observeCustomers(m.Msg)
		return true
	})
	if err != nil {
		h.log.Error("journal: reading the start-up state", "err", err)
		h.noteReadError(err)
	}
	h.declarationOrder()
	h.live.restoreServices()
	h.live.placeKnownHosts(h.heardOf, h.opts.Hosts, h.opts.LastLoads, h.opts.Now())
	j.OnDurable(h.durable)
	h.watchPeers()
	h.shareLive()
	return h
}

func (h *Hub) noteIncident(m protocol.Message) {
	h.observePublished(m)
	h.noteIncidentState(m)
}

// noteIncidentState keeps the incident a message carries. A command's
// messages are noted at once (the next command is checked against them)
// but shown to publishing only once durable (commit.go).
func (h *Hub) noteIncidentState(m protocol.Message) {
	h.observePaging(m)
	im, ok := m.(*protocol.IncidentMsg)
	if !ok {
		return
	}
	if _, seen := h.incidents[im.Incident.ID]; !seen {
		h.order = append(h.order, im.Incident.ID)
	}
	h.incidents[im.Incident.ID] = im.Incident
}

// JournalID is the journal's identity.
func (h *Hub) JournalID() string { return h.journal.ID() }

// Incidents returns every incident, in declaration order.
func (h *Hub) Incidents() []protocol.Incident {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]protocol.Incident, 0, len(h.order))
	for _, id := range h.order {
		out = append(out, h.incidents[id].Clone())
	}
	return out
}

// Authorized reports whether token is one of the configured tokens, in
// constant time. With no tokens configured everyone is.
func (h *Hub) Authorized(token string) bool {
	if len(h.opts.Tokens) == 0 {
		return true
	}
	ok := 0
	for _, t := range h.opts.Tokens {
		ok |= subtle.ConstantTimeCompare([]byte(t), []byte(token))
	}
	return ok == 1
}

// LoadPeak is one line of the load log: a host's highest load in a minute.
type LoadPeak struct {
	Host  string        `json:"host"`
	At    protocol.Time `json:"at"`
	Load1 float64       `json:"load1"`
	CPUs  int           `json:"cpus"`
	Last  protocol.Time `json:"last,omitzero"` // the minute's newest sample
}

// LoadLogName is the load log's file inside the data directory.
const LoadLogName = "loads.jsonl"

// record journals an entry that belongs to no command. It is broadcast
// once durable (commit.go); record does not wait for the disk.
func (h *Hub) record(e protocol.Entry) { h.recordOnce(e, "") }

// recordOnce is record for an entry with an identity, if id is set: one
// the journal holds already (another hub of the cluster journaled it) is
// not journaled again. Appends of a cluster are chained, so of two hubs
// journaling one id, the second validates against the first's record.
func (h *Hub) recordOnce(e protocol.Entry, id string) {
	h.cmdMu.Lock()
	defer h.cmdMu.Unlock()
	if _, done := h.journal.Applied(id); done {
		return
	}
	if e.At.IsZero() {
		e.At = protocol.At(h.opts.Now())
	}
	fitEntry(&e)
	if _, err := h.journal.Append(id, &e); err != nil && !errors.Is(err, journal.ErrFailed) {
		// (A stopped journal was said once, loudly, by durable().)
		h.log.Error("journal write failed; entry lost", "err", err, "text", e.Text)
	} else if err == nil {
		h.retryOnConflict(&e, id, 0) // a cluster's journal may refuse it: another hub appended first
	}
}

// Result is the answer to a command: an encoded ack or nack.
type Result struct {
	Frame []byte
	Code  string // empty for ack
}

func nack(id, code, msg string) Result {
	return Result{Frame: protocol.MustEncode(&protocol.Nack{ID: id, Code: code, Error: msg}), Code: code}
}

// Apply applies one command at most once per id and returns its answer.
// The messages it causes are on disk and broadcast before Apply returns;
// deliver, if not nil, is called with the answer while broadcasts are
// still held back, so the sender sees its messages before its ack.
func (h *Hub) Apply(cmd protocol.Command, authorized bool, deliver func(Result)) Result {
	done := make(chan Result, 1)
	h.Submit(cmd, authorized, func(res Result) {
		if deliver != nil {
			deliver(res)
		}
		done <- res
	})
	return <-done
}

func (h *Hub) apply(cmd protocol.Command, authorized bool) (Result, []journal.Message) {
	if !authorized {
		return nack(cmd.ID, protocol.CodeForbidden, "commands need a valid token"), nil
	}
	if err := h.JournalDamaged(); err != nil {
		return nack(cmd.ID, protocol.CodeUnavailable, damagedReason(err)), nil
	}
	if seq, done := h.journal.Applied(cmd.ID); done {
		// Acked (by Submit) only once that seq is durable.
		return Result{Frame: protocol.MustEncode(&protocol.Ack{ID: cmd.ID, Seq: seq})}, nil
	}
	if cmd.Actor == "" {
		return nack(cmd.ID, protocol.CodeInvalid, "command needs an actor"), nil
	}
	if isPagingOp(cmd.Op) {
		now, received := incident.ActionTime(cmd.At, h.opts.Now())
		return h.applyPaging(cmd, now, received)
	}
	if ref := incident.Validate(cmd); ref != nil {
		return nack(cmd.ID, ref.Code, ref.Msg), nil
	}
	now, received := incident.ActionTime(cmd.At, h.opts.Now())
	var (
		next    protocol.Incident
		changed bool
		entries []protocol.Entry
		ref     *incident.Refusal
		fromPg  *protocol.PageMsg // a declare from a page: the page, now part of the incident
	)
	if cmd.Op == protocol.OpDeclare {
		h.mu.Lock()
		id := "INC-" + strconv.Itoa(len(h.order)+1)
		h.mu.Unlock()
		next, entries, ref = h.opts.Book.Declare(id, cmd, now)
		if ref == nil {
			ref = h.scopeDeclared(&next, entries, cmd)
		}
		if ref == nil && cmd.Page != "" {
			var es []protocol.Entry
			es, fromPg, ref = h.declareFromPage(next.ID, cmd, now)
			entries = append(entries, es...)
		}
		changed = ref == nil
	} else {
		if cmd.Incident == "" {
			return nack(cmd.ID, protocol.CodeInvalid, cmd.Op+" needs an incident"), nil
		}
		h.mu.Lock()
		cur, ok := h.incidents[cmd.Incident]
		h.mu.Unlock()
		if !ok {
			return nack(cmd.ID, protocol.CodeNotFound, "no incident "+cmd.Incident), nil
		}
		next, changed, entries, ref = h.applyOp(cur, cmd, now)
	}
	if ref != nil {
		return nack(cmd.ID, ref.Code, ref.Msg), nil
	}
	var msgs []protocol.Message
	for i := range entries {
		entries[i].Received = received
		msgs = append(msgs, &entries[i])
	}
	if changed {
		msgs = append(msgs, &protocol.IncidentMsg{Incident: next})
	}
	if fromPg != nil {
		msgs = append(msgs, fromPg)
	}
	if err := checkFrames(msgs); err != nil {
		return nack(cmd.ID, protocol.CodeInvalid, "refused: "+err.Error()), nil
	}
	written, err := h.journal.Append(cmd.ID, msgs...)
	if err != nil {
		h.log.Error("journal write failed; command not applied", "id", cmd.ID, "err", err)
		h.noteReadError(err)
		return nack(cmd.ID, protocol.CodeUnavailable, "the journal could not be written; nothing was applied: "+err.Error()), nil
	}
	seq := written[len(written)-1].Seq
	return Result{Frame: protocol.MustEncode(&protocol.Ack{ID: cmd.ID, Seq: seq})}, written
}

// broadcastLocked queues frame for every subscriber; one that cannot keep
// up is dropped rather than slowing the rest or growing memory.
func (h *Hub) broadcastLocked(frame []byte) {
	for s := range h.subs {
		if !s.offer(frame) {
			h.dropSlowLocked(s, tooSlow)
		}
	}
}

// broadcastAboutLocked broadcasts a journal message about host (a load
// crossing, a service change), each subscriber's waiting load of that
// host just before it, so nobody reads of a crossing before the load
// behind it.
func (h *Hub) broadcastAboutLocked(host string, frame []byte) {
	if host == "" {
		h.broadcastLocked(frame)
		return
	}
	for s := range h.subs {
		if l := s.loads.holdHost(host); l != nil && !s.enqueue(queued{frame: l, loadOf: host}) {
			h.dropSlowLocked(s, tooSlow)
			continue
		}
		if !s.offer(frame) {
			h.dropSlowLocked(s, tooSlow)
		}
	}
}

// appendSorted appends the frames of m in key order, so every snapshot
// lists hosts and services the same way.
func appendSorted(dst [][]byte, m map[string][]byte) [][]byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		dst = append(dst, m[k])
	}
	return dst
}

func (h *Hub) detach(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// Subscribers is the number of live subscribers.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Seq is the newest journal seq on disk and broadcast.
func (h *Hub) Seq() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.published
}

// Close says goodbye to every subscriber and refuses new ones.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	h.writePeaks(h.live.takePeaks())
	subs := h.subs
	h.subs = map[*subscriber]struct{}{}
	h.mu.Unlock()
	for s := range subs {
		s.drop("server shutting down")
	}
	h.closeAgents()
}

// Wait waits up to timeout for every connection handler to end.
func (h *Hub) Wait(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() { h.active.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}
