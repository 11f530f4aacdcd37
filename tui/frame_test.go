package tui

import (
	"testing"
	"time"
)

// Load frames land just after the clock's tick, whenever the first
// sample arrived, so load and countdowns change in one renderer frame.
func TestUntilFrameEndsJustAfterTheTick(t *testing.T) {
	base := time.Date(2026, 11, 22, 2, 14, 0, 0, time.UTC)
	tests := []struct {
		name string
		now  time.Time
		gap  time.Duration
		want time.Duration
	}{
		{"on the tick: the next one", base, time.Second, time.Second + afterTick},
		{"mid-second", base.Add(400 * time.Millisecond), time.Second, 600*time.Millisecond + afterTick},
		{"just before the tick", base.Add(999 * time.Millisecond), time.Second, time.Millisecond + afterTick},
		{"a longer gap", base.Add(1500 * time.Millisecond), 2 * time.Second, 500*time.Millisecond + afterTick},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := untilFrame(tt.now, tt.gap); got != tt.want {
				t.Fatalf("untilFrame = %s, want %s", got, tt.want)
			}
		})
	}
}
