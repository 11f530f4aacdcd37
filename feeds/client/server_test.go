package client

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// testFeed is a real WebSocket feed on loopback whose behaviour each test
// scripts: it holds a journal and replays it on subscribe as the protocol
// says, and lets the test act on the live connection.
type testFeed struct {
	t        *testing.T
	srv      *httptest.Server
	upgrader websocket.Upgrader

	mu        sync.Mutex
	journalID string
	protocolV int
	token     string
	journal   [][]byte // encoded journal messages, seq = index+1
	conns     []*websocket.Conn
	writeMu   map[*websocket.Conn]*sync.Mutex // one writer at a time per connection
	subs      []protocol.Subscribe
	commands  []protocol.Command
	applied   map[string]uint64
	// onCommand decides what to do with a command; nil answers ack.
	onCommand func(conn *websocket.Conn, cmd protocol.Command) bool
	// afterSync runs on the connection after synced.
	afterSync func(conn *websocket.Conn)
	// replayFrom lets a test replay more than asked, to test dedupe.
	replayExtra uint64
	silent      bool
	// leaveOut makes a since-0 replay compacted: the seqs it names are
	// not replayed and synced says compacted, oldest 1.
	leaveOut func(seq uint64) bool
	// presence, when set, is sent after synced.
	presence   []protocol.Watcher
	channels   []string
	components []protocol.Component
	histories  []protocol.History
}

func newTestFeed(t *testing.T) *testFeed {
	tf := &testFeed{t: t, journalID: "j-1", protocolV: 1, applied: map[string]uint64{}, writeMu: map[*websocket.Conn]*sync.Mutex{}}
	tf.upgrader = websocket.Upgrader{Subprotocols: []string{protocol.Subprotocol}}
	tf.srv = httptest.NewServer(http.HandlerFunc(tf.serve))
	t.Cleanup(func() {
		tf.killAll()
		tf.srv.Close()
	})
	return tf
}

func (tf *testFeed) url() string { return "ws" + strings.TrimPrefix(tf.srv.URL, "http") + "/feed" }

func (tf *testFeed) appendEntry(text string) uint64 {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	seq := uint64(len(tf.journal) + 1)
	frame := protocol.MustEncode(&protocol.Entry{Seq: seq, Incident: "INC-1", At: protocol.At(time.Now()), Actor: "test", Kind: "note", Text: text})
	tf.journal = append(tf.journal, frame)
	return seq
}

// broadcast sends frame to every live connection.
func (tf *testFeed) broadcast(frame []byte) {
	tf.mu.Lock()
	conns := append([]*websocket.Conn(nil), tf.conns...)
	tf.mu.Unlock()
	for _, c := range conns {
		tf.send(c, frame)
	}
}

// send writes frame on conn, one writer at a time, as gorilla requires.
func (tf *testFeed) send(conn *websocket.Conn, frame []byte) error {
	tf.mu.Lock()
	mu := tf.writeMu[conn]
	tf.mu.Unlock()
	if mu == nil {
		return websocket.ErrCloseSent
	}
	mu.Lock()
	defer mu.Unlock()
	return conn.WriteMessage(websocket.TextMessage, frame)
}

// killAll drops every connection without a close frame, like a crash.
func (tf *testFeed) killAll() {
	tf.mu.Lock()
	conns := tf.conns
	tf.conns = nil
	tf.mu.Unlock()
	for _, c := range conns {
		c.NetConn().Close()
	}
}

