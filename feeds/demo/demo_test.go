package demo

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/client/clienttest"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

func TestScenarioHasTheNightAndRunsUntilCancelled(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	incs := s.Hub.Incidents()
	if len(incs) != 1 || incs[0].ID != incidentID || incs[0].Kind != "outage" {
		t.Fatalf("incidents = %+v", incs)
	}
	var done, open []string
	for _, it := range incs[0].Checklist {
		if it.Done() {
			done = append(done, it.ID+" by "+*it.DoneBy)
		} else if it.After == "" {
			open = append(open, it.ID)
		}
	}
	if strings.Join(done, ",") != "ack by bob,status-page by carol,answer-messages by carol" || len(open) < 4 {
		t.Fatalf("done %v, open %v: some ticked by teammates, some left for the viewer", done, open)
	}
	if !incs[0].OpenedAt.Before(time.Now().Add(-20 * time.Minute)) {
		t.Fatal("the incident should have started before the viewer arrived")
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}

// Two responders on one demo feed see each other's ticks.
func TestTwoRespondersSeeEachOthersTicks(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.Run(ctx) }()
	go func() { defer wg.Done(); server.Serve(ctx, s.Hub, ln, "/feed", "", "") }()
	defer func() { cancel(); wg.Wait() }()
	url := "ws://" + ln.Addr().String() + "/feed"

	tm := client.DefaultTimings()
	tm.CloseWait = 100 * time.Millisecond
	var alice, bob *client.Client
	var bobSaw *clienttest.Collector
	for _, c := range []**client.Client{&alice, &bob} {
		cl, err := client.New([]client.FeedConfig{{Name: "demo", URL: url}}, "", tm)
		if err != nil {
			t.Fatal(err)
		}
		*c = cl
		seen := clienttest.Collect(ctx, cl.Store())
		if c == &bob {
			bobSaw = seen
		}
		wg.Add(1)
		go func() { defer wg.Done(); cl.Run(ctx); <-seen.Done() }()
	}
	done := true
	if _, err := alice.Send("demo", protocol.Command{Actor: "alice", Op: "check", Incident: incidentID, Item: "email-customers", Done: &done}); err != nil {
		t.Fatal(err)
	}
	want := "ticked: Email affected customers"
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if contains(bobSaw.EntryTexts(), want) && s.Hub.Incidents()[0].Checklist[2].Done() {
			for _, m := range bobSaw.Journal() {
				if e, ok := m.(*protocol.Entry); ok && e.Text == want && e.Actor != "alice" {
					t.Fatalf("the tick is attributed to %q, not alice", e.Actor)
				}
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("bob never saw alice's tick; bob saw %q", bobSaw.EntryTexts())
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// The demo's fleet reports through agents over loopback WebSockets: the
// troubled host's agent, seeing its host crit, sends evidence that the
// hub journals against the open incident, and a collect reaches it.
func TestDemoFleetReportsThroughAgents(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.Run(ctx) }()
	go func() { defer wg.Done(); server.Serve(ctx, s.Hub, ln, "/feed", "", "") }()
	defer func() { cancel(); wg.Wait() }()
	tm := client.DefaultTimings()
	tm.CloseWait = 100 * time.Millisecond
	c, err := client.New([]client.FeedConfig{{Name: "demo", URL: "ws://" + ln.Addr().String() + "/feed"}}, "", tm)
	if err != nil {
		t.Fatal(err)
	}
	seen := clienttest.Collect(ctx, c.Store())
	wg.Add(1)
	go func() { defer wg.Done(); c.Run(ctx); <-seen.Done() }()
	evidenceEntry := func(reason string) *protocol.Entry {
		for _, m := range seen.Journal() {
			if e, ok := m.(*protocol.Entry); ok && e.Kind == protocol.EntryEvidence && e.Host == troubled && strings.Contains(e.Text, reason) {
				return e
			}
		}
		return nil
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && evidenceEntry("load crit") == nil {
		time.Sleep(10 * time.Millisecond)
	}
	e := evidenceEntry("load crit")
	if e == nil || e.Incident != incidentID || e.Evidence == nil || e.Evidence.Processes[0].Command != "php-cgi" {
		t.Fatalf("no evidence from %s's agent on %s: %+v; entries %q", troubled, incidentID, e, seen.EntryTexts())
	}
	id, err := c.Send("demo", protocol.Command{Actor: "alice", Op: protocol.OpCollect, Host: troubled})
	if err != nil {
		t.Fatal(err)
	}
	for time.Now().Before(deadline) && (seen.Answer(id) == nil || evidenceEntry("collected by alice") == nil) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, ok := seen.Answer(id).(client.AckEvent); !ok || evidenceEntry("collected by alice") == nil {
		t.Fatalf("collect answered %+v; entries %q", seen.Answer(id), seen.EntryTexts())
	}
}
