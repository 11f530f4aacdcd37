package incident

import (
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func TestShownStatus(t *testing.T) {
	mt, _, _ := Defaults().Declare("M", protocol.Command{Title: "Kernel upgrade", Severity: "SEV4", Kind: "maintenance",
		ScheduledStart: protocol.TimePtr(t0.Add(48 * time.Hour)), ScheduledEnd: protocol.TimePtr(t0.Add(49 * time.Hour))}, t0)
	done := mt.Clone()
	done.Status, done.ResolvedAt = protocol.StatusResolved, protocol.TimePtr(t0.Add(49*time.Hour))
	outage := declare(t, "outage")
	tests := []struct {
		name string
		inc  protocol.Incident
		now  time.Duration
		want string
	}{
		{"before its start", mt, time.Hour, "scheduled"},
		{"at its start", mt, 48 * time.Hour, "in progress"},
		{"an overrun", mt, 50 * time.Hour, "in progress"},
		{"resolved", done, 50 * time.Hour, "completed"},
		{"an outage", outage, time.Hour, protocol.StatusInvestigating},
	}
	for _, tt := range tests {
		if got := ShownStatus(&tt.inc, t0.Add(tt.now)); got != tt.want {
			t.Errorf("%s: ShownStatus = %q, want %q", tt.name, got, tt.want)
		}
	}
}
