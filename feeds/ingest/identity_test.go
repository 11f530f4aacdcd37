package ingest

import "testing"

// One transition of one alert has one identity whichever Alertmanager
// sends it and however often; another transition has another.
func TestAlertIdentity(t *testing.T) {
	firing := Alert{Status: "firing", Fingerprint: "a1b2c3d4e5f60718", StartsAt: "2026-12-07T06:00:00.123Z", EndsAt: "0001-01-01T00:00:00Z"}
	again := firing
	again.EndsAt = "2026-12-07T07:00:00Z" // a repeat notification moves endsAt on
	resolved := firing
	resolved.Status, resolved.EndsAt = "resolved", "2026-12-07T06:05:00Z"
	refired := firing
	refired.StartsAt = "2026-12-07T06:10:00Z"
	other := firing
	other.Fingerprint = "ffffffffffffffff"
	tests := []struct {
		name string
		a, b Alert
		same bool
	}{
		{"repeat of a firing alert", firing, again, true},
		{"firing then resolved", firing, resolved, false},
		{"resolved then firing again", resolved, refired, false},
		{"firing again later", firing, refired, false},
		{"another alert", firing, other, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Identity() == tt.b.Identity(); got != tt.same {
				t.Fatalf("%s vs %s: same = %v, want %v", tt.a.Identity(), tt.b.Identity(), got, tt.same)
			}
		})
	}
	if id := firing.Identity(); id != "am-a1b2c3d4e5f60718-firing-1796623200123" {
		t.Fatalf("identity %q", id)
	}
}
