package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/agent"
	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

const agentToken = "agent-s3cret"

func fleetOptions() Options {
	return Options{
		Agents:     []AgentGrant{{Token: agentToken, Hosts: []string{"web-*"}}},
		StaleCheck: 10 * time.Millisecond,
	}
}

// ownProcess is a real EvidenceSource: it reports the test process itself,
// and rate-limits Auto per key as the contract says (here: once per key).
type ownProcess struct {
	mu   sync.Mutex
	seen map[string]bool
	text string // an output's text, to test trimming
}

func (o *ownProcess) Capture(ctx context.Context, reason string) protocol.EvidenceData {
	return protocol.EvidenceData{
		Reason:    reason,
		Processes: []protocol.Process{{PID: os.Getpid(), User: "test", Command: "server.test", Count: 1}},
		Outputs:   []protocol.Output{{Name: "uptime", Text: o.text}},
	}
}

func (o *ownProcess) Auto(ctx context.Context, key, reason string) (protocol.EvidenceData, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[string]bool{}
	}
	if o.seen[key] {
		return protocol.EvidenceData{}, false
	}
	o.seen[key] = true
	return o.Capture(ctx, reason), true
}

func fastAgent() agent.Timings {
	tm := agent.DefaultTimings()
	tm.BackoffMin, tm.BackoffMax = 5*time.Millisecond, 50*time.Millisecond
	tm.CloseWait = 200 * time.Millisecond
	return tm
}

type runningAgent struct {
	*agent.Agent
	stop func()
}

func startAgent(t *testing.T, cfg agent.Config) *runningAgent {
	t.Helper()
	if cfg.Timings == (agent.Timings{}) {
		cfg.Timings = fastAgent()
	}
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	var once sync.Once
	r := &runningAgent{Agent: a, stop: func() { once.Do(func() { cancel(); <-done }) }}
	t.Cleanup(r.stop)
	return r
}

// view drains a dashboard client's store and keeps the latest state of
// every host and service it was given, and every event.
type view struct {
	mu       sync.Mutex
	loads    map[string]protocol.Load
	services map[string]protocol.Service
	events   []client.Event
}

