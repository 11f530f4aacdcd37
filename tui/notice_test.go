package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-oncall/vigil/feeds/client"
)

func footerOf(m Model) string {
	lines := strings.Split(ansi.Strip(m.Render()), "\n")
	return lines[len(lines)-1]
}

// "declaring SEV2 outage: …" says the command is on its way and goes
// when the hub acknowledges it, not eight seconds later.
func TestProgressNoticeClearsWhenAcknowledged(t *testing.T) {
	m, rec := newModel(t, 100, 30)
	m = feed(m, fixture())
	m, _ = press(t, m, "D")
	m = typeText(t, m, "Disk full on db-1")
	m, cmd := press(t, m, "enter")
	run(cmd)
	if f := footerOf(m); !strings.Contains(f, "declaring SEV2 outage: Disk full on db-1") {
		t.Fatalf("no progress notice: %q", f)
	}
	sent := rec.last(t)
	m = feed(m, client.Batch{Events: []client.Event{client.QueuedEvent{Feed: "hub", Command: sent}}})
	if f := footerOf(m); !strings.Contains(f, "declaring") {
		t.Fatalf("the notice went before the ack: %q", f)
	}
	m = feed(m, client.Batch{Events: []client.Event{client.AckEvent{Feed: "hub", ID: sent.ID}}})
	if f := footerOf(m); strings.Contains(f, "declaring") || !strings.Contains(f, "all keys") {
		t.Fatalf("the notice stays after the ack: %q", f)
	}
}

// n with no incident says so, and the note typed after it lands in a
// prompt: none of its letters runs as a command, nothing is sent.
func TestNoteWithoutAnIncidentSwallowsTheText(t *testing.T) {
	m, rec := newModel(t, 100, 30)
	m, _ = press(t, m, "n")
	if screen := ansi.Strip(m.Render()); !strings.Contains(screen, "no open incident") {
		t.Fatalf("n without an incident says nothing:\n%s", screen)
	}
	m = typeText(t, m, "restarting mysql: Dq")
	if m.top() == nil {
		t.Fatalf("the typed letters ran as commands:\n%s", ansi.Strip(m.Render()))
	}
	m, cmd := press(t, m, "enter")
	run(cmd)
	if m.top() != nil || rec.Pending() != 0 || !strings.Contains(footerOf(m), "nothing was sent") {
		t.Fatalf("after enter: dialog %v, %d sent, footer %q", m.top(), rec.Pending(), footerOf(m))
	}
}

// pgdn and space page the help like →; pgup goes back.
func TestHelpPagesWithPgdnAndSpace(t *testing.T) {
	for _, k := range []string{"pgdown", "space"} {
		m, _ := newModel(t, 80, 24)
		m, _ = press(t, m, "?")
		if screen := ansi.Strip(m.Render()); strings.Contains(screen, "tick step") {
			t.Fatalf("the help is not paged at 80x24:\n%s", screen)
		}
		m = pressKey(m, k)
		if screen := ansi.Strip(m.Render()); !strings.Contains(screen, "tick step") || !strings.Contains(screen, "page 2 of") {
			t.Fatalf("%s did not page the help:\n%s", k, screen)
		}
		m = pressKey(m, "pgup")
		if screen := ansi.Strip(m.Render()); strings.Contains(screen, "tick step") {
			t.Fatalf("pgup did not page back:\n%s", screen)
		}
	}
}

func pressKey(m Model, k string) Model {
	msgs := map[string]tea.KeyPressMsg{
		"pgdown": {Code: tea.KeyPgDown},
		"pgup":   {Code: tea.KeyPgUp},
		"space":  {Code: ' ', Text: " "},
	}
	next, _ := m.Update(msgs[k])
	return next.(Model)
}
