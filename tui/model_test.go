package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

func TestMain(m *testing.M) {
	time.Local = time.UTC // golden views show local times
	os.Exit(m.Run())
}

var t0 = time.Date(2026, 11, 22, 2, 14, 0, 0, time.UTC)

// recorder is the dashboard's Feed with a real store; it records the
// commands the dashboard sends instead of dialing anything.
type recorder struct {
	store *client.Store
	mu    sync.Mutex
	sent  []protocol.Command
}

func (r *recorder) Store() *client.Store { return r.store }
func (r *recorder) Feeds() []string      { return []string{"hub"} }
func (r *recorder) Pending() int         { r.mu.Lock(); defer r.mu.Unlock(); return len(r.sent) }
func (r *recorder) Send(feed string, cmd protocol.Command) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cmd.ID = fmt.Sprintf("c-%d", len(r.sent)+1)
	r.sent = append(r.sent, cmd)
	return cmd.ID, nil
}

func (r *recorder) last(t *testing.T) protocol.Command {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sent) == 0 {
		t.Fatal("nothing sent")
	}
	return r.sent[len(r.sent)-1]
}

func newModel(t testing.TB, w, h int) (Model, *recorder) {
	rec := &recorder{store: client.NewStore()}
	now := t0.Add(10 * time.Minute)
	m := New(context.Background(), rec, Options{Actor: "alice", Bell: true, Now: func() time.Time { return now }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return next.(Model), rec
}

func fixture() client.Batch {
	mem := 71.5
	hist := client.NewHistory(1, 2, 3, 5, 8, 13, 12, 12.8)
	var b client.Batch
	for i, h := range []struct {
		name string
		l1   float64
		cpus int
	}{{"web-3", 12.8, 4}, {"web-1", 0.4, 4}, {"db-1", 3.1, 4}, {"mail-1", 0.2, 2}} {
		l := client.HostLoad{Feed: "hub", Received: t0.Add(10 * time.Minute), History: hist,
			Load: protocol.Load{Host: h.name, At: protocol.At(t0), Interval: protocol.Duration(5 * time.Second), Load1: h.l1, Load5: h.l1 / 2, Load15: h.l1 / 3, CPUs: h.cpus, MemUsedPct: &mem}}
		if i == 3 {
			l.Received = t0 // silent since: stale
		}
		b.Loads = append(b.Loads, l)
	}
	svc := func(host, name, st, detail string, since time.Duration) client.ServiceState {
		return client.ServiceState{Feed: "hub", Received: t0, Service: protocol.Service{Host: host, Service: name, State: st, Detail: detail, Since: protocol.At(t0.Add(since))}}
	}
	b.Services = []client.ServiceState{
		svc("web-3", "exim", "down", "connect 127.0.0.1:25: connection refused", -3*time.Minute),
		svc("web-3", "httpd", "warn", "GET /: 4.8s", -time.Minute),
		svc("web-1", "httpd", "ok", "", -time.Hour),
		svc("db-1", "mysql", "ok", "", -time.Hour),
	}
	inc, _, _ := incident.Defaults().Declare("INC-42", protocol.Command{Actor: "alice", Title: "Mail down on web-3", Severity: "SEV2", Kind: "outage"}, t0)
	bob := "bob"
	inc.Checklist[0].DoneAt, inc.Checklist[0].DoneBy = protocol.TimePtr(t0.Add(30*time.Second)), &bob
	b.Events = append(b.Events, client.JournalEvent{Feed: "hub", Msg: &protocol.IncidentMsg{Seq: 1, Incident: inc}})
	for i, e := range []struct{ actor, kind, text string }{
		{"web-3", "alert", "exim on web-3 ok → down: connect 127.0.0.1:25: connection refused"},
		{"alice", "status", "declared SEV2 outage: Mail down on web-3"},
		{"bob", "check", "ticked: Acknowledge and take ownership"},
		{"bob", "note", "exim queue is full of bounces; not rebooting before we copy the logs"},
	} {
		b.Events = append(b.Events, client.JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: uint64(i + 2), Incident: "INC-42", At: protocol.At(t0.Add(time.Duration(i) * time.Minute)), Actor: e.actor, Kind: e.kind, Text: e.text}})
	}
	b.Health = []client.Health{{Feed: "hub", URL: "ws://127.0.0.1:7070/feed", State: client.Synced, Journal: "j-1", Seq: 5}}
	return b
}

func feed(m Model, b client.Batch) Model {
	next, _ := m.Update(batchMsg{b})
	return next.(Model)
}

