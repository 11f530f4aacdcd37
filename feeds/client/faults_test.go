package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// within fails the test if f has not returned after d: a liveness bound
// for a hang, not a measure of speed.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %s", what, d)
	}
}

func note(id string, size int) protocol.Command {
	return protocol.Command{Type: protocol.TypeCommand, ID: id, Actor: "alice", Op: protocol.OpNote, Incident: "INC-1", Text: strings.Repeat("n", size)}
}

// TestRunReturnsWithAStalledPeerAndAFullOutbox is issue 10 item 3: 1,000
// pending 64 KiB notes (600 under -race) and a hub that stopped reading
// after a few; Run must return promptly after cancel, leaving no goroutine
// behind.
func TestRunReturnsWithAStalledPeerAndAFullOutbox(t *testing.T) {
	before := runtime.NumGoroutine()
	release := make(chan struct{})
	var framesRead atomic.Int64
	up := websocket.Upgrader{Subprotocols: []string{protocol.Subprotocol}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Hello{Protocol: 1, Server: "stall", Journal: "j-1", Time: protocol.At(time.Now())}))
		for i := 0; i < 4; i++ { // subscribe and three commands, then no more reading
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
			framesRead.Add(1)
		}
		<-release
	}))
	defer srv.Close()
	defer close(release)

	dir := t.TempDir()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/feed"
	// The outbox a dashboard leaves after a night of notes to a dead hub,
	// written as Add writes it (encoding each of 1,000 64 KiB notes apart
	// would be most of this test's time).
	one := protocol.MustEncode(&protocol.Command{ID: "c-0000", Actor: "alice", Op: protocol.OpNote, Incident: "INC-1", Text: strings.Repeat("n", 64<<10)})
	// Under the race detector, whose shadow memory multiplies a 64 MB
	// fixture, 600 notes (40 MB) still overfill the old 256-slot queue
	// plus loopback's socket buffers: the old client hangs on them too.
	n := 1000
	if raceDetector {
		n = 600
	}
	// Each note copied once into a buffer of the file's size, its id
	// written in place: the race detector shadows every byte moved.
	at := bytes.Index(one, []byte("c-0000"))
	data := make([]byte, 0, 2+n*(len(one)+1))
	data = append(data, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			data = append(data, ',')
		}
		data = append(data, one...)
		copy(data[len(data)-len(one)+at:], fmt.Sprintf("c-%04d", i))
	}
	data = append(data, ']')
	if err := os.WriteFile(OutboxPath(dir, "hub", url), data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New([]FeedConfig{{Name: "hub", URL: url}}, dir, fastTimings())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	eventually(t, "the hub read three commands and stalled", func() bool { return framesRead.Load() == 4 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("Run did not return after cancel:\n%s", buf[:runtime.Stack(buf, true)])
	}
	if c.Pending() != n {
		t.Fatalf("pending = %d, want all %d kept for the next start", c.Pending(), n)
	}
	eventually(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= before+3 })
}

// TestCommandsCarryTheirTimeAcrossRestarts is issue 10 item 10: a tick
// made while the hub is unreachable carries the time it was made, and
// keeps it when sent by the next dashboard.
func TestCommandsCarryTheirTimeAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	tf := newTestFeed(t)
	tf.srv.Close() // the hub is down while the responder acts
	url := tf.url()
	c1, err := New([]FeedConfig{{Name: "hub", URL: url}}, dir, fastTimings())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c1.Run(ctx); close(done) }()
	before := time.Now().Truncate(time.Millisecond)
	id, err := c1.Send("hub", protocol.Command{Actor: "alice", Op: "check", Incident: "INC-1", Item: "ack", Done: new(bool)})
	if err != nil {
		t.Fatal(err)
	}
	explicit := protocol.TimePtr(before.Add(-10 * time.Minute))
	id2, _ := c1.Send("hub", protocol.Command{Actor: "alice", Op: "note", Incident: "INC-1", Text: "earlier", At: explicit})
	after := time.Now()
	cancel()
	<-done
	at := c1.feeds["hub"].outbox.Pending()[0].At
	if at == nil || at.Before(before) || at.After(after) {
		t.Fatalf("at = %v, want the time of Send, between %v and %v", at, before, after)
	}

	time.Sleep(20 * time.Millisecond) // the clock moves on: a resend must not take the new time
	tf2 := newTestFeed(t)
	tf2.srv.Close()
	tf2.srv = newServerAt(t, url, tf2)
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: url}}, dir, fastTimings())
	eventually(t, "both acked", func() bool {
		return col.has(func(e Event) bool { a, ok := e.(AckEvent); return ok && a.ID == id }) &&
			col.has(func(e Event) bool { a, ok := e.(AckEvent); return ok && a.ID == id2 })
	})
	tf2.mu.Lock()
	defer tf2.mu.Unlock()
	for _, cmd := range tf2.commands {
		want := at
		if cmd.ID == id2 {
			want = explicit
		}
		if cmd.At == nil || !cmd.At.Equal(want.Time) {
			t.Fatalf("%s arrived with at %v, want %v", cmd.ID, cmd.At, want)
		}
	}
}

