package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// hubComponents is what a hub's hello offers: the channels and the public
// components, as the client passes them on.
var hubComponents = []protocol.Component{{ID: "mail", Name: "Mail"}, {ID: "web", Name: "Web hosting"}, {ID: "dns", Name: "DNS"}}

func withHello(m Model, comps []protocol.Component) Model {
	return feed(m, client.Batch{Health: []client.Health{{Feed: "hub", URL: "ws://127.0.0.1:7070/feed", State: client.Synced, Journal: "j-1",
		Channels: []string{"page", "customers", "ops-chat"}, Components: comps}}})
}

// maintenanceFixture is a maintenance declared with a window and a
// component, as the hub holds it, starting in 8 days.
func maintenanceFixture(now time.Time) client.Batch {
	start := now.Add(8 * 24 * time.Hour)
	inc, _, ref := incident.Defaults().Declare("INC-43", protocol.Command{Actor: "alice", Title: "Kernel upgrade on the mail cluster", Severity: "SEV3",
		Kind: "maintenance", ScheduledStart: protocol.TimePtr(start)}, now)
	if ref != nil {
		panic(ref)
	}
	inc.ScheduledEnd = protocol.TimePtr(start.Add(2 * time.Hour))
	inc.Components = []string{"mail"}
	return client.Batch{Events: []client.Event{client.JournalEvent{Feed: "hub", Msg: &protocol.IncidentMsg{Seq: 1, Incident: inc}}}}
}

func formErr(t *testing.T, m Model) string {
	t.Helper()
	f, ok := m.top().(*formDialog)
	if !ok {
		t.Fatalf("the form is not open:\n%s", ansi.Strip(m.Render()))
	}
	return f.err
}

func TestParseWindow(t *testing.T) {
	now := t0
	at := func(s string) time.Time { v, _ := time.Parse(formTime, s); return v }
	cases := []struct {
		name, start, end string
		wantStart        time.Time
		wantEnd          time.Time
		err              string
	}{
		{"a week ahead, two hours", "+168h", "+2h", now.Add(168 * time.Hour), now.Add(170 * time.Hour), ""},
		{"durations without +", "168h", "90m", now.Add(168 * time.Hour), now.Add(168*time.Hour + 90*time.Minute), ""},
		{"dates in UTC", "2026-11-29 02:00", "2026-11-29 04:00", at("2026-11-29 02:00"), at("2026-11-29 04:00"), ""},
		{"T and RFC 3339", "2026-11-29T02:00", "2026-11-29T04:30:00Z", at("2026-11-29 02:00"), at("2026-11-29 04:30"), ""},
		{"starting now", "+0m", "+1h", now, now.Add(time.Hour), ""},
		{"over midnight", "2026-11-29 23:00", "+3h", at("2026-11-29 23:00"), at("2026-11-30 02:00"), ""},
		{"no start", "", "+2h", time.Time{}, time.Time{}, "starts: when? +168h"},
		{"start unreadable", "tomorrow", "+2h", time.Time{}, time.Time{}, `starts: "tomorrow" is neither +DURATION`},
		{"start passed", "2026-11-20 02:00", "+2h", time.Time{}, time.Time{}, "starts: 2026-11-20 02:00 UTC is in the past"},
		{"start a minute ago is now", "-30s", "+1h", now.Add(-30 * time.Second), now.Add(30 * time.Minute), ""},
		{"no end", "+168h", "", time.Time{}, time.Time{}, "ends: when? +2h"},
		{"end unreadable", "+168h", "soon", time.Time{}, time.Time{}, `ends: "soon" is neither +DURATION`},
		{"end at the start", "+168h", "+0m", time.Time{}, time.Time{}, "is not after the start"},
		{"end before the start", "2026-11-29 04:00", "2026-11-29 02:00", time.Time{}, time.Time{}, "ends: 2026-11-29 02:00 UTC is not after the start, 2026-11-29 04:00 UTC"},
		{"negative length", "+168h", "+-1h", time.Time{}, time.Time{}, "is not after the start"},
		{"under a minute", "+168h", "+1ns", time.Time{}, time.Time{}, "ends: 1ns after the start; a window is at least a minute"},
		{"past the protocol's years", "9999-12-31 23:00", "+2h", time.Time{}, time.Time{}, "ends: 10000-01-01 01:00 is outside the years 0001-9999"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start, end, err := parseWindow(c.start, c.end, now)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one with %q", err, c.err)
				}
				return
			}
			if c.name == "start a minute ago is now" {
				c.wantEnd = now.Add(-30 * time.Second).Add(time.Hour)
			}
			if err != nil || !start.Equal(c.wantStart) || !end.Equal(c.wantEnd) {
				t.Fatalf("got %v – %v, %v; want %v – %v", start, end, err, c.wantStart, c.wantEnd)
			}
		})
	}
}

