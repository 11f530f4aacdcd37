package state

import (
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
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

// A note made offline at 02:17:00 and journaled after a tick of 02:17:10
// is marked as a late arrival with that time; alerts are not judged.
func TestLateArrivalIsMarked(t *testing.T) {
	s := New(level.Defaults(), 100)
	at := t0.Add(17 * time.Minute)
	entry := func(seq uint64, d time.Duration, kind, text string) Event {
		return JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: seq, Incident: "INC-1", At: protocol.At(at.Add(d)), Actor: "alice", Kind: kind, Text: text}}
	}
	s.Apply(Batch{Events: []Event{
		entry(1, 10*time.Second, protocol.EntryCheck, "ticked"),
		entry(2, 0, protocol.EntryNote, "offline note"),
		entry(3, 5*time.Second, protocol.EntryAlert, "an agent's clock"),
		entry(4, 20*time.Second, protocol.EntryNote, "live note"),
	}}, t0)
	for i := 0; i < s.Timeline.Len(""); i++ {
		e := s.Timeline.At("", i)
		late := !e.LateAfter.IsZero()
		if want := e.Text == "offline note"; late != want || late && !e.LateAfter.Equal(at.Add(10*time.Second)) {
			t.Errorf("%q: late after %v", e.Text, e.LateAfter)
		}
	}
}