// slowDisk makes an outbox's file writes wait until released, and says
// when one has started.
type slowDisk struct {
	entered chan struct{}
	release chan struct{}
}

func holdWrites(o *Outbox) *slowDisk {
	d := &slowDisk{entered: make(chan struct{}, 16), release: make(chan struct{})}
	o.write = func(path string, data []byte) error {
		d.entered <- struct{}{}
		<-d.release
		return replaceFile(path, data)
	}
	return d
}

// TestOutboxNeverWaitsOnTheDiskForReaders is issue 10 item 12: while a
// file write is stuck, the dashboard's Len and Pending and the reader's
// Remove return; an Add is not sendable before it is on disk.
func TestOutboxNeverWaitsOnTheDiskForReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.json")
	o, err := OpenOutbox(path)
	if err != nil {
		t.Fatal(err)
	}
	first, second, third := note("c-1", 10), note("c-2", 10), note("c-3", 10)
	for _, cmd := range []protocol.Command{first, second} {
		if err := o.Add(cmd); err != nil {
			t.Fatal(err)
		}
	}
	disk := holdWrites(o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go o.Run(ctx)

	within(t, 5*time.Second, "Remove (the reader, on an ack)", func() {
		if !o.Remove(first.ID) {
			t.Error("c-1 was pending")
		}
	})
	<-disk.entered // the answer's write is now stuck on the disk
	added := make(chan error, 1)
	go func() { added <- o.Add(third) }()
	within(t, 5*time.Second, "Len and Pending during a stuck write", func() {
		for o.Len() != 2 { // c-2 and c-3, once Add has put it in memory
			runtime.Gosched()
		}
		if got := o.Pending(); len(got) != 2 || got[1].ID != third.ID {
			t.Errorf("pending = %v", got)
		}
	})
	if got := o.Sendable(); len(got) != 1 || got[0].ID != second.ID {
		t.Fatalf("sendable = %v: only what is on disk may be sent", got)
	}
	close(disk.release)
	if err := <-added; err != nil {
		t.Fatal(err)
	}
	if got := o.Sendable(); len(got) != 2 {
		t.Fatalf("sendable after the write = %v", got)
	}
	reopened, err := OpenOutbox(path)
	if err != nil || reopened.Len() != 2 {
		t.Fatalf("on disk: %d commands (%v), want c-2 and c-3", reopened.Len(), err)
	}
}

// BenchmarkPendingWhileTheDiskIsSlow: what Pending costs the UI loop
// while every outbox write takes 5 ms.
func BenchmarkPendingWhileTheDiskIsSlow(b *testing.B) {
	path := filepath.Join(b.TempDir(), "outbox.json")
	o, err := OpenOutbox(path)
	if err != nil {
		b.Fatal(err)
	}
	o.write = func(path string, data []byte) error { time.Sleep(5 * time.Millisecond); return replaceFile(path, data) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			o.Add(note(NewCommandID(), 100))
			if i%2 == 0 {
				o.Remove(o.Pending()[0].ID)
			}
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o.Len()
	}
}

