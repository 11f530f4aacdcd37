package state

import (
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/level"
)

// A feed that never connected has missed nothing live: no gap until it
// has been synced once and then lost.
func TestNoGapForAFeedNeverConnected(t *testing.T) {
	s := New(level.Defaults(), 100)
	s.Apply(Batch{Events: []Event{
		StatusEvent{Feed: "feed1", State: FeedDisconnected, Reason: "dial: connection refused", At: t0},
		StatusEvent{Feed: "feed1", State: FeedRefused, Reason: "HTTP 401", At: t0.Add(time.Minute)},
	}}, t0)
	if g, open := s.Gaps()["feed1"]; open {
		t.Fatalf("gap since %v for a feed never connected", g)
	}
	s.Apply(Batch{Events: []Event{StatusEvent{Feed: "feed1", State: FeedSynced, At: t0.Add(2 * time.Minute)}}}, t0)
	if s.Timeline.Len("") != 0 {
		t.Fatalf("a first sync wrote %d gap entries", s.Timeline.Len(""))
	}
	s.Apply(Batch{Events: []Event{StatusEvent{Feed: "feed1", State: FeedDisconnected, Reason: "connection lost", At: t0.Add(3 * time.Minute)}}}, t0)
	if _, open := s.Gaps()["feed1"]; !open {
		t.Fatal("no gap once a synced feed is lost")
	}
}
