package history_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/history"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

var _ server.LoadHistory = (*history.Store)(nil)

// runHub runs a real hub over dir with the store, on loopback.
func runHub(t *testing.T, dir string, now func() time.Time) (url string, hub *server.Hub, store *history.Store, stop func()) {
	t.Helper()
	j, _, err := journal.OpenWith(dir, journal.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	store, err = history.Open(dir, now)
	if err != nil {
		t.Fatal(err)
	}
	hub = server.NewHub(j, server.Options{Now: now, History: store})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); server.Serve(ctx, hub, ln, "/feed", "", "") }()
	go func() { defer wg.Done(); store.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			hub.Close()
			hub.Wait(5 * time.Second)
			j.Close()
		})
	}
	t.Cleanup(stop)
	return "ws://" + ln.Addr().String() + "/feed", hub, store, stop
}

// ask sends req on a fresh subscription and returns the answer with its id.
func ask(t *testing.T, url string, req protocol.Message, id string) protocol.Message {
	t.Helper()
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{Since: 0}))
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(req))
	for {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		m, _ := protocol.Decode(data)
		switch v := m.(type) {
		case *protocol.History:
			if v.ID == id {
				return v
			}
		case *protocol.Rewind:
			if v.ID == id {
				return v
			}
		case *protocol.Nack:
			if v.ID == id {
				return v
			}
		}
	}
}

func TestHubAnswersLoadHistoryAcrossARestart(t *testing.T) {
	t.Parallel() // beside the Prometheus test's wait, not before it
	dir := t.TempDir()
	now := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	url, hub, store, stop := runHub(t, dir, clock)
	// Two days of web-3 at 10 s, written as the hub received them.
	start := now.Add(-48 * time.Hour)
	written := func(at time.Time) func() bool {
		return func() bool {
			got, _, _ := store.Samples("web-3", at, at, 0)
			return len(got) == 1
		}
	}
	for i, at := 0, start; !at.After(now); i, at = i+1, at.Add(history.FineStep) {
		mem := 50.0
		hub.PublishLoad(protocol.Load{Host: "web-3", At: protocol.At(at), Interval: protocol.Duration(history.FineStep), Load1: 1 + float64(at.Hour()), CPUs: 4, MemUsedPct: &mem})
		if i%4000 == 3999 { // within the store's queue
			waitFor(t, written(at))
		}
	}
	waitFor(t, written(now))
	if n := store.Dropped(); n > 0 {
		t.Fatalf("%d samples dropped", n)
	}
	stop()
	url, _, _, _ = runHub(t, dir, clock)

	tests := []struct {
		name     string
		req      protocol.History
		n        int
		more     bool
		first    time.Time
		lastLoad float64
	}{
		{"the last hour at 10 s", protocol.History{ID: "h-1", Kind: "load", Host: "web-3", From: protocol.TimePtr(now.Add(-time.Hour)), To: protocol.TimePtr(now)}, 361, false, now.Add(-time.Hour), 7},
		{"48 hours (the ring holds 17,280 slots) need two answers", protocol.History{ID: "h-2", Kind: "load", Host: "web-3"}, 10_000, true, start.Add(history.FineStep), 0},
		{"older than 48 hours: none were kept at 5 minutes before the hub ran", protocol.History{ID: "h-3", Kind: "load", Host: "web-3", From: protocol.TimePtr(now.Add(-72 * time.Hour)), To: protocol.TimePtr(now.Add(-49 * time.Hour))}, 0, false, time.Time{}, 0},
		{"a host never seen", protocol.History{ID: "h-4", Kind: "load", Host: "db-9"}, 0, false, time.Time{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans, ok := ask(t, url, &tt.req, tt.req.ID).(*protocol.History)
			if !ok {
				t.Fatalf("not a history answer")
			}
			if len(ans.Samples) != tt.n || ans.More != tt.more || ans.Host != "web-3" && tt.req.Host == "web-3" {
				t.Fatalf("%d samples more=%v, want %d more=%v", len(ans.Samples), ans.More, tt.n, tt.more)
			}
			if tt.n > 0 && !ans.Samples[0].At.Equal(tt.first) {
				t.Fatalf("first at %s, want %s", ans.Samples[0].At, tt.first)
			}
			if tt.lastLoad > 0 && ans.Samples[len(ans.Samples)-1].Load1 != tt.lastLoad {
				t.Fatalf("last load %v, want %v", ans.Samples[len(ans.Samples)-1].Load1, tt.lastLoad)
			}
			if n := len(protocol.MustEncode(ans)); n > protocol.MaxFrameSize {
				t.Fatalf("answer of %d bytes", n)
			}
		})
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("never happened")
		}
	}
}

// A dashboard's client asks for a host's load history and a rewind; the
// answers reach it in a batch, by id.
func TestClientGetsLoadHistoryAndRewind(t *testing.T) {
	now := time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	url, hub, store, _ := runHub(t, t.TempDir(), clock)
	for at := now.Add(-10 * time.Minute); !at.After(now); at = at.Add(history.FineStep) {
		hub.PublishLoad(protocol.Load{Host: "web-3", At: protocol.At(at), Interval: protocol.Duration(history.FineStep), Load1: 2, CPUs: 4})
	}
	waitFor(t, func() bool { got, _, _ := store.Samples("web-3", now, now, 0); return len(got) == 1 })

	tm := client.DefaultTimings()
	tm.BackoffMin, tm.BackoffMax, tm.CloseWait = 5*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
	c, err := client.New([]client.FeedConfig{{Name: "hub", URL: url}}, "", tm)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan struct{})
	go func() { c.Run(ctx); close(running) }()
	defer func() { cancel(); <-running }()
	waitFor(t, func() bool { h, _ := c.Store().HealthOf("hub"); return h.State == client.Synced })

	loadID, err := c.LoadHistory("hub", "web-3", now.Add(-5*time.Minute), now)
	if err != nil {
		t.Fatal(err)
	}
	rewindID, err := c.Rewind("hub", now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string]client.HistoryAnswer{}
	waitFor(t, func() bool {
		for _, a := range c.Store().Drain().History {
			answers[a.ID] = a
		}
		return len(answers) == 2
	})
	if a := answers[loadID]; a.Kind != "load" || a.Host != "web-3" || len(a.Samples) != 31 || a.Error != "" {
		t.Fatalf("load answer %+v", a)
	}
	if a := answers[rewindID]; a.Kind != "rewind" || a.Rewind == nil || len(a.Rewind.Loads) != 1 || !a.Rewind.Loads[0].At.Equal(now.Add(-time.Minute)) {
		t.Fatalf("rewind answer %+v", a)
	}
}