func TestDamagedOutboxIsMovedAsideAndSalvaged(t *testing.T) {
	dir := t.TempDir()
	url := "ws://127.0.0.1:1/feed"
	path := OutboxPath(dir, "hub", url)
	good, _ := json.Marshal([]protocol.Command{note("c-1", 5), note("c-2", 5), note("c-3", 5)})
	damaged := append(good[:len(good)-1:len(good)-1], []byte(`,{"type":"command","id":"c-4","op":"no`)...)
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := New([]FeedConfig{{Name: "hub", URL: url}}, dir, fastTimings())
	if err != nil {
		t.Fatalf("a damaged outbox stopped the dashboard: %v", err)
	}
	if c.Pending() != 3 {
		t.Fatalf("pending = %d, want the 3 whole commands", c.Pending())
	}
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("moved aside: %v", aside)
	}
	if kept, _ := os.ReadFile(aside[0]); string(kept) != string(damaged) {
		t.Fatal("the damaged file was not kept as it was")
	}
	reopened, err := OpenOutbox(path)
	if err != nil || reopened.Len() != 3 || reopened.Salvaged() != nil {
		t.Fatalf("the rewritten outbox: %d commands, %v, %v", reopened.Len(), err, reopened.Salvaged())
	}
	var notice NoticeEvent
	for _, e := range c.Store().Drain().Events {
		if n, ok := e.(NoticeEvent); ok {
			notice = n
		}
	}
	if !notice.Error || !strings.Contains(notice.Text, "damaged") || !strings.Contains(notice.Text, aside[0]) || !strings.Contains(notice.Text, "3 unsent") {
		t.Fatalf("notice = %+v", notice)
	}
}

func TestSalvageCommands(t *testing.T) {
	enc := func(cmds ...protocol.Command) string { b, _ := json.Marshal(cmds); return string(b) }
	a, b, c := note("c-a", 3), note("c-b", 3), note("c-c", 3)
	whole := enc(a, b, c)
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"whole", whole, []string{"c-a", "c-b", "c-c"}},
		{"torn tail", whole[:len(whole)-10], []string{"c-a", "c-b"}},
		{"garbage inside", strings.Replace(whole, `"op":"note"`, "\x00\xff", 1)[:] + "", []string{"c-b", "c-c"}},
		{"twice", enc(a, a, b), []string{"c-a", "c-b"}},
		{"no id", enc(protocol.Command{Type: protocol.TypeCommand, Op: "note"}, b), []string{"c-b"}},
		{"not json", "\x00\x01 zeroes", nil},
		{"empty", "", nil},
		{"a command inside a note", enc(protocol.Command{Type: protocol.TypeCommand, ID: "c-x", Op: "note", Text: enc(c)}), []string{"c-x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, cmd := range salvageCommands([]byte(tt.data)) {
				got = append(got, cmd.ID)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("salvaged %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzSalvageCommands(f *testing.F) {
	whole, _ := json.Marshal([]protocol.Command{note("c-a", 3), note("c-b", 3)})
	f.Add(whole)
	f.Add(whole[:len(whole)/2])
	f.Add([]byte(`[{"type":"command","id":"c","op":"x"},{"type":"command"`))
	f.Fuzz(func(t *testing.T, data []byte) {
		seen := map[string]bool{}
		for _, cmd := range salvageCommands(data) {
			if err := checkQueued(cmd); err != nil || seen[cmd.ID] {
				t.Fatalf("salvaged %+v (%v, twice %v)", cmd, err, seen[cmd.ID])
			}
			seen[cmd.ID] = true
		}
		// Whatever Add could have written is salvaged whole.
		if cmds, reason := readOutbox(data); reason == "" {
			written, _ := json.Marshal(cmds)
			if got := salvageCommands(written); len(got) != len(cmds) {
				t.Fatalf("an outbox of %d commands as written salvaged %d", len(cmds), len(got))
			}
		}
	})
}

func TestSubscribeSaysWhoWatches(t *testing.T) {
	tf := newTestFeed(t)
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url(), Actor: "alice"}}, "", fastTimings())
	eventually(t, "synced", func() bool { return col.healthOf("hub").State == Synced })
	tf2 := newTestFeed(t)
	_, col2, _ := start(t, []FeedConfig{{Name: "hub", URL: tf2.url(), Actor: "bob", Via: protocol.ViaSSH}}, "", fastTimings())
	eventually(t, "synced", func() bool { return col2.healthOf("hub").State == Synced })
	for _, tt := range []struct {
		tf         *testFeed
		actor, via string
	}{{tf, "alice", protocol.ViaTTY}, {tf2, "bob", protocol.ViaSSH}} {
		tt.tf.mu.Lock()
		sub := tt.tf.subs[0]
		tt.tf.mu.Unlock()
		if sub.Actor != tt.actor || sub.Via != tt.via {
			t.Fatalf("subscribe %+v, want actor %s via %s", sub, tt.actor, tt.via)
		}
	}
}

