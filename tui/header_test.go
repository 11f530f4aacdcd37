package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// The header cuts by priority: decoration first; a dead feed and an
// overdue step are never dropped, at any width the dashboard runs at.
func TestHeaderNeverDropsTrouble(t *testing.T) {
	for _, w := range []int{MinWidth, 80, 120, 200} {
		m, _ := newModel(t, w, 24)
		m.opts.Demo = true
		b := fixture()
		b.Health = []client.Health{{Feed: "hub", State: client.Disconnected, Reason: "connection refused", RetryAt: t0.Add(10*time.Minute + 3*time.Second)}}
		m = feed(m, b)
		m = withPresence(m, "alice", "bob", "carol", "dave", "erin")
		m.now = t0.Add(40 * time.Minute) // several steps overdue
		head := ansi.Strip(strings.Split(m.Render(), "\n")[0])
		if ansi.StringWidth(head) != w {
			t.Fatalf("%d: header is %d wide", w, ansi.StringWidth(head))
		}
		for _, must := range []string{"INC-42", "OVERDUE", "✗ ", "stale", "DEMO"} {
			if !strings.Contains(head, must) {
				t.Errorf("%d wide: header lost %q: %q", w, must, head)
			}
		}
		if w == 200 && (!strings.Contains(head, "5 watching: alice, bob, carol, dave, erin") || !strings.Contains(head, "hub reconnecting")) {
			t.Errorf("200 wide has room for everything: %q", head)
		}
	}
}

// Services whose feed is down show as stale, like their host's load.
func TestDeadFeedMakesServicesStale(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	b := fixture()
	m = feed(m, b)
	m, _ = press(t, m, "2")
	if strings.Contains(ansi.Strip(m.Render()), "? stale  db-1") {
		t.Fatal("stale while the feed is up")
	}
	m = feed(m, client.Batch{Health: []client.Health{{Feed: "hub", State: client.Disconnected, Reason: "EOF"}}})
	screen := ansi.Strip(m.Render())
	if strings.Contains(screen, "✓ ok") || !strings.Contains(screen, "? stale") || !strings.Contains(screen, "last said ok") {
		t.Fatalf("services of a dead feed still look live:\n%s", screen)
	}
}

// After resolution only after-resolution steps count down in the header.
func TestResolvedCountsDownOnlyAfterResolutionSteps(t *testing.T) {
	m, _ := newModel(t, 200, 60)
	b := fixture()
	inc := b.Events[0].(client.JournalEvent).Msg.(*protocol.IncidentMsg)
	inc.Incident.Status = protocol.StatusResolved
	inc.Incident.ResolvedAt = protocol.TimePtr(t0.Add(50 * time.Minute))
	m = feed(m, b)
	m.now = t0.Add(55 * time.Minute)
	head := ansi.Strip(strings.Split(m.Render(), "\n")[0])
	if strings.Contains(head, "OVERDUE") || strings.Contains(head, "escalate") || !strings.Contains(head, "next: resolved-notice in 25:00") {
		t.Fatalf("a resolved incident nags about steps before resolution: %q", head)
	}
	if screen := ansi.Strip(m.Render()); strings.Contains(screen, "OVERDUE") || !strings.Contains(screen, "not done") {
		t.Fatalf("checklist of a resolved incident:\n%s", screen)
	}
}

// Fleet alerts arriving after resolution go to the whole timeline, not
// into the closed incident's.
func TestFleetAlertsSkipAClosedIncident(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	b := fixture()
	inc := b.Events[0].(client.JournalEvent).Msg.(*protocol.IncidentMsg)
	inc.Incident.Status = protocol.StatusResolved
	inc.Incident.ResolvedAt = protocol.TimePtr(t0.Add(5 * time.Minute))
	m = feed(m, b)
	m = feed(m, client.Batch{Events: []client.Event{client.JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: 50, At: protocol.At(t0.Add(20 * time.Minute)), Actor: "db-1", Kind: "alert", Text: "mysql on db-1 ok → down"}}}})
	if n := m.st.Timeline.Len("INC-42"); n != 4 {
		t.Fatalf("the closed incident's timeline has %d entries, want its 4", n)
	}
	m, _ = press(t, m, "i", "k", "enter", "3")
	if screen := ansi.Strip(m.Render()); !strings.Contains(screen, "mysql on db-1 ok → down") {
		t.Fatalf("the fleet alert is nowhere:\n%s", screen)
	}
}

// Host names are never cut to the point of being indistinguishable.
func TestHostNamesCutInTheMiddle(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	var b client.Batch
	for _, h := range []string{"shared-hosting-eu-west-01", "shared-hosting-eu-west-02", "shared-hosting-eu-west-03-with-a-much-longer-name-here"} {
		b.Loads = append(b.Loads, client.HostLoad{Feed: "hub", Received: t0.Add(10 * time.Minute), Load: protocol.Load{Host: h, At: protocol.At(t0), Interval: protocol.Duration(5 * time.Second), Load1: 1, CPUs: 4}})
	}
	m = feed(m, b)
	screen := ansi.Strip(m.Render())
	for _, want := range []string{"shared-hosting-eu-west-01", "shared-hosting-eu-west-02", "…"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("%q missing:\n%s", want, screen)
		}
	}
}