func watch(t *testing.T, url string) (*view, *client.Client) {
	t.Helper()
	c, err := client.New([]client.FeedConfig{{Name: "hub", URL: url}}, "", fast())
	if err != nil {
		t.Fatal(err)
	}
	v := &view{loads: map[string]protocol.Load{}, services: map[string]protocol.Service{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.Run(ctx) }()
	go func() {
		defer wg.Done()
		store := c.Store()
		for {
			select {
			case <-ctx.Done():
				return
			case <-store.Notify():
			}
			b := store.Drain()
			v.mu.Lock()
			for _, l := range b.Loads {
				v.loads[l.Load.Host] = l.Load
			}
			for _, s := range b.Services {
				v.services[s.Service.Host+"/"+s.Service.Service] = s.Service
			}
			v.events = append(v.events, b.Events...)
			v.mu.Unlock()
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return v, c
}

func (v *view) load(host string) (protocol.Load, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	l, ok := v.loads[host]
	return l, ok
}

func (v *view) service(key string) protocol.Service {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.services[key]
}

func (v *view) entries() []*protocol.Entry {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []*protocol.Entry
	for _, e := range v.events {
		if je, ok := e.(client.JournalEvent); ok {
			if en, ok := je.Msg.(*protocol.Entry); ok {
				out = append(out, en)
			}
		}
	}
	return out
}

func (v *view) count(substr string) int {
	n := 0
	for _, e := range v.entries() {
		if strings.Contains(e.Text, substr) {
			n++
		}
	}
	return n
}

func (v *view) answer(id string) client.Event {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, e := range v.events {
		switch a := e.(type) {
		case client.AckEvent:
			if a.ID == id {
				return a
			}
		case client.NackEvent:
			if a.ID == id {
				return a
			}
		}
	}
	return nil
}

func hostLoad(host string, load1 float64, every time.Duration) protocol.Load {
	return protocol.Load{Host: host, At: protocol.At(time.Now()), Interval: protocol.Duration(every), Load1: load1, Load5: load1, Load15: load1, CPUs: 4}
}

func svc(host, name, state, detail string) protocol.Service {
	now := protocol.At(time.Now())
	return protocol.Service{Host: host, Service: name, State: state, Detail: detail, Since: now, At: now}
}

// Two agents report through the hub; a dashboard sees every host with the
// hub's level, and the journal has each change once. After the hub
// restarts, the agents reconnect and send their full state unasked.
func TestAgentsReportThroughHubAndResendAfterRestart(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "", fleetOptions())
	a1 := startAgent(t, agent.Config{Hosts: []string{"web-1"}, URLs: []string{srv.url}, Token: agentToken})
	a2 := startAgent(t, agent.Config{Hosts: []string{"web-2"}, URLs: []string{srv.url}, Token: agentToken})
	a1.PublishLoad(hostLoad("web-1", 0.4, time.Minute))
	a2.PublishLoad(hostLoad("web-2", 4.4, time.Minute))
	a2.PublishService(svc("web-2", "exim", protocol.StateDown, "connect 127.0.0.1:25: refused"))
	a2.PublishService(svc("web-2", "exim", protocol.StateDown, "connect 127.0.0.1:25: refused"))

	v, _ := watch(t, srv.url)
	eventually(t, "both hosts and the service", func() bool {
		l1, ok1 := v.load("web-1")
		l2, ok2 := v.load("web-2")
		return ok1 && ok2 && l1.Level == protocol.LevelOK && l2.Level == protocol.LevelCrit && v.service("web-2/exim").State == protocol.StateDown
	})
	eventually(t, "journaled", func() bool {
		return v.count("exim on web-2 new → down") == 1 && v.count("load on web-2 ok → crit") == 1
	})

	srv.stop()
	srv = startServer(t, dir, srv.addr, fleetOptions())
	v2, _ := watch(t, srv.url)
	eventually(t, "full state resent after the restart", func() bool {
		_, ok1 := v2.load("web-1")
		_, ok2 := v2.load("web-2")
		return ok1 && ok2 && v2.service("web-2/exim").State == protocol.StateDown
	})
	if c, _ := a1.Status(); !c {
		t.Fatal("agent web-1 does not say it is connected")
	}
	// The journal replayed from disk holds the change once; the restarted
	// hub recovered the states it journaled, so the resent state is no
	// news and is not journaled again (issue 10, item 11).
	a2.PublishService(svc("web-2", "exim", protocol.StateDown, "connect 127.0.0.1:25: refused"))
	a2.PublishService(svc("web-2", "exim", protocol.StateOK, ""))
	eventually(t, "recovery", func() bool { return v2.count("exim on web-2 down → ok") == 1 })
	if n, m := v2.count("exim on web-2 new → down"), v2.count("load on web-2 ok → crit"); n != 1 || m != 1 {
		t.Fatalf("after the restart: exim down journaled %d times, web-2 crit %d times", n, m)
	}
}

// An agent moves to the next URL of a cluster when one fails.
func TestAgentMovesToTheNextURL(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", fleetOptions())
	dead := "ws://127.0.0.1:1/feed" // nothing listens on port 1
	a := startAgent(t, agent.Config{Hosts: []string{"web-7"}, URLs: []string{dead, srv.url}, Token: agentToken})
	a.PublishLoad(hostLoad("web-7", 0.1, time.Minute))
	v, _ := watch(t, srv.url)
	eventually(t, "web-7 through the second URL", func() bool { _, ok := v.load("web-7"); return ok })
}

type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func TestAgentRefusals(t *testing.T) {
	var logs logBuffer
	opts := fleetOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	srv := startServer(t, t.TempDir(), "", opts)

	t.Run("wrong token is HTTP 401", func(t *testing.T) {
		_, resp, err := websocket.DefaultDialer.Dial(srv.url, http.Header{"Authorization": {"Bearer wrong"}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial with a wrong token: %v %v", err, resp)
		}
		a := startAgent(t, agent.Config{Hosts: []string{"web-1"}, URLs: []string{srv.url}, Token: "wrong"})
		eventually(t, "agent told 401", func() bool { _, e := a.Status(); return strings.Contains(e, "401") })
	})
	t.Run("foreign host at register is closed 1008", func(t *testing.T) {
		a := startAgent(t, agent.Config{Hosts: []string{"db-1"}, URLs: []string{srv.url}, Token: agentToken})
		eventually(t, "agent told 1008", func() bool {
			_, e := a.Status()
			return strings.Contains(e, "1008") && strings.Contains(e, "host db-1 is not covered")
		})
		eventually(t, "log line", func() bool { return strings.Contains(logs.String(), "host db-1 is not covered") })
	})
	t.Run("report for a foreign host is closed 1008", func(t *testing.T) {
		conn := rawAgent(t, srv.url, agentToken, `{"type":"register","agent":"web-5","hosts":["web-5"]}`)
		conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Load{Host: "db-9", At: protocol.At(time.Now()), CPUs: 1}))
		expectClose(t, conn, websocket.ClosePolicyViolation, "host db-9 is not covered")
		eventually(t, "log line", func() bool { return strings.Contains(logs.String(), "host db-9 is not covered") })
	})
	t.Run("register without an agent token is closed 1008", func(t *testing.T) {
		conn := rawAgent(t, srv.url, "", `{"type":"register","agent":"web-5","hosts":["web-5"]}`)
		expectClose(t, conn, websocket.ClosePolicyViolation, "register needs an agent token")
	})
}

func rawAgent(t *testing.T, url, token, register string) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.ReadMessage() // hello
	conn.WriteMessage(websocket.TextMessage, []byte(register))
	return conn
}