// TestClusterMovesToTheNextHub: a cluster's hubs share a journal; when
// the one in use dies the next is dialled at once and resumes by seq.
func TestClusterMovesToTheNextHub(t *testing.T) {
	a, b := newTestFeed(t), newTestFeed(t)
	for i := 0; i < 3; i++ {
		a.appendEntry("shared")
		b.appendEntry("shared")
	}
	tm := fastTimings()
	tm.BackoffMin, tm.BackoffMax = time.Hour, time.Hour // only the move to the next hub may reconnect
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URLs: []string{"ws://127.0.0.1:1/feed", a.url(), b.url()}}}, "", tm)
	eventually(t, "synced on the first live hub", func() bool { h := col.healthOf("hub"); return h.State == Synced && h.URL == a.url() })
	b.appendEntry("after")
	a.srv.Close()
	a.killAll()
	eventually(t, "synced on the next hub", func() bool { h := col.healthOf("hub"); return h.State == Synced && h.URL == b.url() })
	eventually(t, "the entry made meanwhile", func() bool { return len(col.entries()) == 4 })
	if got := col.entries(); !slices.Equal(got, seqRange(1, 4)) {
		t.Fatalf("entries %v", got)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs[0].Since != 3 {
		t.Fatalf("resumed on the next hub since %d, want 3", b.subs[0].Since)
	}
}

func TestIncidentWithoutSeqIsAppliedAndNumbersNothing(t *testing.T) {
	tf := newTestFeed(t)
	tf.appendEntry("one")
	tf.afterSync = func(conn *websocket.Conn) {
		tf.send(conn, []byte(`{"type":"incident","incident":{"id":"INC-9","title":"t","status":"investigating","opened_at":"2026-11-22T02:14:00.000Z"}}`))
	}
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	eventually(t, "the incident", func() bool {
		return col.has(func(e Event) bool {
			j, ok := e.(JournalEvent)
			in, isInc := j.Msg.(*protocol.IncidentMsg)
			return ok && isInc && in.Incident.ID == "INC-9"
		})
	})
	seq := tf.appendEntry("two")
	tf.mu.Lock()
	frame := tf.journal[seq-1]
	tf.mu.Unlock()
	tf.broadcast(frame)
	eventually(t, "the next entry, not taken for a duplicate", func() bool { return slices.Equal(col.entries(), []uint64{1, 2}) })
	if h := col.healthOf("hub"); h.Seq != 2 || h.Dupes != 0 || h.Gaps != 0 {
		t.Fatalf("health %+v", h)
	}
}

// TestGapOutsideACompactedReplayResubscribes: a seq that skips ahead on a
// live connection is never shown; the client resubscribes from what it
// holds so the hub replays what is missing.
func TestGapOutsideACompactedReplayResubscribes(t *testing.T) {
	tf := newTestFeed(t)
	tf.appendEntry("one")
	tf.appendEntry("two")
	var gapSent atomic.Bool
	tf.afterSync = func(conn *websocket.Conn) {
		if gapSent.CompareAndSwap(false, true) {
			tf.send(conn, protocol.MustEncode(&protocol.Entry{Seq: 5, Incident: "INC-1", At: protocol.At(time.Now()), Kind: "note", Text: "ahead"}))
		}
	}
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	eventually(t, "the gap seen", func() bool {
		return col.has(func(e Event) bool {
			s, ok := e.(StatusEvent)
			return ok && s.State == Disconnected && strings.Contains(s.Reason, "journal gap: seq 5 came after 2")
		})
	})
	eventually(t, "resubscribed", func() bool { tf.mu.Lock(); defer tf.mu.Unlock(); return len(tf.subs) >= 2 })
	tf.mu.Lock()
	since := tf.subs[1].Since
	tf.mu.Unlock()
	if since != 2 {
		t.Fatalf("resubscribed since %d, want 2", since)
	}
	eventually(t, "synced again", func() bool { return col.healthOf("hub").State == Synced })
	if got := col.entries(); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("entries %v: the entry past the gap was shown", got)
	}
	if col.healthOf("hub").Gaps != 1 {
		t.Fatalf("gaps = %d", col.healthOf("hub").Gaps)
	}
}

