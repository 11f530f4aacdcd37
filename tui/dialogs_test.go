package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

// richFixture is the fixture plus an evidence capture, watchers and a
// claimed step.
func richFixture() client.Batch {
	b := fixture()
	inc := b.Events[0].(client.JournalEvent).Msg.(*protocol.IncidentMsg)
	carol := "carol"
	inc.Incident.Checklist[2].ClaimedBy, inc.Incident.Checklist[2].ClaimedAt = &carol, protocol.TimePtr(t0.Add(5*time.Minute))
	b.Events = append(b.Events, client.JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: 20, At: protocol.At(t0.Add(5 * time.Minute)), Actor: "web-3", Kind: protocol.EntryEvidence, Host: "web-3",
		Text: "evidence on web-3: load crit: 12.8 on 4 CPUs",
		Evidence: &protocol.EvidenceData{Reason: "load crit: 12.8 on 4 CPUs",
			Processes: []protocol.Process{{PID: 4123, User: "shop42", Command: "php-cgi", Count: 240, CPUPct: 96.1, RSSKB: 81234}, {PID: 77, User: "mail", Command: "exim", Count: 12, CPUPct: 3.5, RSSKB: 9120}},
			Outputs:   []protocol.Output{{Name: "mailq", Exit: 0, Text: "48211 requests in queue\n-- 1.2G in 48211 messages"}}}}})
	return b
}

func withPresence(m Model, names ...string) Model {
	var ws []protocol.Watcher
	for _, n := range names {
		ws = append(ws, protocol.Watcher{Actor: n, Via: "ssh", Since: protocol.At(t0)})
	}
	m.st.Apply(state.Batch{Events: []state.Event{state.PresenceEvent{Feed: "hub", Watchers: ws}}}, t0)
	return m
}

// checkScreen fails unless the screen is exactly w x h cells.
func checkScreen(t *testing.T, screen string, w, h int) {
	t.Helper()
	lines := strings.Split(screen, "\n")
	if len(lines) != h {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), h, screen)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw != w {
			t.Fatalf("line %d is %d wide, want %d: %q", i, lw, w, l)
		}
	}
}

// Every dialog and detail view fits the screen at 80x24 and at 200x60.
func TestGoldenDialogs(t *testing.T) {
	cases := []struct {
		name string
		keys []string
	}{
		{"help", []string{"?"}},
		{"help-page2", []string{"?", "right"}},
		{"note", []string{"n"}},
		{"filter", []string{"2", "/"}},
		{"jump", []string{"t"}},
		{"declare", []string{"D"}},
		{"edit", []string{"E"}},
		{"status", []string{"s"}},
		{"incidents", []string{"i"}},
		{"feeds", []string{"f"}},
		{"draft", []string{"4", "j", "v"}},
		{"untick-confirm", []string{"4", "space"}},
		{"detail-host", []string{"1", "enter"}},
		{"detail-service", []string{"2", "enter"}},
		{"detail-entry-evidence", []string{"3", "enter"}},
		{"detail-entry-note", []string{"3", "k", "enter"}},
		{"detail-step", []string{"4", "j", "j", "enter"}},
		{"publish", []string{"4", "j", "p"}},
		{"publish-confirm", []string{"4", "j", "p", "ctrl+s"}},
	}
	for _, size := range []struct{ w, h int }{{80, 24}, {200, 60}} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%dx%d-%s", size.w, size.h, c.name), func(t *testing.T) {
				m, _ := newModel(t, size.w, size.h)
				m.opts.UTC = true
				m = feed(m, richFixture())
				m = withPresence(m, "alice", "bob", "carol")
				m, _ = press(t, m, c.keys...)
				if m.top() == nil {
					t.Fatalf("keys %v opened no dialog", c.keys)
				}
				screen := ansi.Strip(m.Render())
				checkScreen(t, screen, size.w, size.h)
				golden.RequireEqual(t, screen)
			})
		}
	}
}

// The help at 80x24 shows every column's keys, on pages.
func TestHelpShowsEveryKeyAt80x24(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	m, _ = press(t, m, "?")
	seen := ""
	for i := 0; i < 4; i++ {
		seen += ansi.Strip(m.Render())
		m, _ = press(t, m, "right")
	}
	for _, group := range DefaultKeyMap().FullHelp() {
		for _, b := range group {
			if !strings.Contains(seen, b.Help().Desc) {
				t.Errorf("help at 80x24 never shows %q (%s)", b.Help().Key, b.Help().Desc)
			}
		}
	}
}

// An open prompt is always visible: an alert's notice does not hide it.
func TestPromptNeverHiddenByNotice(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	m = feed(m, fixture())
	m, _ = press(t, m, "n")
	m = typeText(t, m, "half a note")
	m.st.Apply(state.Batch{Services: []state.ServiceState{{Feed: "hub", Service: protocol.Service{Host: "web-1", Service: "httpd", State: "down"}, Changes: []time.Time{t0}}}}, t0)
	m.alerts()
	lines := strings.Split(ansi.Strip(m.Render()), "\n")
	if footer := lines[len(lines)-1]; !strings.Contains(footer, "note> half a note") {
		t.Fatalf("the prompt is hidden: footer %q", footer)
	}
}