// Declaring maintenance asks for the window and the components; each
// mistake is named before anything is sent, and what is sent carries them.
func TestDeclareMaintenanceAsksForTheWindow(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = withHello(m, hubComponents)
	m, _ = press(t, m, "D")
	m = typeText(t, m, "Kernel upgrade on the mail cluster")
	m, _ = press(t, m, "tab", "tab", "right") // runbook → maintenance
	steps := []struct {
		keys []string
		text string
		want string
	}{
		{[]string{"enter"}, "", "starts: when?"},
		{[]string{"tab"}, "2026-11-20 02:00", "is in the past"},
		{[]string{"ctrl+u"}, "+168h", "ends: when?"},
		{[]string{"tab"}, "+0m", "is not after the start"},
		{[]string{"ctrl+u"}, "2026-11-29 05:00", "affects: tick the components the maintenance disrupts"},
	}
	for _, s := range steps {
		m, _ = press(t, m, s.keys...)
		m = typeText(t, m, s.text)
		m, _ = press(t, m, "enter")
		if err := formErr(t, m); !strings.Contains(err, s.want) || rec.Pending() != 0 {
			t.Fatalf("after %v %q: error %q (want %q), %d sent", s.keys, s.text, err, s.want, rec.Pending())
		}
		if screen := ansi.Strip(m.Render()); !strings.Contains(strings.Join(strings.Fields(screen), " "), s.want) {
			t.Fatalf("the error %q is not on the screen:\n%s", s.want, screen)
		}
	}
	// The window in words, before sending.
	if screen := ansi.Strip(m.Render()); !strings.Contains(screen, "window: Sun 29 Nov 02:24 – 05:00 UTC (2h36m), starts in 7d") {
		t.Fatalf("no window preview:\n%s", screen)
	}
	m, _ = press(t, m, "tab", "right", "space", "right", "space", "left", "space") // web, dns, not web
	m, cmd := press(t, m, "enter")
	run(cmd)
	got := rec.last(t)
	now := t0.Add(10 * time.Minute)
	if got.Op != protocol.OpDeclare || got.Kind != "maintenance" || got.Severity != "SEV2" ||
		got.ScheduledStart == nil || !got.ScheduledStart.Equal(now.Add(168*time.Hour)) ||
		got.ScheduledEnd == nil || !got.ScheduledEnd.Equal(time.Date(2026, 11, 29, 5, 0, 0, 0, time.UTC)) ||
		!slices.Equal(got.Components, []string{"dns"}) {
		t.Fatalf("declare sent %+v", got)
	}
	if m.top() != nil {
		t.Fatal("the form stayed open after sending")
	}
}

// An outage may name the components it affects; it has no window.
func TestDeclareOutageMayNameComponents(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = withHello(m, hubComponents)
	m, _ = press(t, m, "D")
	m = typeText(t, m, "Mail delayed")
	m, _ = press(t, m, "tab", "tab", "tab") // past severity and runbook: the window is hidden
	if f := m.top().(*formDialog); f.focus != declareComponents {
		t.Fatalf("tab went to field %d, not the components", f.focus)
	}
	m, cmd := press(t, m, "space", "enter")
	run(cmd)
	got := rec.last(t)
	if got.Kind != "outage" || got.ScheduledStart != nil || got.ScheduledEnd != nil || !slices.Equal(got.Components, []string{"mail"}) {
		t.Fatalf("declare sent %+v", got)
	}
	// And none at all is fine for an outage.
	m, _ = press(t, m, "D")
	m = typeText(t, m, "Something odd")
	_, cmd = press(t, m, "enter")
	run(cmd)
	if got := rec.last(t); got.Title != "Something odd" || got.Components != nil {
		t.Fatalf("declare sent %+v", got)
	}
}

