package client

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// start runs a client on the given feeds and stops it (checking that every
// goroutine ended) when the test ends.
func start(t *testing.T, feeds []FeedConfig, stateDir string, tm Timings) (*Client, *collector, context.CancelFunc) {
	t.Helper()
	c, err := New(feeds, stateDir, tm)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	col := collect(ctx, c.Store())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	stop := func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return c, col, stop
}

func seqRange(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestResumeAfterKillNoGapNoDuplicate(t *testing.T) {
	tf := newTestFeed(t)
	for i := 0; i < 5; i++ {
		tf.appendEntry(fmt.Sprint("before ", i))
	}
	// The server replays 3 more than asked: the client must drop them.
	tf.replayExtra = 3
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	eventually(t, "first 5 entries", func() bool { return len(col.entries()) == 5 })
	tf.killAll()
	for i := 0; i < 4; i++ {
		tf.appendEntry(fmt.Sprint("while down ", i))
	}
	eventually(t, "all 9 entries", func() bool { return len(col.entries()) >= 9 })
	time.Sleep(50 * time.Millisecond)
	if got := col.entries(); !slices.Equal(got, seqRange(1, 9)) {
		t.Fatalf("entries = %v", got)
	}
	tf.mu.Lock()
	last := tf.subs[len(tf.subs)-1]
	tf.mu.Unlock()
	if last.Since != 5 || last.Journal != "j-1" {
		t.Fatalf("resubscribed with %+v, want since 5 of j-1", last)
	}
	if col.healthOf("hub").Dupes < 3 {
		t.Fatalf("dupes = %d, want the replayed 3 counted", col.healthOf("hub").Dupes)
	}
}

func TestJournalChangeResyncsFromZero(t *testing.T) {
	tf := newTestFeed(t)
	tf.appendEntry("old 1")
	tf.appendEntry("old 2")
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	eventually(t, "old journal", func() bool { return len(col.entries()) == 2 })
	tf.mu.Lock()
	tf.journalID, tf.journal = "j-2", nil
	tf.mu.Unlock()
	tf.appendEntry("new 1")
	tf.killAll()
	eventually(t, "reset", func() bool {
		return col.has(func(e Event) bool {
			r, ok := e.(ResetEvent)
			return ok && r.NewJournal == "j-2" && r.OldJournal == "j-1"
		})
	})
	eventually(t, "new journal entry", func() bool { return len(col.entries()) == 3 })
	tf.mu.Lock()
	last := tf.subs[len(tf.subs)-1]
	tf.mu.Unlock()
	if last.Since != 0 {
		t.Fatalf("after a journal change, subscribed since %d", last.Since)
	}
}

func TestGarbageBinaryAndUnknownAreCountedAndSurvived(t *testing.T) {
	tf := newTestFeed(t)
	tf.afterSync = func(conn *websocket.Conn) {
		conn.WriteMessage(websocket.TextMessage, []byte("not json"))
		conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"load","host":""}`))
		conn.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2})
		conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"weather","sunny":true}`))
		conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Load{Host: "web-1", At: protocol.At(time.Now()), Interval: protocol.Duration(time.Second), Load1: 1.5, CPUs: 2}))
	}
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	eventually(t, "the good load after the garbage", func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		_, ok := col.loads["web-1"]
		return ok
	})
	eventually(t, "counters", func() bool { h := col.healthOf("hub"); return h.Malformed == 3 && h.Unknown == 1 })
	if h := col.healthOf("hub"); h.State != Synced {
		t.Fatalf("state = %v, the connection should have stayed up", h.State)
	}
}

func TestOversizedFrameClosesAndReconnects(t *testing.T) {
	tf := newTestFeed(t)
	var once sync.Once
	tf.afterSync = func(conn *websocket.Conn) {
		once.Do(func() {
			big := `{"type":"entry","text":"` + strings.Repeat("x", protocol.MaxFrameSize) + `"}`
			conn.WriteMessage(websocket.TextMessage, []byte(big))
		})
	}
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	eventually(t, "disconnect naming the size", func() bool {
		return col.has(func(e Event) bool {
			s, ok := e.(StatusEvent)
			return ok && s.State == Disconnected && strings.Contains(s.Reason, "1 MiB")
		})
	})
	eventually(t, "reconnected", func() bool {
		tf.mu.Lock()
		defer tf.mu.Unlock()
		return len(tf.subs) >= 2
	})
}