func expectClose(t *testing.T, conn *websocket.Conn, code int, text string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code || !strings.Contains(ce.Text, text) {
			t.Fatalf("connection ended with %v; want close %d %q", err, code, text)
		}
		return
	}
}

// A host silent for 3 intervals is journaled once as an alert, and once
// more when it is back.
func TestStoppedReportingJournaledOnceAndBackOnce(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", fleetOptions())
	v, _ := watch(t, srv.url)
	cfg := agent.Config{Hosts: []string{"web-3"}, URLs: []string{srv.url}, Token: agentToken}
	a := startAgent(t, cfg)
	every := 30 * time.Millisecond
	a.PublishLoad(hostLoad("web-3", 0.1, every))
	eventually(t, "web-3 reported", func() bool { _, ok := v.load("web-3"); return ok })
	a.stop()
	eventually(t, "stopped reporting", func() bool { return v.count("web-3 stopped reporting") == 1 })
	// Many sweeps pass while it stays silent; none journals it again.
	time.Sleep(20 * every)
	a = startAgent(t, cfg)
	a.PublishLoad(hostLoad("web-3", 0.1, every))
	eventually(t, "back", func() bool { return v.count("web-3 is reporting again") == 1 })
	if n := v.count("stopped reporting"); n != 1 {
		t.Fatalf("stopped reporting journaled %d times", n)
	}
	for _, e := range v.entries() {
		if strings.Contains(e.Text, "stopped reporting") && (e.Kind != protocol.EntryAlert || e.Host != "web-3") {
			t.Fatalf("entry %+v: want an alert about host web-3", e)
		}
	}
}

