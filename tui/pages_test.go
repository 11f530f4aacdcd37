package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// pagesFixture: an open page paging alice (bob next), an acknowledged
// one, who is on call and a silence.
func pagesFixture() client.Batch {
	b := fixture()
	now := t0.Add(10 * time.Minute) // newModel's clock
	alice := "alice"
	b.Events = append(b.Events,
		client.JournalEvent{Feed: "hub", Msg: &protocol.PageMsg{Seq: 20, Page: protocol.Page{ID: "PG-11", Title: "db-1: mysql down", Status: protocol.PageAcknowledged,
			OpenedAt: protocol.At(now.Add(-time.Hour)), Level: 1, AckedBy: &alice, Escalation: "default",
			Events: []protocol.PageEvent{{At: protocol.At(now.Add(-time.Hour)), Host: "db-1", Service: "mysql", What: "down", Text: "refused"}}}}},
		client.JournalEvent{Feed: "hub", Msg: &protocol.PageMsg{Seq: 21, Page: protocol.Page{ID: "PG-12", Title: "shared-04: exim down, load crit", Status: protocol.PageTriggered,
			Urgency: "high", Escalation: "default", OpenedAt: protocol.At(now.Add(-2 * time.Minute)), Level: 1, LevelAt: protocol.TimePtr(now.Add(-90 * time.Second)),
			NextAt: protocol.TimePtr(now.Add(3 * time.Minute)), Next: []string{"bob"},
			Events: []protocol.PageEvent{{At: protocol.At(now.Add(-2 * time.Minute)), Host: "shared-04", Service: "exim", What: "down", Text: "connect 127.0.0.1:25: refused"},
				{At: protocol.At(now.Add(-100 * time.Second)), Host: "shared-04", What: "crit", Text: "load1 9.80 on 4 CPUs"}},
			Notified: []protocol.Notified{{Person: "alice", Via: "email", At: protocol.At(now.Add(-89 * time.Second)), Outcome: "250 accepted", Level: 1}}}}},
		client.OncallEvent{Feed: "hub", Oncall: protocol.Oncall{Rotations: []protocol.OncallRotation{{Name: "primary", Now: "alice", Next: "bob"}},
			Silences: []protocol.Silence{{ID: "SIL-3", Hosts: []string{"web-*"}, Services: []string{"*"}, Until: protocol.At(now.Add(2 * time.Hour)), By: "carol", Reason: "disk swap"}}}},
	)
	return b
}

func TestHeaderShowsPagingAndWhoIsOnCall(t *testing.T) {
	m, _ := newModel(t, 200, 60)
	m = feed(m, pagesFixture())
	head := ansi.Strip(strings.Split(m.Render(), "\n")[0])
	for _, want := range []string{"PG-12 paging alice · bob in 3m (+1)", "on call: alice (primary)"} {
		if !strings.Contains(head, want) {
			t.Errorf("header %q lacks %q", head, want)
		}
	}
	// At 80 columns the triggered page is never dropped.
	m, _ = newModel(t, 80, 24)
	m = feed(m, pagesFixture())
	if head := ansi.Strip(strings.Split(m.Render(), "\n")[0]); !strings.Contains(head, "PG-12") {
		t.Errorf("80 columns: %q", head)
	}
}

func TestPagesViewAcksDeclaresAndSummons(t *testing.T) {
	m, rec := newModel(t, 120, 40)
	m = feed(m, pagesFixture())
	m, _ = press(t, m, "P")
	screen := ansi.Strip(m.Render())
	for _, want := range []string{"PG-12 paging alice", "shared-04 exim down: connect 127.0.0.1:25: refused", "told alice by email", "silenced SIL-3"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("pages view lacks %q:\n%s", want, screen)
		}
	}
	m, cmd := press(t, m, "a")
	run(cmd)
	if c := rec.last(t); c.Op != protocol.OpAck || c.Page != "PG-12" {
		t.Fatalf("a sent %+v", c)
	}
	m, cmd = press(t, m, "P", "D")
	run(cmd)
	if c := rec.last(t); c.Op != protocol.OpDeclare || c.Page != "PG-12" || c.Title != "shared-04: exim down, load crit" || c.Severity == "" {
		t.Fatalf("D sent %+v", c)
	}
	m, _ = press(t, m, "P", "S")
	m = typeText(t, m, "person:dana need a DBA")
	m, cmd = press(t, m, "enter")
	run(cmd)
	if c := rec.last(t); c.Op != protocol.OpSummon || c.Who != "person:dana" || c.Text != "need a DBA" {
		t.Fatalf("summon sent %+v", c)
	}
	if m.top() != nil {
		t.Fatal("the summon left a dialog open")
	}
}

func TestGoldenPagesView(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {200, 60}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) {
			m, _ := newModel(t, size.w, size.h)
			m.opts.UTC = true
			m = feed(m, pagesFixture())
			m, _ = press(t, m, "P")
			screen := ansi.Strip(m.Render())
			checkScreen(t, screen, size.w, size.h)
			golden.RequireEqual(t, screen)
		})
	}
}
