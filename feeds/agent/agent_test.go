package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// hubEnd is the hub's end of the protocol, just enough to watch an agent
// over a real loopback WebSocket: it sends hello, records every frame of
// every connection, and can close a connection or send it a command.
type hubEnd struct {
	mu    sync.Mutex
	conns [][]protocol.Message
	live  *websocket.Conn
}

func (h *hubEnd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{Subprotocols: []string{protocol.Subprotocol}}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Hello{Protocol: 1, Journal: "j", Server: "test"}))
	h.mu.Lock()
	h.conns = append(h.conns, nil)
	n := len(h.conns) - 1
	h.live = conn
	h.mu.Unlock()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		m, err := protocol.Decode(data)
		if err != nil {
			continue
		}
		h.mu.Lock()
		h.conns[n] = append(h.conns[n], m)
		h.mu.Unlock()
	}
}

func (h *hubEnd) frames(conn int) []protocol.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	if conn >= len(h.conns) {
		return nil
	}
	return append([]protocol.Message(nil), h.conns[conn]...)
}

func (h *hubEnd) dropLive() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live.Close()
}

func (h *hubEnd) send(m protocol.Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live.WriteMessage(websocket.TextMessage, protocol.MustEncode(m))
}

func describeFrames(ms []protocol.Message) string {
	var parts []string
	for _, m := range ms {
		switch v := m.(type) {
		case *protocol.Register:
			parts = append(parts, "register "+strings.Join(v.Hosts, ","))
		case *protocol.Load:
			parts = append(parts, "load "+v.Host)
		case *protocol.Service:
			parts = append(parts, "service "+v.Host+"/"+v.Service+" "+v.State)
		case *protocol.Evidence:
			parts = append(parts, "evidence "+v.Host+": "+v.Reason)
		default:
			parts = append(parts, protocol.TypeOf(m))
		}
	}
	return strings.Join(parts, " | ")
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func fast() Timings {
	tm := DefaultTimings()
	tm.BackoffMin, tm.BackoffMax = 5*time.Millisecond, 20*time.Millisecond
	tm.CloseWait = 100 * time.Millisecond
	return tm
}

func run(t *testing.T, cfg Config) (*Agent, func()) {
	t.Helper()
	if cfg.Timings == (Timings{}) {
		cfg.Timings = fast()
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return a, stop
}

func wsURL(s *httptest.Server) string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/feed" }

func load(host string, l1 float64) protocol.Load {
	return protocol.Load{Host: host, At: protocol.At(time.Now()), Interval: protocol.Duration(time.Second), Load1: l1, CPUs: 4}
}

func service(host, name, state string) protocol.Service {
	now := protocol.At(time.Now())
	return protocol.Service{Host: host, Service: name, State: state, Since: now, At: now}
}

func TestRegisterThenFullStateAfterEveryConnect(t *testing.T) {
	hub := &hubEnd{}
	srv := httptest.NewServer(hub)
	defer srv.Close()
	a, _ := run(t, Config{Hosts: []string{"web-3"}, URLs: []string{wsURL(srv)}, Token: "t"})
	a.PublishLoad(load("web-3", 0.2))
	a.PublishService(service("web-3", "exim", "ok"))
	a.PublishService(service("web-3", "httpd", "warn"))
	want := "register web-3 | load web-3 | service web-3/exim ok | service web-3/httpd warn"
	eventually(t, "first connection's full state", func() bool { return describeFrames(hub.frames(0)) == want })
	a.PublishService(service("web-3", "exim", "down"))
	eventually(t, "the change alone", func() bool { return describeFrames(hub.frames(0)) == want+" | service web-3/exim down" })

	hub.dropLive()
	want = "register web-3 | load web-3 | service web-3/exim down | service web-3/httpd warn"
	eventually(t, "full state after the reconnect, unasked", func() bool { return describeFrames(hub.frames(1)) == want })
	if c, _ := a.Status(); !c {
		t.Fatal("not connected after the reconnect")
	}
}

// blockingSource captures only when told to, and honours cancellation.
type blockingSource struct {
	release chan struct{}
}

func (b *blockingSource) Capture(ctx context.Context, reason string) protocol.EvidenceData {
	select {
	case <-b.release:
	case <-ctx.Done():
	}
	return protocol.EvidenceData{Reason: reason, Processes: []protocol.Process{{PID: 1, Command: "init", Count: 1}}}
}

func (b *blockingSource) Auto(ctx context.Context, key, reason string) (protocol.EvidenceData, bool) {
	return b.Capture(ctx, reason), true
}

// Captures run beside the probes: a capture that takes its time never
// holds up a report, and its evidence follows when it is done.
func TestCapturesNeverBlockReports(t *testing.T) {
	hub := &hubEnd{}
	srv := httptest.NewServer(hub)
	defer srv.Close()
	src := &blockingSource{release: make(chan struct{})}
	a, stop := run(t, Config{Hosts: []string{"web-3"}, URLs: []string{wsURL(srv)}, Source: src})
	a.PublishLoad(load("web-3", 9.9))                  // crit: a capture starts and blocks
	a.PublishService(service("web-3", "exim", "down")) // down: another
	a.PublishLoad(load("web-3", 0.1))
	eventually(t, "reports while captures wait", func() bool {
		return strings.HasSuffix(describeFrames(hub.frames(0)), "load web-3 | service web-3/exim down")
	})
	close(src.release)
	eventually(t, "both evidence frames", func() bool {
		f := describeFrames(hub.frames(0))
		return strings.Contains(f, "evidence web-3: load crit: 9.90 on 4 CPUs") && strings.Contains(f, "evidence web-3: exim down: ")
	})

	// collect from the hub: a capture for the host the agent reports.
	hub.send(&protocol.Command{ID: "c1", Actor: "alice", Op: protocol.OpCollect, Host: "web-3"})
	hub.send(&protocol.Command{ID: "c2", Actor: "alice", Op: protocol.OpCollect, Host: "db-1"}) // not ours: ignored
	eventually(t, "collected", func() bool {
		return strings.Contains(describeFrames(hub.frames(0)), "evidence web-3: collected by alice")
	})
	stop()
	if strings.Contains(describeFrames(hub.frames(0)), "db-1") {
		t.Fatal("the agent captured for a host it does not report")
	}
}

// A capture still running when the agent stops is cancelled with it.
func TestStopCancelsCaptures(t *testing.T) {
	before := runtime.NumGoroutine()
	hub := &hubEnd{}
	srv := httptest.NewServer(hub)
	src := &blockingSource{release: make(chan struct{})} // never released
	a, stop := run(t, Config{Hosts: []string{"web-3"}, URLs: []string{wsURL(srv)}, Source: src})
	a.PublishLoad(load("web-3", 9.9))
	eventually(t, "connected", func() bool { c, _ := a.Status(); return c })
	stop() // returns only once the blocked capture has ended
	srv.CloseClientConnections()
	srv.Close()
	eventually(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= before+1 })
}

func TestNewRefusesWhatCannotReport(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no url", Config{Hosts: []string{"a"}}, "no hub URL"},
		{"no host", Config{URLs: []string{"ws://h/feed"}}, "no host"},
		{"bad host", Config{URLs: []string{"ws://h/feed"}, Hosts: []string{"a b"}}, "holds a space"},
		{"bad ca", Config{URLs: []string{"ws://h/feed"}, Hosts: []string{"a"}, CAFile: "/nonexistent.pem"}, "ca_file"},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestRefusalsWaitTheCeiling(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{refusal{"HTTP 401"}, true},
		{&websocket.CloseError{Code: websocket.ClosePolicyViolation, Text: "host db-1 is not covered"}, true},
		{&websocket.CloseError{Code: websocket.CloseGoingAway, Text: "server shutting down"}, false},
		{context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		if got := refused(tt.err); got != tt.want {
			t.Errorf("refused(%v) = %v", tt.err, got)
		}
	}
}
