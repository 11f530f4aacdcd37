package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A draft starts from the components, never the responders' title; a
// text for the page that names a host is held for one more confirmation
// naming it, and n there sends nothing.
func TestPublishNamingAHostIsHeld(t *testing.T) {
	m, rec := newModel(t, 100, 30)
	b := fixture()
	b.Events[0].(client.JournalEvent).Msg.(*protocol.IncidentMsg).Incident.Components = []string{"mail"}
	b.Health[0].Components = hubComponents
	b.Health[0].Channels = []string{"page", "ops-chat"}
	m = feed(m, b)
	m, _ = press(t, m, "4", "j", "p")
	d, ok := m.top().(*publishDialog)
	if !ok {
		t.Fatalf("no publish dialog:\n%s", ansi.Strip(m.Render()))
	}
	if first, _, _ := strings.Cut(d.text.Value(), "\n"); first != "Disruption to Mail" || d.subject.Value() != "Disruption to Mail" {
		t.Fatalf("the draft starts %q, subject %q", first, d.subject.Value())
	}
	m = typeText(t, m, "exim on web-3 is restarting. ")
	m, _ = press(t, m, "ctrl+s", "y")
	screen := ansi.Strip(m.Render())
	if rec.Pending() != 0 || !strings.Contains(screen, "Held: the text names host web-3") || !strings.Contains(screen, "host web-3, service exim") {
		t.Fatalf("a text naming web-3 was not held (%d sent):\n%s", rec.Pending(), screen)
	}
	m, _ = press(t, m, "n")
	if _, ok := m.top().(*publishDialog); !ok || rec.Pending() != 0 {
		t.Fatalf("n on the hold did not go back to the text (%d sent)", rec.Pending())
	}
	m, cmd := press(t, m, "ctrl+s", "y", "y")
	run(cmd)
	if got := rec.last(t); got.Op != protocol.OpPublish || !strings.Contains(got.Text, "web-3") || m.top() != nil {
		t.Fatalf("yes on the hold sent %+v", got)
	}

	// Only to the webhook: no one outside reads it, nothing is held.
	m, _ = press(t, m, "p")
	m = typeText(t, m, "exim on web-3. ")
	m, cmd = press(t, m, "tab", "space", "right", "space", "ctrl+s", "y")
	run(cmd)
	if rec.Pending() != 2 || m.top() != nil {
		t.Fatalf("a publish to ops-chat alone was held:\n%s", ansi.Strip(m.Render()))
	}
}