// TestGapTheHubCannotFillIsKeptNotLooped: a hub whose journal itself
// skips a seq replays the same skip; the client asks once, then keeps the
// gap (counted) and stays connected instead of resubscribing forever.
func TestGapTheHubCannotFillIsKeptNotLooped(t *testing.T) {
	tf := newTestFeed(t)
	tf.appendEntry("one")
	tf.appendEntry("two")
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	eventually(t, "synced", func() bool { return col.healthOf("hub").State == Synced && len(col.entries()) == 2 })
	skipped := protocol.MustEncode(&protocol.Entry{Seq: 4, Incident: "INC-1", At: protocol.At(time.Now()), Kind: "note", Text: "after a seq the hub never had"})
	tf.mu.Lock()
	tf.journal = append(tf.journal, skipped) // index 2 holds seq 4: seq 3 is nowhere
	tf.mu.Unlock()
	tf.broadcast(skipped)
	eventually(t, "the entry past the gap, once asked again", func() bool { return slices.Equal(col.entries(), []uint64{1, 2, 4}) })
	eventually(t, "synced", func() bool { return col.healthOf("hub").State == Synced })
	time.Sleep(100 * time.Millisecond) // time for a loop to show, were there one
	tf.mu.Lock()
	subs := len(tf.subs)
	tf.mu.Unlock()
	if h := col.healthOf("hub"); subs != 2 || h.Gaps != 1 || h.State != Synced || h.Seq != 4 {
		t.Fatalf("%d subscribes, health %+v: want one resubscribe, one gap counted, synced at 4", subs, h)
	}
}

func TestCompactedReplayAcceptsGapsAndRecordsOldest(t *testing.T) {
	tf := newTestFeed(t)
	for i := 0; i < 6; i++ {
		tf.appendEntry("e")
	}
	tf.leaveOut = func(seq uint64) bool { return seq == 2 || seq == 3 || seq == 6 }
	_, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	eventually(t, "synced", func() bool { return col.healthOf("hub").State == Synced })
	if got := col.entries(); !slices.Equal(got, []uint64{1, 4, 5}) {
		t.Fatalf("entries %v", got)
	}
	if h := col.healthOf("hub"); !h.Compacted || h.Oldest != 1 || h.Gaps != 0 || h.Seq != 6 {
		t.Fatalf("health %+v", h)
	}
	// The newest seq (6) was left out: live continues from the server's.
	seq := tf.appendEntry("live")
	tf.mu.Lock()
	frame := tf.journal[seq-1]
	tf.mu.Unlock()
	tf.broadcast(frame)
	eventually(t, "the live entry", func() bool { return slices.Equal(col.entries(), []uint64{1, 4, 5, 7}) })
	if h := col.healthOf("hub"); h.State != Synced || h.Gaps != 0 {
		t.Fatalf("health %+v", h)
	}
}

func TestPresenceHistoryAndHelloReachTheDashboard(t *testing.T) {
	tf := newTestFeed(t)
	tf.channels = []string{"page", "email"}
	tf.components = []protocol.Component{{ID: "mail", Name: "Mail"}}
	tf.presence = []protocol.Watcher{{Actor: "alice", Via: "ssh", Since: protocol.At(time.Now())}}
	for i := 0; i < 10; i++ {
		tf.appendEntry("e")
	}
	c, col, _ := start(t, []FeedConfig{{Name: "hub", URL: tf.url()}}, "", fastTimings())
	if _, err := c.History("nope", 0, 1, ""); err == nil {
		t.Fatal("history of an unknown feed")
	}
	eventually(t, "presence", func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		w := col.presence["hub"]
		return len(w) == 1 && w[0].Actor == "alice" && w[0].Via == "ssh"
	})
	h := col.healthOf("hub")
	if !slices.Equal(h.Channels, tf.channels) || len(h.Components) != 1 || h.Components[0].Name != "Mail" {
		t.Fatalf("hello's offer not on the feed's health: %+v %+v", h.Channels, h.Components)
	}
	id, err := c.History("hub", 8, 3, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the history answer", func() bool { col.mu.Lock(); defer col.mu.Unlock(); return len(col.history) == 1 })
	col.mu.Lock()
	a := col.history[0]
	col.mu.Unlock()
	var seqs []uint64
	for _, m := range a.Messages {
		seqs = append(seqs, m.(*protocol.Entry).Seq)
	}
	if a.ID != id || a.Feed != "hub" || a.Journal != "j-1" || !a.More || !slices.Equal(seqs, []uint64{5, 6, 7}) {
		t.Fatalf("answer %+v, seqs %v", a, seqs)
	}
	tf.mu.Lock()
	req := tf.histories[0]
	tf.mu.Unlock()
	if req.Before != 8 || req.Limit != 3 || req.Incident != "INC-1" || req.ID != id {
		t.Fatalf("request %+v", req)
	}
	tf.mu.Lock()
	tf.presence = nil
	tf.mu.Unlock()
	tf.killAll()
	eventually(t, "nobody shown watching once the hub is out of reach", func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		return len(col.presence["hub"]) == 0
	})
}

