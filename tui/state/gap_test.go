package state

import (
	"reflect"
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

// The late note is shown in time order, before the tick it was written
// before; an older page of history still falls into place below both,
// and the feed's seqs are all held.
func TestLateArrivalTakesItsPlaceInTime(t *testing.T) {
	s := New(level.Defaults(), 100)
	at := t0.Add(17 * time.Minute)
	entry := func(seq uint64, d time.Duration, kind, text string) *protocol.Entry {
		return &protocol.Entry{Seq: seq, Incident: "INC-1", At: protocol.At(at.Add(d)), Actor: "alice", Kind: kind, Text: text}
	}
	s.Apply(Batch{Events: []Event{
		JournalEvent{Feed: "hub", Msg: entry(10, -time.Minute, protocol.EntryNote, "before")},
		JournalEvent{Feed: "hub", Msg: entry(11, 10*time.Second, protocol.EntryCheck, "ticked")},
		JournalEvent{Feed: "hub", Msg: entry(12, 0, protocol.EntryNote, "offline note")},
		JournalEvent{Feed: "hub", Msg: entry(13, 20*time.Second, protocol.EntryNote, "live note")},
	}}, t0)
	texts := func() []string {
		var out []string
		for i := 0; i < s.Timeline.Len("INC-1"); i++ {
			out = append(out, s.Timeline.At("INC-1", i).Text)
		}
		return out
	}
	if got, want := texts(), []string{"before", "ticked", "offline note", "live note"}; reflect.DeepEqual(got, want) {
		t.Fatalf("journal order kept: %q", got)
	}
	if got, want := texts(), []string{"before", "offline note", "ticked", "live note"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("timeline %q, want %q", got, want)
	}
	if added := s.Timeline.Merge("hub", []Entry{{Seq: 9, Incident: "INC-1", At: at.Add(-2 * time.Minute), Kind: protocol.EntryNote, Text: "older"}}); added != 1 {
		t.Fatalf("a page of history merged %d", added)
	}
	if got, want := texts(), []string{"older", "before", "offline note", "ticked", "live note"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after a page: %q, want %q", got, want)
	}
	for seq := uint64(9); seq <= 13; seq++ {
		if !s.Timeline.Holds("hub", seq) {
			t.Errorf("seq %d not held", seq)
		}
	}
}
