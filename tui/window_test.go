package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A window declared "+48h" for "+1h" starts on a second; E shows it as
// one hour, and an edit that does not touch the end leaves it exactly.
func TestEditKeepsAWindowExactly(t *testing.T) {
	m, rec := newModel(t, 100, 30)
	m = withHello(m, hubComponents)
	now := t0.Add(10*time.Minute + 12*time.Second + 345*time.Millisecond)
	start := now.Add(48 * time.Hour)
	inc, _, _ := incident.Defaults().Declare("INC-43", protocol.Command{Actor: "alice", Title: "Kernel upgrade", Severity: "SEV3",
		Kind: "maintenance", ScheduledStart: protocol.TimePtr(start)}, now)
	inc.ScheduledEnd = protocol.TimePtr(start.Add(time.Hour))
	inc.Components = []string{"mail"}
	m = feed(m, client.Batch{Events: []client.Event{client.JournalEvent{Feed: "hub", Msg: &protocol.IncidentMsg{Seq: 1, Incident: inc}}}})
	m, _ = press(t, m, "E")
	if screen := ansi.Strip(m.Render()); !strings.Contains(screen, "(1h00m)") {
		t.Fatalf("the edit form does not show the one-hour window:\n%s", screen)
	}
	m, _ = press(t, m, "ctrl+u")
	m = typeText(t, m, "Kernel upgrade, second try")
	_, cmd := press(t, m, "enter")
	run(cmd)
	if got := rec.last(t); got.ScheduledEnd != nil || got.Title != "Kernel upgrade, second try" {
		t.Fatalf("an edit of the title sent %+v", got)
	}
}

func TestFormValueReadsBackExactly(t *testing.T) {
	base := time.Date(2026, 12, 8, 5, 31, 0, 0, time.UTC)
	for _, end := range []time.Time{base, base.Add(12 * time.Second), base.Add(12*time.Second + 345*time.Millisecond), base.Add(time.Nanosecond)} {
		got, err := parseEnd(formValue(end), base.Add(-time.Hour))
		if err != nil || !got.Equal(end) {
			t.Errorf("formValue(%v) = %q reads back as %v, %v", end, formValue(end), got, err)
		}
	}
	if got := formValue(base); got != "2026-12-08 05:31" {
		t.Errorf("a time on the minute is written %q", got)
	}
}

// The declare form's example date lies ahead of now, whatever now is.
func TestDeclareExampleIsAhead(t *testing.T) {
	for _, now := range []time.Time{time.Date(2026, 12, 6, 23, 59, 0, 0, time.UTC), time.Date(2026, 12, 31, 1, 0, 0, 0, time.UTC), time.Date(2027, 2, 22, 3, 0, 0, 0, time.FixedZone("X", -11*3600))} {
		if ex := exampleStart(now); !ex.After(now.Add(6*24*time.Hour)) || ex.Hour() != 2 {
			t.Errorf("example for %v is %v", now, ex)
		}
	}
	m, _ := newModel(t, 100, 30)
	m, _ = press(t, m, "D", "tab", "tab", "right", "tab")
	want := exampleStart(t0.Add(10 * time.Minute)).Format(formTime)
	if screen := ansi.Strip(m.Render()); !strings.Contains(screen, want) {
		t.Fatalf("the declare form does not offer %s as an example:\n%s", want, screen)
	}
}
