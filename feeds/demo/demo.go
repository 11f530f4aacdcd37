// Package demo is the built-in scenario: a fleet of shared-hosting servers
// at 2am, one whose load creeps up until its services fail, an outage
// declared with some steps already ticked by teammates and others left for
// the viewer, and progress updates coming due. It is the production path
// in one process: a hub (the same Hub as vigil serve) and one agent per
// host reporting to it over real loopback WebSockets, so the dashboard
// watches the fleet as it would watch a real one.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/agent"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/probe"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// clock is the hub's clock: the scenario's past is written at past times,
// then it runs in real time.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) set(offset time.Duration) {
	c.mu.Lock()
	c.offset = offset
	c.mu.Unlock()
}

// host is one simulated server.
type host struct {
	name     string
	cpus     int
	base     float64
	mem      float64
	services []string
}

var fleet = []host{
	{"shared-01", 8, 1.8, 62, []string{"httpd", "exim", "mysql"}},
	{"shared-02", 8, 2.6, 71, []string{"httpd", "exim", "mysql"}},
	{"shared-03", 8, 1.2, 55, []string{"httpd", "exim", "mysql"}},
	{"shared-04", 8, 2.2, 68, []string{"httpd", "exim", "mysql"}}, // the one that melts
	{"shared-05", 16, 4.1, 49, []string{"httpd", "exim", "mysql"}},
	{"mail-01", 4, 0.9, 40, []string{"exim", "dovecot"}},
	{"db-01", 16, 5.5, 83, []string{"mysql"}},
	{"ns-01", 2, 0.1, 22, []string{"named"}},
}

// Hosts names the scripted fleet (the local host is reported too).
func Hosts() []string {
	names := make([]string, len(fleet))
	for i, h := range fleet {
		names[i] = h.name
	}
	return names
}

const (
	troubled   = "shared-04"
	incidentID = "INC-1"
	interval   = 2 * time.Second
)

// Scenario is a running demo: a hub, its journal and the simulation.
type Scenario struct {
	Hub     *server.Hub
	journal *journal.Journal
	dir     string
	clock   *clock
	local   *probe.HostProbe
	token   string // the demo agents' token
}