func (tf *testFeed) serve(w http.ResponseWriter, r *http.Request) {
	tf.mu.Lock()
	token := tf.token
	tf.mu.Unlock()
	if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
		http.Error(w, "token required", http.StatusUnauthorized)
		return
	}
	conn, err := tf.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	write := func(frame []byte) error { return tf.send(conn, frame) }
	tf.mu.Lock()
	tf.writeMu[conn] = &sync.Mutex{}
	tf.conns = append(tf.conns, conn)
	hello := protocol.MustEncode(&protocol.Hello{Protocol: tf.protocolV, Server: "test", Journal: tf.journalID, Seq: uint64(len(tf.journal)), Time: protocol.At(time.Now()),
		Channels: tf.channels, Components: tf.components})
	silent := tf.silent
	tf.mu.Unlock()
	if write(hello) != nil || silent {
		if silent {
			for { // hold the connection open and say nothing
				if _, _, err := conn.ReadMessage(); err != nil {
					break
				}
			}
		}
		return
	}
	_, data, err := conn.ReadMessage()
	if err != nil {
		return
	}
	m, err := protocol.Decode(data)
	if err != nil {
		return
	}
	sub := m.(*protocol.Subscribe)
	tf.mu.Lock()
	tf.subs = append(tf.subs, *sub)
	since := sub.Since
	if sub.Journal != tf.journalID {
		since = 0
	}
	if since > tf.replayExtra {
		since -= tf.replayExtra
	}
	var replay [][]byte
	compacted := since == 0 && tf.leaveOut != nil
	for i := min(since, uint64(len(tf.journal))); i < uint64(len(tf.journal)); i++ {
		if compacted && tf.leaveOut(i+1) {
			continue
		}
		replay = append(replay, tf.journal[i])
	}
	seq := uint64(len(tf.journal))
	after := tf.afterSync
	presence := tf.presence
	tf.mu.Unlock()
	for _, frame := range replay {
		if write(frame) != nil {
			return
		}
	}
	synced := protocol.Synced{Seq: seq}
	if compacted {
		synced.Compacted, synced.Oldest = true, 1
	}
	write(protocol.MustEncode(&synced))
	if presence != nil {
		write(protocol.MustEncode(&protocol.Presence{Watchers: presence}))
	}
	if after != nil {
		after(conn)
	}
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		m, err := protocol.Decode(data)
		if err != nil {
			continue
		}
		if h, ok := m.(*protocol.History); ok {
			write(protocol.MustEncode(tf.answerHistory(*h)))
			continue
		}
		cmd, ok := m.(*protocol.Command)
		if !ok {
			continue
		}
		tf.mu.Lock()
		tf.commands = append(tf.commands, *cmd)
		handler := tf.onCommand
		tf.mu.Unlock()
		if handler != nil && !handler(conn, *cmd) {
			continue
		}
		tf.mu.Lock()
		ackSeq, done := tf.applied[cmd.ID]
		if !done {
			tf.mu.Unlock()
			ackSeq = tf.appendEntry("applied " + cmd.Op)
			tf.mu.Lock()
			tf.applied[cmd.ID] = ackSeq
			frame := tf.journal[ackSeq-1]
			tf.mu.Unlock()
			tf.broadcast(frame)
		} else {
			tf.mu.Unlock()
		}
		write(protocol.MustEncode(&protocol.Ack{ID: cmd.ID, Seq: ackSeq}))
	}
}

// answerHistory answers as PROTOCOL.md says: journal messages below
// before (all, when 0), of the incident if named, the newest limit of
// them in increasing seq, and whether older ones exist.
func (tf *testFeed) answerHistory(req protocol.History) *protocol.History {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	tf.histories = append(tf.histories, req)
	var match []json.RawMessage
	for i, frame := range tf.journal {
		seq := uint64(i + 1)
		if req.Before != 0 && seq >= req.Before {
			break
		}
		if req.Incident != "" {
			m, _ := protocol.Decode(frame)
			if e, ok := m.(*protocol.Entry); !ok || e.Incident != req.Incident {
				continue
			}
		}
		match = append(match, frame)
	}
	more := false
	if req.Limit > 0 && len(match) > req.Limit {
		match, more = match[len(match)-req.Limit:], true
	}
	return &protocol.History{ID: req.ID, Messages: match, More: more}
}

func fastTimings() Timings {
	return Timings{
		DeadAfter:        2 * time.Second,
		WriteWait:        time.Second,
		HandshakeTimeout: time.Second,
		BackoffMin:       5 * time.Millisecond,
		BackoffMax:       50 * time.Millisecond,
		StableAfter:      time.Second,
		CloseWait:        200 * time.Millisecond,
	}
}

// collector drains a store in the background and keeps everything.
type collector struct {
	mu       sync.Mutex
	events   []Event
	loads    map[string]HostLoad
	health   map[string]Health
	presence map[string][]protocol.Watcher
	history  []HistoryAnswer
}

func collect(ctx context.Context, s *Store) *collector {
	c := &collector{loads: map[string]HostLoad{}, health: map[string]Health{}, presence: map[string][]protocol.Watcher{}}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.Notify():
			}
			b := s.Drain()
			c.mu.Lock()
			c.events = append(c.events, b.Events...)
			for _, l := range b.Loads {
				c.loads[l.Load.Host] = l
			}
			for _, h := range b.Health {
				c.health[h.Feed] = h
			}
			for _, p := range b.Presence {
				c.presence[p.Feed] = p.Watchers
			}
			c.history = append(c.history, b.History...)
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *collector) entries() []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var seqs []uint64
	for _, e := range c.events {
		if je, ok := e.(JournalEvent); ok {
			if en, ok := je.Msg.(*protocol.Entry); ok {
				seqs = append(seqs, en.Seq)
			}
		}
	}
	return seqs
}

func (c *collector) has(pred func(Event) bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		if pred(e) {
			return true
		}
	}
	return false
}

func (c *collector) healthOf(feed string) Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health[feed]
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	// A wait for what must happen, not a time limit: it returns as soon as
	// cond holds, and gives up only long after a loaded, race-instrumented
	// run could still be getting there.
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for: %s", what)
}

// newServerAt serves tf on the exact address of url, so a "restarted" feed
// is found where the old one was.
func newServerAt(t *testing.T, url string, tf *testFeed) *httptest.Server {
	t.Helper()
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/feed")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(tf.serve))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}