// A hub that names no components: a maintenance needs only its window.
func TestDeclareMaintenanceWithoutComponentsOffered(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = withHello(m, nil)
	m, _ = press(t, m, "D")
	m = typeText(t, m, "Kernel upgrade")
	m, _ = press(t, m, "tab", "tab", "right", "tab")
	m = typeText(t, m, "+48h")
	m, _ = press(t, m, "tab")
	m = typeText(t, m, "+1h")
	if strings.Contains(ansi.Strip(m.Render()), "affects") {
		t.Fatal("a components field with nothing to tick")
	}
	_, cmd := press(t, m, "enter")
	run(cmd)
	if got := rec.last(t); got.ScheduledEnd == nil || got.Components != nil {
		t.Fatalf("declare sent %+v", got)
	}
}

// E changes the components and the end of the window; only what
// changed is sent, and a window cannot be made to end before it starts.
func TestEditChangesComponentsAndWindow(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = withHello(m, hubComponents)
	now := t0.Add(10 * time.Minute)
	m = feed(m, maintenanceFixture(now))
	start := now.Add(8 * 24 * time.Hour)
	m, _ = press(t, m, "E")
	if screen := ansi.Strip(m.Render()); !strings.Contains(screen, "[x] Mail  [ ] Web hosting") || !strings.Contains(screen, start.Add(2*time.Hour).Format(formTime)) {
		t.Fatalf("the edit form does not show the components and the end:\n%s", screen)
	}
	m, _ = press(t, m, "tab", "tab", "tab", "space") // untick Mail: none left
	m, _ = press(t, m, "enter")
	if err := formErr(t, m); !strings.Contains(err, "keep at least one component ticked") || rec.Pending() != 0 {
		t.Fatalf("error %q, %d sent", err, rec.Pending())
	}
	m, _ = press(t, m, "right", "space", "tab", "ctrl+u")
	m = typeText(t, m, "+0m")
	m, _ = press(t, m, "enter")
	if err := formErr(t, m); !strings.Contains(err, "is not after the start") || rec.Pending() != 0 {
		t.Fatalf("error %q, %d sent", err, rec.Pending())
	}
	m, _ = press(t, m, "ctrl+u")
	m = typeText(t, m, "+3h")
	m, cmd := press(t, m, "enter")
	run(cmd)
	got := rec.last(t)
	if got.Op != protocol.OpUpdate || got.Incident != "INC-43" || !slices.Equal(got.Components, []string{"web"}) ||
		got.ScheduledEnd == nil || !got.ScheduledEnd.Equal(start.Add(3*time.Hour)) || got.Title != "" || got.Severity != "" || got.Commander != "" {
		t.Fatalf("update sent %+v", got)
	}
	// Nothing changed: nothing sent.
	m, _ = press(t, m, "E")
	_, cmd = press(t, m, "enter")
	run(cmd)
	if rec.Pending() != 1 {
		t.Fatalf("an unchanged edit sent %+v", rec.last(t))
	}
}

// Drafts name the incident's public components, by the names the hub
// gave them, and the email's subject goes in the subject field.
func TestDraftsNamePublicComponents(t *testing.T) {
	m, _ := newModel(t, 80, 24)
	b := fixture()
	b.Events[0].(client.JournalEvent).Msg.(*protocol.IncidentMsg).Incident.Components = []string{"mail", "web"}
	b.Health[0].Components = hubComponents
	m = feed(m, b)
	m, _ = press(t, m, "4", "j", "j", "p") // email-customers
	d, ok := m.top().(*publishDialog)
	if !ok {
		t.Fatalf("no publish dialog:\n%s", ansi.Strip(m.Render()))
	}
	text := d.text.Value()
	if !strings.Contains(text, "  - Mail\n  - Web hosting") || strings.Contains(text, "some of our services") || strings.Contains(text, "web-3 exim") {
		t.Fatalf("the draft does not name the public components:\n%s", text)
	}
	if strings.HasPrefix(text, "Subject:") || d.subject.Value() != "Disruption to Mail and Web hosting" || strings.Contains(text, "Mail down") {
		t.Fatalf("subject %q, text starts %q", d.subject.Value(), text[:min(len(text), 30)])
	}
}

