package incident

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func maintenanceAt(start, end time.Time) protocol.Incident {
	b := Defaults()
	inc, _, ref := b.Declare("INC-7", protocol.Command{Actor: "alice", Title: "Move web-3 to the new rack", Severity: "SEV3", Kind: "maintenance", ScheduledStart: protocol.TimePtr(start)}, start.Add(-10*24*time.Hour))
	if ref != nil {
		panic(ref)
	}
	inc.ScheduledEnd = protocol.TimePtr(end)
	return inc
}

func TestAddOverrunStep(t *testing.T) {
	start := time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
	end := start.Add(2 * time.Hour)
	resolved := maintenanceAt(start, end)
	resolved.Status, resolved.ResolvedAt = protocol.StatusResolved, protocol.TimePtr(end.Add(-time.Minute))
	outage := maintenanceAt(start, end)
	outage.Kind = "outage"
	noEnd := maintenanceAt(start, end)
	noEnd.ScheduledEnd = nil
	tests := []struct {
		name string
		inc  protocol.Incident
		now  time.Time
		want bool
	}{
		{"in progress, before its end", maintenanceAt(start, end), end.Add(-time.Minute), false},
		{"at its end", maintenanceAt(start, end), end, false},
		{"past its end", maintenanceAt(start, end), end.Add(35 * time.Minute), true},
		{"resolved in time", resolved, end.Add(time.Hour), false},
		{"an outage has no announced end", outage, end.Add(time.Hour), false},
		{"a window without an end", noEnd, end.Add(time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(tc.inc.Checklist)
			next, e, ok := AddOverrunStep(tc.inc, tc.now)
			if ok != tc.want {
				t.Fatalf("ok = %v, want %v", ok, tc.want)
			}
			if len(tc.inc.Checklist) != before {
				t.Fatal("the incident passed in was modified")
			}
			if !ok {
				return
			}
			if !HasStep(&next, OverrunStepID) || len(next.Checklist) != before+1 {
				t.Fatalf("checklist %+v", next.Checklist)
			}
			st := StepStatus(&next, &next.Checklist[before], tc.now)
			if st.State != StepOverdue || !st.DueAt.Equal(end) {
				t.Errorf("step status %+v, want overdue since the announced end %s", st, end)
			}
			if e.Kind != protocol.EntrySystem || e.Incident != "INC-7" || !strings.Contains(e.Text, "maintenance still in progress past its announced end (2026-12-08T04:00:00.000Z): checklist gains overrun-notice") {
				t.Errorf("entry %+v", e)
			}
			if _, again, ok := AddOverrunStep(next, tc.now.Add(time.Hour)); ok {
				t.Errorf("added twice: %+v", again)
			}
			draft, ok, err := Draft(&next, &next.Checklist[before], DraftEnv{Zone: time.UTC, Now: tc.now, Support: "Questions: support@example.com"})
			if err != nil || !ok || !strings.Contains(draft, "The work is taking longer than announced (we said it would end by") || !strings.Contains(draft, "new estimate") {
				t.Errorf("draft %q %v %v", draft, ok, err)
			}
		})
	}
}