func press(t *testing.T, m Model, keys ...string) (Model, tea.Cmd) {
	t.Helper()
	var cmd tea.Cmd
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "space":
			msg = tea.KeyPressMsg{Code: ' ', Text: " "}
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		case "tab":
			msg = tea.KeyPressMsg{Code: tea.KeyTab}
		case "down":
			msg = tea.KeyPressMsg{Code: tea.KeyDown}
		case "right":
			msg = tea.KeyPressMsg{Code: tea.KeyRight}
		case "left":
			msg = tea.KeyPressMsg{Code: tea.KeyLeft}
		case "up":
			msg = tea.KeyPressMsg{Code: tea.KeyUp}
		case "ctrl+u":
			msg = tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
		case "ctrl+s":
			msg = tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}
		default:
			r := []rune(k)[0]
			msg = tea.KeyPressMsg{Code: r, Text: k}
		}
		next, c := m.Update(msg)
		m, cmd = next.(Model), c
	}
	return m, cmd
}

// run executes a command the way the program would, for the ones that
// do not wait on a clock or a channel.
func run(cmd tea.Cmd) tea.Msg {
	if cmd == nil {
		return nil
	}
	return cmd()
}

func typeText(t *testing.T, m Model, s string) Model {
	for _, r := range s {
		next, _ := m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
		m = next.(Model)
	}
	return m
}

func TestFocusKeys(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	m, _ = press(t, m, "tab", "tab")
	if m.focus != TimelinePane {
		t.Fatalf("focus = %v", m.focus)
	}
	m, _ = press(t, m, "4")
	if m.focus != ChecklistPane {
		t.Fatalf("focus = %v", m.focus)
	}
}

func TestTickSendsCheckAndShowsPending(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = feed(m, fixture())
	m, _ = press(t, m, "4", "j")
	m, cmd := press(t, m, "space")
	if msg := run(cmd); msg != nil {
		t.Fatalf("send failed: %v", msg)
	}
	got := rec.last(t)
	if got.Op != "check" || got.Item != "status-page" || got.Incident != "INC-42" || !*got.Done || got.Actor != "alice" {
		t.Fatalf("sent %+v", got)
	}
	m = feed(m, client.Batch{Events: []client.Event{client.QueuedEvent{Feed: "hub", Command: got}}})
	if !strings.Contains(ansi.Strip(m.Render()), "sending…") {
		t.Fatal("a tick is not shown as pending until its ack")
	}
	// Unticking a step another responder ticked asks first, then sends
	// done=false.
	m, cmd = press(t, m, "k", "space")
	run(cmd)
	if got := rec.last(t); got.Item != "status-page" {
		t.Fatalf("an untick of bob's step was sent without asking: %+v", got)
	}
	if screen := ansi.Strip(m.Render()); !strings.Contains(screen, "bob ticked") || !strings.Contains(screen, "both names") {
		t.Fatalf("no confirmation:\n%s", screen)
	}
	m, cmd = press(t, m, "n")
	if cmd != nil || m.top() != nil {
		t.Fatal("n should close the question and send nothing")
	}
	m, _ = press(t, m, "space")
	_, cmd = press(t, m, "y")
	run(cmd)
	if got := rec.last(t); got.Item != "ack" || *got.Done {
		t.Fatalf("untick sent %+v", got)
	}
}

func TestNackReasonIsShown(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	m = feed(m, fixture())
	done := true
	cmd := protocol.Command{ID: "c-9", Op: "check", Incident: "INC-42", Item: "ack", Done: &done}
	m = feed(m, client.Batch{Events: []client.Event{client.QueuedEvent{Feed: "hub", Command: cmd}, client.NackEvent{Feed: "hub", ID: "c-9", Code: "forbidden", Error: "commands need a token"}}})
	m, _ = press(t, m, "4")
	if screen := ansi.Strip(m.Render()); !strings.Contains(screen, "refused (forbidden): commands need a token") {
		t.Fatalf("nack not shown:\n%s", screen)
	}
}

func TestNoteDeclareStatus(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = feed(m, fixture())
	m, _ = press(t, m, "n")
	m = typeText(t, m, "copied the logs")
	m, cmd := press(t, m, "enter")
	run(cmd)
	if got := rec.last(t); got.Op != "note" || got.Text != "copied the logs" || got.Incident != "INC-42" {
		t.Fatalf("note sent %+v", got)
	}

	m, _ = press(t, m, "D")
	m = typeText(t, m, "DNS broken")
	m, _ = press(t, m, "tab", "right", "right") // severity SEV2 → SEV4
	m, cmd = press(t, m, "enter")
	run(cmd)
	if got := rec.last(t); got.Op != "declare" || got.Title != "DNS broken" || got.Severity != "SEV4" || got.Kind != "outage" {
		t.Fatalf("declare sent %+v", got)
	}

	m, _ = press(t, m, "s", "down", "down") // investigating → monitoring
	_, cmd = press(t, m, "enter")
	run(cmd)
	if got := rec.last(t); got.Op != "status" || got.Status != "monitoring" {
		t.Fatalf("status sent %+v", got)
	}
}