// New builds the scenario's past into a fresh journal in a temporary
// directory. Close removes it.
func New() (*Scenario, error) {
	dir, err := os.MkdirTemp("", "vigil-demo-")
	if err != nil {
		return nil, err
	}
	j, _, err := journal.Open(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c := &clock{}
	hostname, _ := os.Hostname()
	if hostname == "" {
		hostname = "this-machine"
	}
	var secret [16]byte
	rand.Read(secret[:])
	token := hex.EncodeToString(secret[:])
	s := &Scenario{
		Hub: server.NewHub(j, server.Options{Name: "vigil-demo", Now: c.Now,
			Agents: []server.AgentGrant{{Token: token, Hosts: []string{"*"}}}}),
		journal: j, dir: dir, clock: c, token: token,
		local: &probe.HostProbe{Host: hostname + " (you)", Interval: interval},
	}
	s.past()
	return s, nil
}

// Close ends the scenario and removes its journal.
func (s *Scenario) Close() error {
	s.Hub.Close()
	err := s.journal.Close()
	os.RemoveAll(s.dir)
	return err
}

func (s *Scenario) at(offset time.Duration) time.Time {
	s.clock.set(offset)
	return s.clock.Now()
}

func (s *Scenario) load(h host, l1 float64, at time.Time) {
	s.Hub.PublishLoad(h.sample(l1, at))
}

func (h host) sample(l1 float64, at time.Time) protocol.Load {
	mem := h.mem + l1
	return protocol.Load{Host: h.name, At: protocol.At(at), Interval: protocol.Duration(interval),
		Load1: round2(l1), Load5: round2(l1 * 0.85), Load15: round2(l1 * 0.6), CPUs: h.cpus, MemUsedPct: &mem}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func (s *Scenario) service(hostName, svc, state, detail string, at time.Time) {
	s.Hub.PublishService(protocol.Service{Host: hostName, Service: svc, State: state, Detail: detail, Since: protocol.At(at), At: protocol.At(at)})
}

func (s *Scenario) command(actor string, cmd protocol.Command) {
	cmd.ID = fmt.Sprintf("demo-%d", time.Now().UnixNano())
	cmd.Actor = actor
	s.Hub.Apply(cmd, true, nil)
}

func yes() *bool { b := true; return &b }

// past writes what happened before the viewer arrived: the night of the
// seed text, where load crept up until services failed.
func (s *Scenario) past() {
	t := s.at(-40 * time.Minute)
	for _, h := range fleet {
		s.load(h, h.base, t)
		for _, svc := range h.services {
			s.service(h.name, svc, protocol.StateOK, "", t)
		}
	}
	// What happened on the troubled host, in the order it happened.
	bad := fleet[3]
	type step struct {
		at time.Duration
		do func(t time.Time)
	}
	var steps []step
	for i, l1 := range []float64{3.1, 4.4, 5.9, 7.2, 8.8, 10.5, 12.9} {
		steps = append(steps, step{time.Duration(-40+2*i) * time.Minute, func(t time.Time) { s.load(bad, l1, t) }})
	}
	steps = append(steps,
		step{-31 * time.Minute, func(t time.Time) {
			s.service(troubled, "exim", protocol.StateWarn, "queue 4,812 messages, delivery slow", t)
		}},
		step{-29 * time.Minute, func(t time.Time) {
			s.service(troubled, "exim", protocol.StateDown, "connect 127.0.0.1:25: connection timed out", t)
		}},
		step{-28 * time.Minute, func(t time.Time) {
			s.service(troubled, "httpd", protocol.StateWarn, "GET /: 4.8s (threshold 2s)", t)
		}},
	)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at < steps[j].at })
	for _, st := range steps {
		st.do(s.at(st.at))
	}
	s.at(-27 * time.Minute)
	s.command("bob", protocol.Command{Op: protocol.OpDeclare, Title: "Mail and web slow on shared-04: load 12.9 on 8 CPUs", Severity: "SEV2", Kind: "outage"})
	s.at(-26 * time.Minute)
	s.command("bob", protocol.Command{Op: protocol.OpCheck, Incident: incidentID, Item: "ack", Done: yes()})
	s.at(-25 * time.Minute)
	s.command("bob", protocol.Command{Op: protocol.OpNote, Incident: incidentID, Text: "Not rebooting until we have the logs: exim and httpd logs copied to /root/inc-1/"})
	s.at(-22 * time.Minute)
	s.command("carol", protocol.Command{Op: protocol.OpCheck, Incident: incidentID, Item: "status-page", Done: yes()})
	s.at(-18 * time.Minute)
	s.command("bob", protocol.Command{Op: protocol.OpStatus, Incident: incidentID, Status: protocol.StatusIdentified})
	s.command("bob", protocol.Command{Op: protocol.OpNote, Incident: incidentID, Text: "Mail queue flooded from one account (compromised WordPress form); exim fork storm drives the load"})
	s.at(-12 * time.Minute)
	s.command("carol", protocol.Command{Op: protocol.OpCheck, Incident: incidentID, Item: "answer-messages", Done: yes()})
	s.at(0)
}

