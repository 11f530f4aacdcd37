package client

import (
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func TestStaleAge(t *testing.T) {
	hub := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	load := func(ago, every time.Duration) *protocol.Load {
		return &protocol.Load{Host: "db-1", At: protocol.At(hub.Add(-ago)), Interval: protocol.Duration(every)}
	}
	tests := []struct {
		name string
		l    *protocol.Load
		want time.Duration
	}{
		{"live", load(2*time.Second, 5*time.Second), 0},
		{"just within 3 intervals", load(15*time.Second, 5*time.Second), 0},
		{"silent since before a restart", load(10*time.Minute, 5*time.Second), 10 * time.Minute},
		{"no interval: 5s", load(16*time.Second, 0), 16 * time.Second},
		{"slow host, not yet stale", load(2*time.Minute, time.Minute), 0},
		{"ahead of the hub (skew)", load(-time.Minute, 5*time.Second), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := staleAge(hub, tt.l); got != tt.want {
				t.Fatalf("staleAge = %s, want %s", got, tt.want)
			}
		})
	}
}