func TestQuitAsksWhileCommandsUnsent(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	if _, cmd := press(t, m, "q"); run(cmd) != (tea.QuitMsg{}) {
		t.Fatal("q with nothing pending should quit")
	}
	rec.Send("hub", protocol.Command{Op: "note"})
	m, cmd := press(t, m, "q")
	if _, asks := m.top().(*confirmDialog); cmd != nil || !asks {
		t.Fatal("q with unsent commands should ask first")
	}
	if !strings.Contains(ansi.Strip(m.Render()), "Quit anyway? y/n") {
		t.Fatal("no question shown")
	}
	if _, cmd := press(t, m, "y"); run(cmd) != (tea.QuitMsg{}) {
		t.Fatal("y should quit")
	}
}

func TestFilterServices(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	m = feed(m, fixture())
	m, _ = press(t, m, "2", "/")
	m = typeText(t, m, "mysql")
	m, _ = press(t, m, "enter")
	screen := ansi.Strip(m.Render())
	if !strings.Contains(screen, "db-1") || strings.Contains(screen, "exim") {
		t.Fatalf("filter not applied:\n%s", screen)
	}
}

func TestTimelineFollowsUnlessScrolledBack(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	m = feed(m, fixture())
	var events []client.Event
	for i := 0; i < 50; i++ {
		events = append(events, client.JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: uint64(100 + i), Incident: "INC-42", At: protocol.At(t0.Add(10*time.Minute + time.Duration(i)*time.Second)), Kind: "note", Text: fmt.Sprintf("note %d", i)}})
	}
	m = feed(m, client.Batch{Events: events})
	m, _ = press(t, m, "3")
	if !strings.Contains(ansi.Strip(m.Render()), "note 49") {
		t.Fatal("not following the newest")
	}
	m, _ = press(t, m, "k", "k", "k")
	m = feed(m, client.Batch{Events: []client.Event{client.JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: 999, Incident: "INC-42", At: protocol.At(t0.Add(11 * time.Minute)), Kind: "note", Text: "newest"}}}})
	screen := ansi.Strip(m.Render())
	if strings.Contains(screen, "newest") || !strings.Contains(screen, "1 new") {
		t.Fatalf("scrolled-back reader should see a count, not a jump:\n%s", screen)
	}
	m, _ = press(t, m, "G")
	if !strings.Contains(ansi.Strip(m.Render()), "newest") {
		t.Fatal("G should follow again")
	}
}

func TestBellOncePerEvent(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	m = feed(m, fixture())
	m.st.Apply(StateBatch(client.Batch{Services: []client.ServiceState{{Feed: "hub", Service: protocol.Service{Host: "web-1", Service: "httpd", State: "down"}, Changes: []time.Time{t0}}}}), t0)
	msg := run(m.alerts())
	if raw, ok := msg.(tea.RawMsg); !ok || raw.Msg != "\a" {
		t.Fatalf("no bell: %#v", msg)
	}
	if m.alerts() != nil {
		t.Fatal("rang twice for one event")
	}
}

func TestHostileStringsNeverReachTheTerminal(t *testing.T) {
	m, _ := newModel(t, 160, 48)
	evil := "web\x1b]0;owned\x07\x1b]52;c;cm0gLXJmIC8=\x07\x1b[2J"
	m = feed(m, client.Batch{
		Loads:    []client.HostLoad{{Feed: "hub", Received: t0, Load: protocol.Load{Host: evil, At: protocol.At(t0), Interval: protocol.Duration(time.Second), CPUs: 1}}},
		Services: []client.ServiceState{{Feed: "hub", Service: protocol.Service{Host: evil, Service: evil, State: "down", Detail: evil}}},
		Events:   []client.Event{client.JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: 1, At: protocol.At(t0), Actor: evil, Kind: "note", Text: evil}}},
	})
	screen := m.Render()
	for _, bad := range []string{"\x1b]", "\a", "\x1b[2J"} {
		if strings.Contains(screen, bad) {
			t.Fatalf("feed escape %q reached the screen", bad)
		}
	}
}

func TestTooSmall(t *testing.T) {
	m, _ := newModel(t, 50, 10)
	if !strings.Contains(ansi.Strip(m.Render()), "terminal too small") {
		t.Fatal("no too-small message")
	}
}