// Run plays the scenario live until ctx ends: every host's agent reports
// every two seconds to the hub over loopback, shared-04 keeps struggling,
// and teammates keep working. The hub's own host is probed by the hub.
func (s *Scenario) Run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	agents, err := s.startAgents(ctx, &wg)
	if err != nil {
		// Without a loopback port there is no fleet path; the hub still
		// shows the night and the local host.
		fmt.Fprintln(os.Stderr, "vigil demo:", err)
	}
	start := time.Now()
	rng := mrand.New(mrand.NewPCG(42, uint64(start.UnixNano())))
	t := time.NewTicker(interval)
	defer t.Stop()
	report := func(hostName string, svc protocol.Service) {
		if a := agents[hostName]; a != nil {
			a.PublishService(svc)
		}
	}
	events := []struct {
		after time.Duration
		do    func()
		done  bool
	}{
		{20 * time.Second, func() {
			s.command("dave", protocol.Command{Op: protocol.OpNote, Incident: incidentID, Text: "Suspended the spamming account; purging its 4,300 queued messages"})
		}, false},
		{45 * time.Second, func() {
			now := protocol.At(time.Now())
			report(troubled, protocol.Service{Host: troubled, Service: "mysql", State: protocol.StateDown, Detail: "connect /var/run/mysqld/mysqld.sock: too many connections", Since: now, At: now})
		}, false},
		{90 * time.Second, func() {
			s.command("carol", protocol.Command{Op: protocol.OpCheck, Incident: incidentID, Item: "social", Done: yes()})
		}, false},
		{150 * time.Second, func() {
			now := protocol.At(time.Now())
			report(troubled, protocol.Service{Host: troubled, Service: "mysql", State: protocol.StateOK, Since: now, At: now})
		}, false},
	}
	for {
		now := time.Now()
		elapsed := now.Sub(start)
		for _, h := range fleet {
			l1 := h.base * (0.9 + 0.2*rng.Float64())
			if h.name == troubled {
				l1 = 12 + 3*math.Sin(elapsed.Seconds()/20) + rng.Float64()
			}
			if a := agents[h.name]; a != nil {
				a.PublishLoad(h.sample(l1, now))
			}
		}
		if l, ok := s.local.Sample(now); ok {
			s.Hub.PublishLoad(l)
		}
		for i := range events {
			if !events[i].done && elapsed >= events[i].after {
				events[i].done = true
				events[i].do()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// startAgents serves the hub to its agents on a loopback port and starts
// one agent per scripted host, each holding its host's current services.
func (s *Scenario) startAgents(ctx context.Context, wg *sync.WaitGroup) (map[string]*agent.Agent, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("no loopback port for the demo's agents: %w", err)
	}
	srv := &http.Server{Handler: s.Hub, ReadHeaderTimeout: 10 * time.Second}
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "vigil demo: agents' listener:", err)
		}
	}()
	go func() {
		defer wg.Done()
		<-ctx.Done()
		srv.Close()
	}()
	url := "ws://" + ln.Addr().String() + "/feed"
	tm := agent.DefaultTimings()
	tm.BackoffMin, tm.BackoffMax, tm.CloseWait = 50*time.Millisecond, time.Second, 100*time.Millisecond
	agents := map[string]*agent.Agent{}
	for _, h := range fleet {
		var src agent.EvidenceSource
		if h.name == troubled {
			src = &evidence{}
		}
		a, err := agent.New(agent.Config{Hosts: []string{h.name}, URLs: []string{url}, Token: s.token, Source: src, Timings: tm})
		if err != nil {
			return agents, err
		}
		for _, svc := range h.services {
			if current, ok := s.Hub.Service(h.name, svc); ok {
				a.PublishService(current)
			}
		}
		agents[h.name] = a
		wg.Add(1)
		go func() { defer wg.Done(); a.Run(ctx) }()
	}
	return agents, nil
}

// evidence is what shared-04 shows when asked: the fork storm of the
// seed's night, a compromised form sending mail through exim.
type evidence struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (e *evidence) Capture(ctx context.Context, reason string) protocol.EvidenceData {
	return protocol.EvidenceData{
		Reason: reason,
		Processes: []protocol.Process{
			{PID: 48113, User: "shop42", Command: "php-cgi", Count: 240, CPUPct: 412.5, RSSKB: 9_830_400},
			{PID: 2231, User: "mailnull", Command: "exim", Count: 96, CPUPct: 188.0, RSSKB: 1_204_224},
			{PID: 1187, User: "mysql", Command: "mysqld", Count: 1, CPUPct: 61.2, RSSKB: 4_194_304},
			{PID: 902, User: "apache", Command: "httpd", Count: 150, CPUPct: 44.9, RSSKB: 2_457_600},
		},
		Outputs: []protocol.Output{
			{Name: "mailq", Text: "4812 requests in queue; 4310 from shop42@shared-04"},
			{Name: "uptime", Text: "02:13:07 up 41 days,  3:02,  0 users,  load average: 12.90, 9.80, 5.10"},
		},
	}
}

func (e *evidence) Auto(ctx context.Context, key, reason string) (protocol.EvidenceData, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.last == nil {
		e.last = map[string]time.Time{}
	}
	if t, ok := e.last[key]; ok && time.Since(t) < 5*time.Minute {
		return protocol.EvidenceData{}, false
	}
	e.last[key] = time.Now()
	return e.Capture(ctx, reason), true
}