func TestSplitSubject(t *testing.T) {
	cases := []struct{ draft, subject, body string }{
		{"Subject: Mail delayed\n\nHello,\nwe…", "Mail delayed", "Hello,\nwe…"},
		{"Mail delayed\nWe are on it.", "", "Mail delayed\nWe are on it."},
		{"Subject:\n\nHello", "", "Subject:\n\nHello"},
		{"Subject: only", "only", ""},
	}
	for _, c := range cases {
		if s, b := splitSubject(c.draft); s != c.subject || b != c.body {
			t.Errorf("splitSubject(%q) = %q, %q; want %q, %q", c.draft, s, b, c.subject, c.body)
		}
	}
}

// The week-ahead and day-ahead announcements count down like any step
// and are published the same way; a draft's "(fill in)" never reaches a
// customer.
func TestMaintenanceAnnouncementsCountDownAndPublish(t *testing.T) {
	m, rec := newModel(t, 80, 24)
	m = withHello(m, hubComponents)
	now := t0.Add(10 * time.Minute)
	m = feed(m, maintenanceFixture(now))
	m, _ = press(t, m, "4")
	screen := ansi.Strip(m.Render())
	for _, want := range []string{"Announce the maintenance a week ahead    due in 24h00m", "Remind customers 24 hours ahead          due in 7d00h", "(maintenance Mon 30 Nov 02:24 – 04:24 UTC)"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("no %q:\n%s", want, screen)
		}
	}
	if head := strings.SplitN(screen, "\n", 2)[0]; !strings.Contains(head, "next: announce-week in 24h00m") {
		t.Fatalf("the header does not count down to the announcement: %q", head)
	}
	m, _ = press(t, m, "p")
	d := m.top().(*publishDialog)
	if !strings.Contains(d.text.Value(), "What will be disrupted: Mail.") || d.subject.Value() != "Scheduled maintenance on Mon 30 Nov 02:24 UTC" {
		t.Fatalf("announce-week draft:\n%s\nsubject %q", d.text.Value(), d.subject.Value())
	}
	m, _ = press(t, m, "ctrl+s")
	if !strings.Contains(d.err, `still asks to fill in…: "Why: (fill in: the reason, in your customers' words)."`) || rec.Pending() != 0 {
		t.Fatalf("a draft with (fill in) went on: %q", d.err)
	}
	if m = typeText(t, m, "."); d.err != "" {
		t.Fatalf("an edit left the error about the text before it: %q", d.err)
	}
	m, _ = press(t, m, "esc", "j", "p") // announce-day
	d = m.top().(*publishDialog)
	if d.item != "announce-day" || !strings.HasPrefix(d.text.Value(), "Reminder: scheduled maintenance tomorrow, Mon 30 Nov 02:24 UTC until 04:24.\nDisrupted: Mail.") {
		t.Fatalf("announce-day draft %q", d.text.Value())
	}
	m, cmd := press(t, m, "tab", "right", "space", "ctrl+s", "y")
	run(cmd)
	got := rec.last(t)
	if got.Op != protocol.OpPublish || got.Item != "announce-day" || got.Incident != "INC-43" || !slices.Equal(got.Channels, []string{"page", "customers"}) {
		t.Fatalf("publish sent %+v", got)
	}
}