func TestUnauthorizedIsRefusedAndNotHammered(t *testing.T) {
	t.Parallel() // most of it is watching the retries for 0.7 s
	tf := newTestFeed(t)
	tf.token = "s3cret"
	tm := fastTimings()
	tm.BackoffMax = 300 * time.Millisecond
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url(), Token: "wrong", TokenEnv: "HUB_TOKEN"}}, "", tm)
	eventually(t, "refused", func() bool {
		return col.has(func(e Event) bool {
			s, ok := e.(StatusEvent)
			return ok && s.State == Refused && strings.Contains(s.Reason, "401") && strings.Contains(s.Reason, "$HUB_TOKEN") && !strings.Contains(s.Reason, "wrong")
		})
	})
	time.Sleep(700 * time.Millisecond)
	n := 0
	col.mu.Lock()
	for _, e := range col.events {
		if s, ok := e.(StatusEvent); ok && s.State == Refused {
			n++
		}
	}
	col.mu.Unlock()
	if n > 4 { // 1 + at most 700ms/300ms retries
		t.Fatalf("refused %d times in 0.7s: retried faster than the cap", n)
	}
}

func TestTokenIsSent(t *testing.T) {
	tf := newTestFeed(t)
	tf.token = "s3cret"
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url(), Token: "s3cret"}}, "", fastTimings())
	eventually(t, "synced", func() bool { return col.healthOf("hub").State == Synced })
}

func TestNewerProtocolIsRefused(t *testing.T) {
	tf := newTestFeed(t)
	tf.protocolV = 2
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	eventually(t, "refused for protocol", func() bool {
		return col.has(func(e Event) bool {
			s, ok := e.(StatusEvent)
			return ok && s.State == Refused && strings.Contains(s.Reason, "protocol 2")
		})
	})
}

func TestSilentServerIsDetected(t *testing.T) {
	tf := newTestFeed(t)
	tf.silent = true
	tm := fastTimings()
	tm.DeadAfter = 150 * time.Millisecond
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", tm)
	eventually(t, "dead connection detected", func() bool {
		return col.has(func(e Event) bool {
			s, ok := e.(StatusEvent)
			return ok && s.State == Disconnected && strings.Contains(s.Reason, "timed out")
		})
	})
}

func TestUnreachableShowsReasonAndRetryTime(t *testing.T) {
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: "ws://127.0.0.1:1/feed"}}, "", fastTimings())
	eventually(t, "disconnected with reason", func() bool {
		return col.has(func(e Event) bool {
			s, ok := e.(StatusEvent)
			return ok && s.State == Disconnected && strings.Contains(s.Reason, "refused") && !s.RetryAt.IsZero()
		})
	})
}

func TestCommandResentAfterReconnectAppliedOnce(t *testing.T) {
	tf := newTestFeed(t)
	var dropped sync.Once
	tf.onCommand = func(conn *websocket.Conn, cmd protocol.Command) bool {
		answer := true
		dropped.Do(func() {
			// Apply it, then die before the ack: the client must resend.
			seq := tf.appendEntry("applied " + cmd.Op)
			tf.mu.Lock()
			tf.applied[cmd.ID] = seq
			tf.mu.Unlock()
			conn.NetConn().Close()
			answer = false
		})
		return answer
	}
	c, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	eventually(t, "synced", func() bool { return col.healthOf("hub").State == Synced })
	done := true
	id, err := c.Send("hub", protocol.Command{Actor: "alice", Op: "check", Incident: "INC-1", Item: "ack", Done: &done})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "ack", func() bool { return col.has(func(e Event) bool { a, ok := e.(AckEvent); return ok && a.ID == id }) })
	tf.mu.Lock()
	sent := 0
	for _, cmd := range tf.commands {
		if cmd.ID == id {
			sent++
		}
	}
	applied := len(tf.journal)
	tf.mu.Unlock()
	if sent < 2 || applied != 1 {
		t.Fatalf("sent %d times, applied %d times; want resent and applied once", sent, applied)
	}
	if c.Pending() != 0 {
		t.Fatalf("pending = %d after ack", c.Pending())
	}
}

func TestNackSurfacesCodeAndText(t *testing.T) {
	tf := newTestFeed(t)
	tf.onCommand = func(conn *websocket.Conn, cmd protocol.Command) bool {
		conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Nack{ID: cmd.ID, Code: "forbidden", Error: "commands need a token"}))
		return false
	}
	c, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	eventually(t, "synced", func() bool { return col.healthOf("hub").State == Synced })
	id, _ := c.Send("hub", protocol.Command{Actor: "alice", Op: "note", Incident: "INC-1", Text: "hi"})
	eventually(t, "nack", func() bool {
		return col.has(func(e Event) bool {
			n, ok := e.(NackEvent)
			return ok && n.ID == id && n.Code == "forbidden" && n.Error == "commands need a token"
		})
	})
	if c.Pending() != 0 {
		t.Fatal("a nacked command stays pending")
	}
}

func TestOutboxSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	tf := newTestFeed(t)
	tf.srv.Close() // the feed is down while the responder ticks
	url := tf.url()
	c1, err := New([]FeedConfig{{Name: "hub", URL: url}}, dir, fastTimings())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c1.Run(ctx); close(done) }()
	id, err := c1.Send("hub", protocol.Command{Actor: "alice", Op: "check", Incident: "INC-1", Item: "status-page", Done: new(bool)})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done // the dashboard exits with the tick unsent

	// The feed comes back on the same address; a new dashboard starts.
	tf2 := newTestFeed(t)
	tf2.srv.Close()
	tf2.srv = newServerAt(t, url, tf2)
	ob, err := OpenOutbox(OutboxPath(dir, "hub", url))
	if err != nil || ob.Len() != 1 || ob.Pending()[0].ID != id {
		t.Fatalf("the outbox on disk holds %d commands (%v), want the unsent tick", ob.Len(), err)
	}
	c2, col, _ := start(t, []FeedConfig{{Name: "hub", URL: url}}, dir, fastTimings())
	eventually(t, "ack of the old tick", func() bool { return col.has(func(e Event) bool { a, ok := e.(AckEvent); return ok && a.ID == id }) })
	if c2.Pending() != 0 {
		t.Fatal("outbox not emptied by ack")
	}
}

func TestLoadFloodDoesNotDelayJournal(t *testing.T) {
	tf := newTestFeed(t)
	const hosts, samples, entries = 1000, 20000, 200
	tf.afterSync = func(conn *websocket.Conn) {
		go func() {
			now := protocol.At(time.Now())
			for i := 0; i < samples; i++ {
				l := protocol.Load{Host: fmt.Sprintf("h-%04d", i%hosts), At: now, Interval: protocol.Duration(time.Second), Load1: float64(i % 17), CPUs: 4}
				tf.broadcast(protocol.MustEncode(&l))
				if i%(samples/entries) == 0 {
					seq := tf.appendEntry(fmt.Sprint("entry ", i))
					tf.mu.Lock()
					frame := tf.journal[seq-1]
					tf.mu.Unlock()
					tf.broadcast(frame)
				}
			}
		}()
	}
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	eventually(t, "all journal entries", func() bool { return len(col.entries()) == entries })
	if got := col.entries(); !slices.Equal(got, seqRange(1, entries)) {
		t.Fatalf("journal out of order: %v", got[:10])
	}
	eventually(t, "all hosts", func() bool { col.mu.Lock(); defer col.mu.Unlock(); return len(col.loads) == hosts })
	col.mu.Lock()
	h := col.loads["h-0000"]
	col.mu.Unlock()
	if h.History.Len() > HistoryLen {
		t.Fatal("history unbounded")
	}
}

func TestMultipleFeedsMergeAndRoute(t *testing.T) {
	a, b := newTestFeed(t), newTestFeed(t)
	b.journalID = "j-b"
	a.afterSync = func(conn *websocket.Conn) {
		conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Service{Host: "web-1", Service: "exim", State: "down", Since: protocol.At(time.Now()), At: protocol.At(time.Now())}))
	}
	b.afterSync = func(conn *websocket.Conn) {
		conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Service{Host: "web-1", Service: "exim", State: "ok", Since: protocol.At(time.Now()), At: protocol.At(time.Now())}))
	}
	c, col, _ := start(t, []FeedConfig{{Name: "a", URL: a.url()}, {Name: "b", URL: b.url()}}, "", fastTimings())
	eventually(t, "both synced", func() bool { return col.healthOf("a").State == Synced && col.healthOf("b").State == Synced })
	c.store.mu.Lock()
	n := len(c.store.services)
	c.store.mu.Unlock()
	if n != 1 {
		t.Fatalf("host+service should merge into one, got %d", n)
	}
	id, _ := c.Send("b", protocol.Command{Actor: "x", Op: "note", Incident: "INC-1", Text: "to b"})
	eventually(t, "ack from b", func() bool {
		return col.has(func(e Event) bool { a, ok := e.(AckEvent); return ok && a.ID == id && a.Feed == "b" })
	})
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.commands) != 0 {
		t.Fatal("a command for feed b went to a")
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	tf := newTestFeed(t)
	c, err := New([]FeedConfig{{Name: "hub", URL: tf.url()}, {Name: "down", URL: "ws://127.0.0.1:1/feed"}}, "", fastTimings())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	eventually(t, "synced", func() bool { h, _ := c.Store().HealthOf("hub"); return h.State == Synced })
	cancel()
	<-done
	tf.killAll()
	tf.srv.Close()
	eventually(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= before+1 })
}