// A hub that cannot read its journal nacks a history request; that is an
// answer the dashboard must see (to stop waiting), not an unknown command's.
func TestHistoryNackIsAnAnswer(t *testing.T) {
	ob, _ := OpenOutbox("")
	fd := &feed{cfg: FeedConfig{Name: "hub"}, store: NewStore(), outbox: ob, kick: make(chan struct{}, 1)}
	fd.dispatch(&protocol.Nack{ID: "h-7", Code: protocol.CodeUnavailable, Error: "the journal could not be read"})
	fd.dispatch(&protocol.Nack{ID: "c-unknown", Code: protocol.CodeInvalid, Error: "x"})
	b := fd.store.Drain()
	if len(b.History) != 1 || b.History[0].ID != "h-7" || b.History[0].Error != "unavailable: the journal could not be read" {
		t.Fatalf("history %+v", b.History)
	}
	if len(b.Events) != 0 {
		t.Fatalf("a nack of no command of ours became an event: %+v", b.Events)
	}
}

func TestHistoryWhileDisconnectedSaysSo(t *testing.T) {
	c, col, _ := start(t, []FeedConfig{{Name: "hub", URL: "ws://127.0.0.1:1/feed"}}, "", fastTimings())
	eventually(t, "disconnected", func() bool { return col.healthOf("hub").State == Disconnected })
	if _, err := c.History("hub", 0, 10, ""); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("err = %v", err)
	}
}

// FuzzDispatch feeds whatever frames decode through the reader's logic:
// it never panics, the seq it resumes from never goes back, and the
// journal messages it passes on are numbered strictly upwards.
func FuzzDispatch(f *testing.F) {
	f.Add([]byte(`{"type":"entry","seq":1,"text":"a"}` + "\n" + `{"type":"entry","seq":3,"text":"b"}` + "\n" + `{"type":"synced","seq":3,"compacted":true,"oldest":1}`))
	f.Add([]byte(`{"type":"history","id":"h-1","messages":[{"type":"entry","seq":1,"text":"x"},{"type":"load"},7],"more":true}`))
	f.Add([]byte(`{"type":"incident","incident":{"id":"I","title":"t","status":"resolved","opened_at":"2026-11-22T02:14:00Z"}}` + "\n" + `{"type":"presence","watchers":[{"actor":"a"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ob, _ := OpenOutbox("")
		fd := &feed{cfg: FeedConfig{Name: "hub"}, store: NewStore(), outbox: ob, kick: make(chan struct{}, 1), fromZero: len(data)%2 == 0}
		var prev uint64
		for _, frame := range bytes.Split(data, []byte("\n")) {
			m, err := protocol.Decode(frame)
			if err != nil {
				continue
			}
			before := fd.lastSeq
			fd.dispatch(m)
			if fd.lastSeq < before {
				t.Fatalf("resume point went back from %d to %d", before, fd.lastSeq)
			}
		}
		for _, e := range fd.store.Drain().Events {
			je, ok := e.(JournalEvent)
			if !ok {
				continue
			}
			var seq uint64
			switch v := je.Msg.(type) {
			case *protocol.Entry:
				seq = v.Seq
			case *protocol.IncidentMsg:
				seq = v.Seq
			}
			if seq == 0 {
				continue
			}
			if seq <= prev {
				t.Fatalf("seq %d passed on after %d", seq, prev)
			}
			prev = seq
		}
	})
}