func TestLivenessSweep(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	l := liveness{hosts: map[string]*hostLife{}}
	l.seen("web-1", 5*time.Second, t0)
	l.seen("web-2", time.Minute, t0)
	l.failed("db-1", "scrape http://db-1:9100/metrics: connection refused", 10*time.Second, t0)
	tests := []struct {
		at   time.Duration
		want string
	}{
		{14 * time.Second, ""},
		{15 * time.Second, "web-1 stopped reporting (silent 15s)"},
		{29 * time.Second, ""}, // once
		{30 * time.Second, "db-1 is not reporting (silent 30s): scrape http://db-1:9100/metrics: connection refused"},
		{3 * time.Minute, "web-2 stopped reporting (silent 3m)"},
	}
	for _, tt := range tests {
		var got []string
		for _, s := range l.sweep(t0.Add(tt.at)) {
			got = append(got, s.text())
		}
		if strings.Join(got, "|") != tt.want {
			t.Fatalf("at +%s: %q, want %q", tt.at, got, tt.want)
		}
	}
	if back, silent := l.seen("web-1", 0, t0.Add(4*time.Minute)); !back || silent != 4*time.Minute {
		t.Fatalf("back = %v after %s", back, silent)
	}
	if back, _ := l.seen("web-1", 0, t0.Add(5*time.Minute)); back {
		t.Fatal("back twice")
	}
}

