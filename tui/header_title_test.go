package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func headerOf(m Model) string { return ansi.Strip(strings.Split(m.Render(), "\n")[0]) }

// From 100 columns the header says what is happening and who leads it;
// the title is cut before it goes; DEMO is never dropped.
func TestHeaderNamesTheTitleAndTheCommander(t *testing.T) {
	long := "MySQL down on web-1, sites erroring for every customer of the shared cluster"
	cases := []struct {
		w         int
		want, not []string
	}{
		{80, []string{"DEMO", "INC-42"}, []string{"MySQL"}},
		{99, []string{"DEMO", "INC-42"}, []string{"MySQL"}},
		{100, []string{"DEMO", "INC-42", "MySQL down on", "…"}, nil},
		{200, []string{"DEMO", "INC-42 SEV2 investigating", long, "commander alice"}, nil},
	}
	for _, c := range cases {
		m, _ := newModel(t, c.w, 30)
		m.opts.Demo = true
		b := fixture()
		b.Events[0].(client.JournalEvent).Msg.(*protocol.IncidentMsg).Incident.Title = long
		m = feed(m, b)
		head := headerOf(m)
		if ansi.StringWidth(head) != c.w {
			t.Fatalf("%d: header is %d wide: %q", c.w, ansi.StringWidth(head), head)
		}
		for _, w := range c.want {
			if !strings.Contains(head, w) {
				t.Errorf("%d wide: header lacks %q: %q", c.w, w, head)
			}
		}
		for _, n := range c.not {
			if strings.Contains(head, n) {
				t.Errorf("%d wide: header has %q: %q", c.w, n, head)
			}
		}
	}
}

// A feed's incident without a severity still shows its title.
func TestHeaderTitleWithoutSeverity(t *testing.T) {
	m, _ := newModel(t, 160, 48)
	b := fixture()
	b.Events[0].(client.JournalEvent).Msg.(*protocol.IncidentMsg).Incident.Severity = ""
	m = feed(m, b)
	if head := headerOf(m); !strings.Contains(head, "INC-42 investigating") || !strings.Contains(head, "Mail down on web-3") {
		t.Fatalf("header %q", head)
	}
}

// A maintenance reads scheduled, in progress, completed: never
// investigating.
func TestHeaderMaintenanceStatus(t *testing.T) {
	now := t0.Add(10 * time.Minute)
	b := maintenanceFixture(now)
	inc := &b.Events[0].(client.JournalEvent).Msg.(*protocol.IncidentMsg).Incident
	start := inc.ScheduledStart.Time
	for _, c := range []struct {
		at       time.Time
		resolved bool
		want     string
	}{{now, false, "INC-43 SEV3 scheduled"}, {start.Add(time.Minute), false, "INC-43 SEV3 in progress"}, {start.Add(3 * time.Hour), true, "INC-43 SEV3 completed"}} {
		m, _ := newModel(t, 120, 30)
		in := inc.Clone()
		if c.resolved {
			in.Status, in.ResolvedAt = protocol.StatusResolved, protocol.TimePtr(start.Add(2*time.Hour))
		}
		m = feed(m, client.Batch{Events: []client.Event{client.JournalEvent{Feed: "hub", Msg: &protocol.IncidentMsg{Seq: 1, Incident: in}}}})
		m.now = c.at
		if head := headerOf(m); !strings.Contains(head, c.want) || strings.Contains(head, "investigating") {
			t.Errorf("at %v: header %q, want %q", c.at, head, c.want)
		}
	}
}

// A note made offline is shown in time order and marked as late, and the
// pane's title names the incident.
func TestTimelineMarksALateArrival(t *testing.T) {
	m, _ := newModel(t, 200, 60)
	b := fixture()
	b.Events[0].(client.JournalEvent).Msg.(*protocol.IncidentMsg).Incident.Severity = ""
	b.Events = append(b.Events, client.JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: 20, Incident: "INC-42", At: protocol.At(t0.Add(90 * time.Second)),
		Actor: "carol", Kind: protocol.EntryNote, Text: "written on the train"}})
	m = feed(m, b)
	m.opts.UTC = true
	m, _ = press(t, m, "3")
	screen := ansi.Strip(m.Render())
	if !screenHas(screen, "written on the train ⟲ late: reached the hub after 02:17:00Z") {
		t.Fatalf("the late note is not marked:\n%s", screen)
	}
	if late, tick := strings.Index(screen, "written on the train"), strings.Index(screen, "ticked: Acknowledge"); late < 0 || tick < 0 || late > tick {
		t.Fatalf("the note of 02:15:30 is not shown before the tick of 02:16:00:\n%s", screen)
	}
	if !screenHas(screen, "Timeline INC-42", "· Mail down on web-3") {
		t.Fatalf("the timeline's title does not name the incident:\n%s", screen)
	}
}

func screenHas(screen string, parts ...string) bool {
	for _, line := range strings.Split(screen, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}
