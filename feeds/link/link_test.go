package link

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestBackoffFullJitterBounds(t *testing.T) {
	lo, hi := 500*time.Millisecond, 30*time.Second
	tests := []struct {
		attempt int
		ceiling time.Duration
	}{
		{0, 500 * time.Millisecond}, {1, time.Second}, {3, 4 * time.Second}, {6, 30 * time.Second}, {40, 30 * time.Second},
	}
	for _, tt := range tests {
		var most time.Duration
		for range 500 {
			d := Backoff(tt.attempt, lo, hi)
			if d < 0 || d > tt.ceiling {
				t.Fatalf("attempt %d: %v outside [0, %v]", tt.attempt, d, tt.ceiling)
			}
			most = max(most, d)
		}
		if most < tt.ceiling/2 {
			t.Fatalf("attempt %d: 500 tries never passed %v: not spread up to the ceiling %v", tt.attempt, most, tt.ceiling)
		}
	}
	if Backoff(3, 0, 0) != 0 {
		t.Fatal("a zero ceiling waits nothing")
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, "connection closed"},
		{&websocket.CloseError{Code: websocket.CloseTryAgainLater, Text: "too slow"}, "closed by hub (1013): too slow"},
		{&websocket.CloseError{Code: websocket.CloseMessageTooBig}, "closed by hub (1009): frame larger than 1 MiB"},
		{&websocket.CloseError{Code: websocket.ClosePolicyViolation}, "closed by hub (1008): no reason given"},
		{&websocket.CloseError{Code: websocket.CloseAbnormalClosure, Text: "unexpected EOF"}, "connection lost: unexpected EOF"},
		{context.DeadlineExceeded, "timed out: context deadline exceeded"},
		{errors.New("dial: refused"), "dial: refused"},
	}
	for _, tt := range tests {
		if got := Describe(tt.err, "hub"); got != tt.want {
			t.Errorf("Describe(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestDeadAfterIsThreePings(t *testing.T) {
	if DefaultTimings().DeadAfter != 3*PingPeriod || PingPeriod != 15*time.Second {
		t.Fatal("PROTOCOL.md: ping at least every 15 s; dead after 45 s of silence")
	}
}