// Filters apply as you type; esc clears them; enter keeps them.
func TestFilterAsYouTypeAndEscClears(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	m = feed(m, fixture())
	m, _ = press(t, m, "2", "/")
	m = typeText(t, m, "mys")
	screen := ansi.Strip(m.Render())
	if !strings.Contains(screen, "db-1") || strings.Contains(screen, "exim") {
		t.Fatalf("not filtered while typing:\n%s", screen)
	}
	m, _ = press(t, m, "esc")
	screen = ansi.Strip(m.Render())
	if m.top() != nil || m.svcs.filter != "" || !strings.Contains(screen, "exim") {
		t.Fatalf("esc did not clear the filter:\n%s", screen)
	}
	m, _ = press(t, m, "/")
	m = typeText(t, m, "exim")
	m, _ = press(t, m, "enter")
	if m.top() != nil || m.svcs.filter != "exim" {
		t.Fatalf("enter did not keep the filter (%q)", m.svcs.filter)
	}
	// The timeline filters as you type too.
	m, _ = press(t, m, "3", "/")
	m = typeText(t, m, "bounces")
	screen = ansi.Strip(m.Render())
	if !strings.Contains(screen, "Timeline INC-42  1") || !strings.Contains(screen, "bounces") {
		t.Fatalf("timeline not filtered while typing:\n%s", screen)
	}
}

func mouseAt(t *testing.T, m Model, msg tea.Msg) Model {
	t.Helper()
	next, _ := m.Update(msg)
	return next.(Model)
}

// The wheel scrolls the pane under the pointer; a click focuses a pane
// and selects the row under it.
func TestMouseWheelAndClick(t *testing.T) {
	m, _ := newModel(t, 200, 60)
	m = feed(m, fixture())
	var events []client.Event
	for i := 0; i < 100; i++ {
		events = append(events, client.JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: uint64(100 + i), Incident: "INC-42", At: protocol.At(t0), Kind: "note", Text: fmt.Sprintf("note %d", i)}})
	}
	m = feed(m, client.Batch{Events: events})
	tl := m.layout.Panes[TimelinePane]
	m = mouseAt(t, m, tea.MouseWheelMsg{X: tl.X + 5, Y: tl.Y + 5, Button: tea.MouseWheelUp})
	if m.focus != LoadPane || m.tl.follow {
		t.Fatalf("the wheel over the timeline did not scroll it (focus %v, follow %v)", m.focus, m.tl.follow)
	}
	if !strings.Contains(ansi.Strip(m.Render()), "paused") {
		t.Fatal("a scrolled timeline should say it is paused")
	}
	svc := m.layout.Panes[ServicesPane]
	m = mouseAt(t, m, tea.MouseClickMsg{X: svc.X + 3, Y: svc.Y + 1 + 2, Button: tea.MouseLeft})
	if m.focus != ServicesPane || m.svcs.sel != 2 {
		t.Fatalf("click: focus %v, selected row %d; want services row 2", m.focus, m.svcs.sel)
	}
	m, _ = press(t, m, "enter")
	if screen := ansi.Strip(m.Render()); !strings.Contains(screen, "Service mysql on db-1") {
		t.Fatalf("enter after a click did not open the clicked row:\n%s", screen)
	}
	// At 80x24 a click on a tab opens it.
	m, _ = newModel(t, 80, 24)
	m = feed(m, fixture())
	m = mouseAt(t, m, tea.MouseClickMsg{X: 30, Y: 1, Button: tea.MouseLeft})
	if m.focus != TimelinePane {
		t.Fatalf("click on the third tab: focus %v", m.focus)
	}
}

func TestMouseCanBeTurnedOff(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	if m.View().MouseMode != tea.MouseModeCellMotion {
		t.Fatal("mouse not on by default")
	}
	m.opts.NoMouse = true
	if m.View().MouseMode != tea.MouseModeNone {
		t.Fatal("NoMouse left the mouse on")
	}
}

// A claimed step says who is on it; o claims, and releases one's own.
func TestClaimAndRelease(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = feed(m, richFixture())
	m, _ = press(t, m, "4")
	if !strings.Contains(ansi.Strip(m.Render()), "carol is on it") {
		t.Fatal("a claimed step does not say who is on it")
	}
	m, cmd := press(t, m, "j", "o")
	run(cmd)
	got := rec.last(t)
	if got.Op != protocol.OpClaim || got.Item != "status-page" || got.Claim == nil || !*got.Claim || got.Incident != "INC-42" {
		t.Fatalf("claim sent %+v", got)
	}
	b := richFixture()
	inc := b.Events[0].(client.JournalEvent).Msg.(*protocol.IncidentMsg)
	alice := "alice"
	inc.Incident.Checklist[1].ClaimedBy = &alice
	m = feed(m, b)
	_, cmd = press(t, m, "o")
	run(cmd)
	if got := rec.last(t); got.Claim == nil || *got.Claim {
		t.Fatalf("o on one's own claim should release it: %+v", got)
	}
}