func TestDraftCopyUsesOSC52(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	m = feed(m, fixture())
	m, _ = press(t, m, "4", "j", "v")
	if m.top() == nil || !strings.Contains(ansi.Strip(m.Render()), "Draft: status-page") || !strings.Contains(ansi.Strip(m.Render()), "Service disruption") {
		t.Fatal("draft not shown")
	}
	_, cmd := press(t, m, "c")
	msg := run(cmd)
	// SetClipboard's message is the program's own; it writes OSC 52.
	if fmt.Sprintf("%T", msg) != "tea.setClipboardMsg" || !strings.Contains(fmt.Sprint(msg), "Service disruption") {
		t.Fatalf("copy produced %T %v", msg, msg)
	}
	dir := t.TempDir()
	m.opts.DraftDir = dir
	m, _ = press(t, m, "esc")
	_, cmd = press(t, m, "w")
	if saved, ok := run(cmd).(savedMsg); !ok || saved.err != nil {
		t.Fatalf("write: %+v", saved)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "vigil-draft-INC-42-status-page.txt")); err != nil || !strings.Contains(string(data), "Service disruption") {
		t.Fatalf("draft file: %v", err)
	}
}

func TestGoldenViews(t *testing.T) {
	for _, size := range []struct{ w, h int }{{80, 24}, {160, 48}} {
		for _, pane := range []string{"1", "4"} {
			name := fmt.Sprintf("%dx%d-pane%s", size.w, size.h, pane)
			t.Run(name, func(t *testing.T) {
				m, _ := newModel(t, size.w, size.h)
				m.opts.UTC = true
				m = feed(m, fixture())
				m, _ = press(t, m, pane)
				screen := ansi.Strip(m.Render())
				lines := strings.Split(screen, "\n")
				if len(lines) != size.h {
					t.Fatalf("%d lines, want %d", len(lines), size.h)
				}
				for i, l := range lines {
					if w := ansi.StringWidth(l); w != size.w {
						t.Fatalf("line %d is %d wide, want %d: %q", i, w, size.w, l)
					}
				}
				golden.RequireEqual(t, screen)
			})
		}
	}
}

var _ = state.KindGap

func TestJumpToATime(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	m.opts.UTC = true
	m = feed(m, fixture())
	var events []client.Event
	for i := 0; i < 100; i++ {
		events = append(events, client.JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: uint64(100 + i), Incident: "INC-42", At: protocol.At(t0.Add(time.Duration(i) * time.Minute)), Kind: "note", Text: fmt.Sprintf("note %d", i)}})
	}
	m = feed(m, client.Batch{Events: events})
	m, _ = press(t, m, "t")
	m = typeText(t, m, "02:50")
	m, _ = press(t, m, "enter")
	screen := ansi.Strip(m.Render())
	lines := strings.Split(screen, "\n")
	if !strings.HasPrefix(strings.TrimLeft(lines[3], " ›"), "02:50:00Z") || m.tl.follow {
		t.Fatalf("jump did not show 02:50 first:\n%s", screen)
	}
}

func TestLateStepShowsHowLate(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	b := fixture()
	inc := b.Events[0].(client.JournalEvent).Msg.(*protocol.IncidentMsg)
	carol := "carol"
	inc.Incident.Checklist[1].DoneAt, inc.Incident.Checklist[1].DoneBy = protocol.TimePtr(t0.Add(22*time.Minute)), &carol
	m = feed(m, b)
	m, _ = press(t, m, "4")
	if !strings.Contains(ansi.Strip(m.Render()), "carol (07:00 late)") {
		t.Fatalf("lateness not shown:\n%s", ansi.Strip(m.Render()))
	}
}

func TestDeclareDefaultsToOutage(t *testing.T) {
	rec := &recorder{store: client.NewStore()}
	m := New(context.Background(), rec, Options{Actor: "a", Kinds: []string{"db-failover", "maintenance", "outage", "security"}, Now: func() time.Time { return t0 }})
	m, _ = press(t, m, "D")
	m = typeText(t, m, "x")
	_, cmd := press(t, m, "enter")
	run(cmd)
	if got := rec.last(t); got.Kind != "outage" {
		t.Fatalf("default runbook = %q", got.Kind)
	}
}

// bubbletea calls View on a copy of the model; the panes' caches must
// survive that, or every frame redraws everything.
func TestPaneCachesSurviveViewOnACopy(t *testing.T) {
	m, _ := newModel(t, 160, 48)
	m = feed(m, fixture())
	_ = m.View() // as the program does: a value receiver
	if m.load.cache.draws != 1 || m.grid.out == "" {
		t.Fatalf("View on a copy left no cached drawing behind (draws %d)", m.load.cache.draws)
	}
	_ = m.View()
	if m.load.cache.draws != 1 || m.chrome.header.draws != 1 {
		t.Fatalf("an unchanged frame was drawn again (pane draws %d, header draws %d)", m.load.cache.draws, m.chrome.header.draws)
	}
}
