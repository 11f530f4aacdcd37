package level

import "testing"

func TestFromHysteresis(t *testing.T) {
	th := Defaults()
	tests := []struct {
		name  string
		prev  Level
		load1 float64
		cpus  int
		want  Level
	}{
		{"ok stays ok", OK, 0.5, 1, OK},
		{"rises to warn at the threshold", OK, 0.7, 1, Warn},
		{"rises straight to crit", OK, 4, 4, Crit},
		{"crit holds just under crit", Crit, 0.95, 1, Crit},
		{"crit falls below hysteresis", Crit, 0.85, 1, Warn},
		{"warn holds just under warn", Warn, 0.65, 1, Warn},
		{"warn falls to ok", Warn, 0.6, 1, OK},
		{"crit falls to ok at once", Crit, 0.1, 1, OK},
		{"no cpus counts as one", OK, 1, 0, Crit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := th.From(tt.prev, tt.load1, tt.cpus); got != tt.want {
				t.Fatalf("From(%v, %v, %d) = %v, want %v", tt.prev, tt.load1, tt.cpus, got, tt.want)
			}
		})
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, l := range []Level{OK, Warn, Crit} {
		if got, ok := Parse(l.String()); !ok || got != l {
			t.Fatalf("Parse(%q) = %v, %v", l, got, ok)
		}
	}
	if _, ok := Parse("SEV9"); ok {
		t.Fatal("unknown level parsed")
	}
}