// E edits the incident and hands it off: only what changed is sent.
func TestEditAndHandOff(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = feed(m, fixture())
	m, _ = press(t, m, "E", "tab", "right", "tab", "ctrl+u")
	m = typeText(t, m, "dave")
	m, cmd := press(t, m, "enter")
	run(cmd)
	got := rec.last(t)
	if got.Op != protocol.OpUpdate || got.Incident != "INC-42" || got.Severity != "SEV3" || got.Commander != "dave" || got.Title != "" {
		t.Fatalf("update sent %+v", got)
	}
	if m.top() != nil {
		t.Fatal("the form stayed open after sending")
	}
}

// e on a host asks its agent for evidence, through the host's feed.
func TestCollectEvidence(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = feed(m, fixture())
	_, cmd := press(t, m, "1", "j", "e")
	run(cmd)
	if got := rec.last(t); got.Op != protocol.OpCollect || got.Host != "mail-1" {
		t.Fatalf("collect sent %+v", got)
	}
}

// Issue 10 item 4: an incident without a severity crashed the header.
func TestIncidentWithoutSeverityOrTitles(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	in := protocol.Incident{ID: "INC-7", Title: "x", Status: "investigating", OpenedAt: protocol.At(t0),
		Checklist: []protocol.Item{{ID: "untitled-step", Due: protocol.DurationPtr(time.Hour)}}}
	m = feed(m, client.Batch{Events: []client.Event{client.JournalEvent{Feed: "hub", Msg: &protocol.IncidentMsg{Seq: 1, Incident: in}}}})
	m, _ = press(t, m, "4")
	screen := ansi.Strip(m.Render())
	if !strings.Contains(screen, "INC-7 investigating") || !strings.Contains(screen, "untitled-step") {
		t.Fatalf("header or step id missing:\n%s", screen)
	}
}

// p opens the step's draft to edit, channels to tick and a subject;
// ctrl+s asks once more; yes sends one publish command.
func TestPublishAsksThenSendsOnce(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = feed(m, fixture())
	// The hub's hello names its channels; the client passes them on.
	m.st.Apply(state.Batch{Health: []state.Health{{Feed: "hub", State: state.FeedSynced, Channels: []string{"page", "email", "ops-chat"}}}}, t0)
	m, _ = press(t, m, "4", "j", "p")
	if _, ok := m.top().(*publishDialog); !ok {
		t.Fatalf("no publish dialog:\n%s", ansi.Strip(m.Render()))
	}
	m = typeText(t, m, "Update: ")
	m, _ = press(t, m, "tab", "right", "space", "tab")
	m = typeText(t, m, " (mail)")
	m, cmd := press(t, m, "ctrl+s")
	if cmd != nil || rec.Pending() != 0 {
		t.Fatal("ctrl+s sent without asking")
	}
	if screen := ansi.Strip(m.Render()); !strings.Contains(screen, "Publish to customers?") || !strings.Contains(screen, "page, email") {
		t.Fatalf("no confirmation:\n%s", screen)
	}
	m, cmd = press(t, m, "y")
	run(cmd)
	got := rec.last(t)
	if got.Op != protocol.OpPublish || got.Item != "status-page" || got.Incident != "INC-42" ||
		strings.Join(got.Channels, ",") != "page,email" || got.Subject != "Service disruption (mail)" ||
		!strings.HasSuffix(got.Text, "Update:") || !strings.Contains(got.Text, "Service disruption") || strings.Contains(got.Text, "Mail down on web-3") {
		t.Fatalf("publish sent %+v", got)
	}
	if m.top() != nil || rec.Pending() != 1 {
		t.Fatalf("after yes: dialogs %v, %d commands", m.top(), rec.Pending())
	}
}

func TestPublishRefusesEmptyOrNoChannel(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = feed(m, fixture())
	m, _ = press(t, m, "4", "j", "p", "tab", "space", "ctrl+s")
	if d, ok := m.top().(*publishDialog); !ok || !strings.Contains(d.err, "channel") || rec.Pending() != 0 {
		t.Fatalf("published to no channel:\n%s", ansi.Strip(m.Render()))
	}
}

// The selection stays on a host when the rows reorder (a host going
// crit moves up), so e asks the host the reader chose.
func TestLoadSelectionFollowsTheHost(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = feed(m, fixture())
	m, _ = press(t, m, "1", "j", "j") // web-3, mail-1, db-1
	_ = m.Render()
	b := fixture()
	b.Loads = b.Loads[1:2] // web-1 goes crit and moves up
	b.Loads[0].Load.Load1 = 40
	b.Events, b.Services, b.Health = nil, nil, nil
	m = feed(m, b)
	_ = m.Render()
	_, cmd := press(t, m, "e")
	run(cmd)
	if got := rec.last(t); got.Host != "db-1" {
		t.Fatalf("collect went to %q, the reader chose db-1", got.Host)
	}
}