// The declare and edit forms at both sizes, in the states a responder
// meets: empty, filled, refused.
func TestGoldenDeclareForms(t *testing.T) {
	cases := []struct {
		name string
		keys []string
		text []string // typed after keys[i], by index
	}{
		{"declare-outage-components", []string{"D", "tab", "tab", "tab", "space"}, []string{"Mail delayed"}},
		{"declare-maintenance", []string{"D", "tab", "tab", "right", "tab", "tab", "tab", "right", "space"}, []string{"Kernel upgrade", "", "", "", "+168h", "+2h"}},
		{"declare-maintenance-refused", []string{"D", "tab", "tab", "right", "tab", "tab", "enter"}, []string{"Kernel upgrade", "", "", "", "2026-11-29 02:00", "2026-11-29 01:00"}},
		{"edit-maintenance", []string{"E", "tab", "tab", "tab"}, nil},
	}
	for _, size := range []struct{ w, h int }{{80, 24}, {200, 60}} {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%dx%d-%s", size.w, size.h, c.name), func(t *testing.T) {
				m, _ := newModel(t, size.w, size.h)
				m.opts.UTC = true
				m = withHello(m, hubComponents)
				if strings.HasPrefix(c.name, "edit") {
					m = feed(m, maintenanceFixture(t0.Add(10*time.Minute)))
				}
				for i, k := range c.keys {
					m, _ = press(t, m, k)
					if i < len(c.text) {
						m = typeText(t, m, c.text[i])
					}
				}
				screen := ansi.Strip(m.Render())
				checkScreen(t, screen, size.w, size.h)
				golden.RequireEqual(t, screen)
			})
		}
	}
}

// FuzzParseWindow: whatever a responder types, the form never crashes,
// and a window it accepts is one the hub accepts: protocol times, the
// end after the start, the start not in the past.
func FuzzParseWindow(f *testing.F) {
	for _, seed := range [][2]string{{"+168h", "+2h"}, {"2026-11-29 02:00", "2026-11-29 04:00"}, {"9999-12-31 23:59", "+1m"},
		{"-1m", "+1h"}, {"+2562047h", "+1h"}, {"2026-11-29T02:00", "0001-01-01T00:00:00Z"}, {"", ""}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, startS, endS string) {
		start, end, err := parseWindow(startS, endS, t0)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "starts: ") && !strings.HasPrefix(err.Error(), "ends: ") {
				t.Fatalf("an error that names no field: %v", err)
			}
			return
		}
		if !protocol.At(end).After(protocol.At(start).Time) || start.Before(t0.Add(-startSlack)) {
			t.Fatalf("accepted %v – %v", start, end)
		}
		for _, v := range []time.Time{start, end} {
			if err := protocol.CheckTime("t", protocol.TimePtr(v)); err != nil || !protocol.TimePtr(v).Equal(protocol.At(v).Time) {
				t.Fatalf("accepted a time the protocol refuses: %v (%v)", v, err)
			}
		}
	})
}

// FuzzSplitSubject: the subject is one line, and nothing of the draft
// but the "Subject:" line and the blank lines after it is lost.
func FuzzSplitSubject(f *testing.F) {
	for _, seed := range []string{"Subject: Mail delayed\n\nHello", "Subject:\n", "Hello", "Subject: x\r\n\n\ny"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, draft string) {
		subject, body := splitSubject(draft)
		if strings.Contains(subject, "\n") {
			t.Fatalf("subject %q spans lines", subject)
		}
		if subject == "" && body != draft {
			t.Fatalf("no subject, yet the body %q is not the draft %q", body, draft)
		}
		if subject != "" && !strings.HasSuffix(draft, body) {
			t.Fatalf("the body %q is not the draft's end %q", body, draft)
		}
	})
}

// Many components wrap onto more lines and the form still fits 80x24,
// the cursor's option marked in words as well as in colour.
func TestDeclareManyComponentsFit(t *testing.T) {
	var comps []protocol.Component
	for i := 0; i < 14; i++ {
		comps = append(comps, protocol.Component{ID: fmt.Sprintf("c%d", i), Name: fmt.Sprintf("Customer service %d", i)})
	}
	m, rec := newModel(t, 80, 24)
	m = withHello(m, comps)
	m, _ = press(t, m, "D")
	m = typeText(t, m, "Kernel upgrade")
	m, _ = press(t, m, "tab", "tab", "right", "tab", "tab", "tab", "left", "space")
	screen := ansi.Strip(m.Render())
	checkScreen(t, screen, 80, 24)
	if !strings.Contains(screen, "›[x] Customer service 13") || !strings.Contains(screen, "[ ] Customer service 0") {
		t.Fatalf("the last component is not ticked under the cursor, or the first is missing:\n%s", screen)
	}
	if rec.Pending() != 0 {
		t.Fatal("sent without enter")
	}
}