// Evidence: automatic on crit and on a check going down, attached to the
// newest open incident; on demand through collect, routed to the agent
// that registered the host.
func TestEvidenceAutoAndCollect(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", fleetOptions())
	v, c := watch(t, srv.url)
	eventually(t, "synced", func() bool { h, _ := c.Store().HealthOf("hub"); return h.State == client.Synced })
	srv.hub.Apply(protocol.Command{ID: "d1", Actor: "bob", Op: protocol.OpDeclare, Title: "old", Severity: "SEV3", Kind: "outage"}, true, nil)
	srv.hub.Apply(protocol.Command{ID: "d2", Actor: "bob", Op: protocol.OpDeclare, Title: "web-4 slow", Severity: "SEV2", Kind: "outage"}, true, nil)

	src := &ownProcess{text: "up 3 days"}
	a := startAgent(t, agent.Config{Hosts: []string{"web-4"}, URLs: []string{srv.url}, Token: agentToken, Source: src})
	a.PublishLoad(hostLoad("web-4", 1.0, time.Minute))
	a.PublishLoad(hostLoad("web-4", 9.8, time.Minute)) // crosses into crit
	a.PublishLoad(hostLoad("web-4", 9.9, time.Minute)) // still crit: no second capture
	a.PublishService(svc("web-4", "exim", protocol.StateDown, "refused"))
	eventually(t, "two automatic evidence entries", func() bool {
		return v.count("evidence from web-4: load crit: 9.80 on 4 CPUs") == 1 && v.count("evidence from web-4: exim down: refused") == 1
	})
	for _, e := range v.entries() {
		if e.Kind == protocol.EntryEvidence {
			if e.Incident != "INC-2" || e.Host != "web-4" || e.Evidence == nil || len(e.Evidence.Processes) != 1 || e.Evidence.Processes[0].PID != os.Getpid() {
				t.Fatalf("evidence entry %+v", e)
			}
		}
	}

	id, err := c.Send("hub", protocol.Command{Actor: "alice", Op: protocol.OpCollect, Host: "web-4"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "collect acked", func() bool { _, ok := v.answer(id).(client.AckEvent); return ok })
	eventually(t, "collected evidence", func() bool { return v.count("evidence from web-4: collected by alice") == 1 })

	id, _ = c.Send("hub", protocol.Command{Actor: "alice", Op: protocol.OpCollect, Host: "web-99"})
	eventually(t, "collect for a host no agent has", func() bool {
		nk, ok := v.answer(id).(client.NackEvent)
		return ok && nk.Code == protocol.CodeNotFound
	})
}

func TestBoundEvidence(t *testing.T) {
	big := strings.Repeat("x", 600<<10)
	ctl := strings.Repeat("\x01", 300<<10) // six bytes each once escaped
	procs := make([]protocol.Process, 40)
	tests := []struct {
		name string
		in   protocol.EvidenceData
	}{
		{"small", protocol.EvidenceData{Reason: "r", Outputs: []protocol.Output{{Name: "a", Text: "ok"}}}},
		{"one huge output", protocol.EvidenceData{Reason: "r", Outputs: []protocol.Output{{Name: "a", Text: big}, {Name: "b", Text: "short"}}}},
		{"many big outputs", protocol.EvidenceData{Outputs: []protocol.Output{{Text: big}, {Text: big}, {Text: big}, {Text: ctl}}}},
		{"escaped control bytes", protocol.EvidenceData{Outputs: []protocol.Output{{Text: ctl}}}},
		{"too many processes", protocol.EvidenceData{Processes: procs, Reason: strings.Repeat("é", 5000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := boundEvidence(tt.in, evidenceBudget)
			if n := encodedSize(out); n > evidenceBudget {
				t.Fatalf("encoded %d bytes, budget %d", n, evidenceBudget)
			}
			if len(out.Processes) > maxEvidenceProcs {
				t.Fatalf("%d processes", len(out.Processes))
			}
			for i, o := range out.Outputs {
				cut := o.Text != tt.in.Outputs[i].Text
				if cut != o.Truncated {
					t.Fatalf("output %d cut=%v but Truncated=%v", i, cut, o.Truncated)
				}
			}
			if tt.name == "one huge output" && out.Outputs[1].Text != "short" {
				t.Fatal("the short output was trimmed instead of the long one")
			}
			frame := protocol.MustEncode(&protocol.Entry{Seq: 1, Text: "evidence", Evidence: &out})
			if !protocol.FitsFrame(frame) {
				t.Fatal("entry does not fit a frame")
			}
		})
	}
}

// Presence: one watcher per actor and via, since the earliest connection,
// sent after synced and to everyone when the set changes.
func TestPresence(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{})
	alice1 := rawWatcher(t, srv.url, "alice", "ssh")
	if got := nextPresence(t, alice1); len(got) != 1 || got[0].Actor != "alice" || got[0].Via != "ssh" {
		t.Fatalf("presence %+v", got)
	}
	first := time.Now()
	time.Sleep(5 * time.Millisecond)
	alice2 := rawWatcher(t, srv.url, "alice", "ssh")
	got := nextPresence(t, alice2)
	if len(got) != 1 || got[0].Since.After(first) {
		t.Fatalf("second alice sees %+v: want one alice since the first connection", got)
	}
	bob := rawWatcher(t, srv.url, "bob", "tty")
	if got := nextPresence(t, bob); len(got) != 2 {
		t.Fatalf("bob sees %+v", got)
	}
	if got := nextPresence(t, alice1); len(got) != 2 || got[1].Actor != "bob" {
		t.Fatalf("alice is told %+v when bob arrives", got)
	}
	bob.Close()
	if got := nextPresence(t, alice1); len(got) != 1 || got[0].Actor != "alice" {
		t.Fatalf("alice is told %+v when bob leaves", got)
	}
	alice2.Close()
	// One alice connection is left: the set is unchanged, nothing is sent;
	// the next presence alice1 sees is carol's arrival.
	rawWatcher(t, srv.url, "carol", "")
	if got := nextPresence(t, alice1); len(got) != 2 || got[1].Actor != "carol" {
		t.Fatalf("after alice2 left and carol came: %+v", got)
	}
}

func rawWatcher(t *testing.T, url, actor, via string) *websocket.Conn {
	t.Helper()
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.ReadMessage() // hello
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{Actor: actor, Via: via}))
	return conn
}

// nextPresence reads to the next presence frame; one must come after synced.
func nextPresence(t *testing.T, conn *websocket.Conn) []protocol.Watcher {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("no presence: %v", err)
		}
		if m, _ := protocol.Decode(data); m != nil {
			if p, ok := m.(*protocol.Presence); ok {
				return p.Watchers
			}
		}
	}
}

func TestFleetLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	opts := fleetOptions()
	opts.PingPeriod = 20 * time.Millisecond
	srv := startServer(t, t.TempDir(), "", opts)
	a := startAgent(t, agent.Config{Hosts: []string{"web-1"}, URLs: []string{srv.url}, Token: agentToken, Source: &ownProcess{}})
	a.PublishLoad(hostLoad("web-1", 9, time.Minute))
	d := connect(t, srv.url, "")
	eventually(t, "evidence", func() bool { return len(d.EntryTexts()) >= 2 })
	time.Sleep(60 * time.Millisecond) // a few pings and pongs
	a.stop()
	d.stop()
	srv.stop()
	eventually(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= before+2 })
}

func TestAdmit(t *testing.T) {
	agents := []AgentGrant{{Token: "agent", Hosts: []string{"web-*"}}}
	tests := []struct {
		name       string
		opts       Options
		token      string
		authorized bool
		agent      bool
		refuse     bool
	}{
		{"open hub, no token", Options{}, "", true, false, false},
		{"open hub ignores a token", Options{}, "whatever", true, false, false},
		{"agent token", Options{Agents: agents}, "agent", true, true, false},
		{"wrong token, agents only", Options{Agents: agents}, "wrong", false, false, true},
		{"no token, agents only: read and command, as before", Options{Agents: agents}, "", true, false, false},
		{"dashboard token", Options{Tokens: []string{"dash"}, Agents: agents}, "dash", true, false, false},
		{"agent token is not a dashboard token", Options{Tokens: []string{"dash"}, Agents: agents}, "agent", false, true, false},
		{"wrong token", Options{Tokens: []string{"dash"}, Agents: agents}, "wrong", false, false, true},
		{"read-only without a token", Options{Tokens: []string{"dash"}}, "", false, false, false},
		{"required, none", Options{Tokens: []string{"dash"}, Agents: agents, RequireToken: true}, "", false, false, true},
		{"required, agent", Options{Tokens: []string{"dash"}, Agents: agents, RequireToken: true}, "agent", false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Hub{opts: tt.opts}
			authorized, grant, refuse := h.admit(tt.token)
			if authorized != tt.authorized || (grant != nil) != tt.agent || refuse != tt.refuse {
				t.Fatalf("admit(%q) = %v, %v, %v; want %v, agent %v, refuse %v", tt.token, authorized, grant, refuse, tt.authorized, tt.agent, tt.refuse)
			}
		})
	}
}

// An agent's frames are read through shared buffers: what one frame said
// survives the frames read after it.
func TestAgentFramesOutliveTheirReadBuffer(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", fleetOptions())
	conn := rawAgent(t, srv.url, agentToken, `{"type":"register","agent":"web-1","hosts":["web-1","web-2"]}`)
	long := strings.Repeat("queue full; ", 300)
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Service{Host: "web-1", Service: "exim", State: "down", Detail: long}))
	for i := range 50 {
		conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Service{Host: "web-2", Service: fmt.Sprintf("s%d", i), State: "ok", Detail: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}))
		conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Load{Host: "web-2", At: protocol.At(time.Now()), Interval: protocol.Duration(time.Second), Load1: 0.5, CPUs: 4}))
	}
	eventually(t, "the last frames taken", func() bool { _, ok := srv.hub.Service("web-2", "s49"); return ok })
	got, ok := srv.hub.Service("web-1", "exim")
	if !ok || got.Detail != long || got.State != "down" {
		t.Fatalf("web-1's exim after later frames: %q %q (%d bytes), want down with its %d-byte detail", got.State, got.Detail[:min(len(got.Detail), 40)], len(got.Detail), len(long))
	}
	for i := range 50 {
		if s, _ := srv.hub.Service("web-2", fmt.Sprintf("s%d", i)); s.Service != fmt.Sprintf("s%d", i) {
			t.Fatalf("web-2's s%d reads %+v", i, s)
		}
	}
}
