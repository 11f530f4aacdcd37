package tui

import (
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// The tick lands just after the clock's second turns, whenever it was
// asked for: load and countdowns change in one frame.
func TestUntilFrameEndsJustAfterTheTick(t *testing.T) {
	base := time.Date(2026, 11, 22, 2, 14, 0, 0, time.UTC)
	tests := []struct {
		name string
		now  time.Time
		gap  time.Duration
		want time.Duration
	}{
		{"on the second: its tick is still ahead", base, time.Second, afterTick},
		{"between the second and its tick", base.Add(afterTick / 2), time.Second, afterTick / 2},
		{"on the tick: the next one", base.Add(afterTick), time.Second, time.Second},
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

// A second passing redraws the load pane only where the clock shows in
// it: while no host is stale, not at all.
func TestLoadPaneRedrawsOnTheClockOnlyWithStaleHosts(t *testing.T) {
	now := t0
	m := New(context.Background(), &recorder{store: client.NewStore()}, Options{Actor: "alice", Now: func() time.Time { return now }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	m = next.(Model)
	var b client.Batch
	for _, h := range []string{"web-1", "web-2"} {
		b.Loads = append(b.Loads, client.HostLoad{Feed: "hub", Received: t0, Load: protocol.Load{Host: h, At: protocol.At(t0), Interval: protocol.Duration(time.Hour), Load1: 0.5, CPUs: 4}})
	}
	m = feed(m, b)
	tick := func(d time.Duration) int {
		now = now.Add(d)
		next, _ := m.Update(batchMsg{})
		m = next.(Model)
		m.Render()
		return m.load.cache.draws
	}
	steps := []struct {
		name  string
		after time.Duration
		draws int
	}{
		{"first frame", 0, 1},
		{"a second later, nothing stale", time.Second, 1},
		{"a minute later, nothing stale", time.Minute, 1},
		{"three hours later: both stale", 3 * time.Hour, 2},
		{"a second later: their stale age moved", time.Second, 3},
	}
	for _, st := range steps {
		if got := tick(st.after); got != st.draws {
			t.Fatalf("%s: load pane drawn %d times, want %d", st.name, got, st.draws)
		}
	}
}
