package state

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// brute is an incident's timeline computed the slow way: every entry held,
// in order, that is its own or a fleet entry it shows.
func brute(t *Timeline, id string) []*Entry {
	var out []*Entry
	c, closed := t.cut[id]
	for _, e := range t.entries {
		if id == "" || e.Incident == id || e.Incident == "" && (!closed || e.key <= c) {
			out = append(out, e)
		}
	}
	return out
}

func checkViews(t *testing.T, tl *Timeline, ids []string) {
	t.Helper()
	if n := len(tl.fleet) + func() int {
		k := 0
		for _, keys := range tl.own {
			k += len(keys)
		}
		return k
	}(); n != tl.Total() {
		t.Fatalf("indexes hold %d keys for %d entries: an entry is indexed more than once", n, tl.Total())
	}
	for _, id := range ids {
		want := brute(tl, id)
		if tl.Len(id) != len(want) {
			t.Fatalf("%s: Len %d, want %d", id, tl.Len(id), len(want))
		}
		for i, w := range want {
			if got := tl.At(id, i); got != w {
				t.Fatalf("%s[%d] = %q, want %q", id, i, got.Text, w.Text)
			}
			if j := tl.IndexOf(id, w.key); j != i {
				t.Fatalf("%s: IndexOf(%q) = %d, want %d", id, w.Text, j, i)
			}
		}
	}
}

func TestTimelineViews(t *testing.T) {
	cases := []struct {
		name      string
		cap       int
		incidents int
		entries   int
		fleetPct  int
	}{
		{"one incident, fleet mostly", 10_000, 1, 2000, 90},
		{"many incidents", 10_000, 40, 3000, 50},
		{"no fleet entries", 10_000, 5, 500, 0},
		{"only fleet entries", 10_000, 5, 500, 100},
		{"evicting", 700, 20, 3000, 70},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(c.incidents)))
			tl := NewTimeline(c.cap)
			var ids []string
			for i := 0; i < c.incidents; i++ {
				ids = append(ids, fmt.Sprintf("INC-%d", i))
			}
			for i := 0; i < c.entries; i++ {
				inc := ""
				if r.IntN(100) >= c.fleetPct {
					inc = ids[r.IntN(len(ids))]
				}
				tl.Add(Entry{Feed: "hub", Seq: uint64(i + 1), Incident: inc, Text: fmt.Sprint(i)})
				if r.IntN(200) == 0 {
					id := ids[r.IntN(len(ids))]
					tl.SetClosed(id, r.IntN(3) > 0)
				}
			}
			if tl.Total() > c.cap {
				t.Fatalf("holds %d, cap %d", tl.Total(), c.cap)
			}
			checkViews(t, tl, append(ids, ""))
		})
	}
}

// TestFleetEntryHeldOnce: the measured fault was each fleet entry added to
// every incident's index; held once, the indexes are as big as the
// entries whatever the number of incidents.
func TestFleetEntryHeldOnce(t *testing.T) {
	for _, incidents := range []int{1, 100, 300} {
		s := New(level.Defaults(), 0)
		var evs []Event
		for i := 0; i < incidents; i++ {
			evs = append(evs, JournalEvent{Feed: "hub", Msg: &protocol.IncidentMsg{Seq: uint64(i + 1), Incident: protocol.Incident{ID: fmt.Sprintf("INC-%d", i), Title: "t", Status: "investigating", OpenedAt: protocol.At(t0)}}})
		}
		for i := 0; i < 5000; i++ {
			evs = append(evs, JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: uint64(incidents + i + 1), At: protocol.At(t0), Kind: "alert", Text: "x"}})
		}
		s.Apply(Batch{Events: evs}, t0)
		tl := s.Timeline
		if len(tl.fleet) != 5000 || len(tl.own) != 0 {
			t.Fatalf("%d incidents: fleet index %d, incident indexes %d; want 5000 and none", incidents, len(tl.fleet), len(tl.own))
		}
		if tl.Len("INC-0") != 5000 || tl.Len(fmt.Sprintf("INC-%d", incidents-1)) != 5000 {
			t.Fatalf("%d incidents: an open incident shows %d fleet entries, want 5000", incidents, tl.Len("INC-0"))
		}
	}
}

func TestCapBoundsTheWholeTimeline(t *testing.T) {
	tl := NewTimeline(1000)
	for i := 0; i < 300; i++ {
		tl.Add(Entry{Feed: "hub", Seq: uint64(i + 1), Incident: fmt.Sprintf("INC-%d", i), Text: "declared"})
	}
	for i := 0; i < 100_000; i++ {
		feed := "hub"
		if i%4 == 0 {
			feed = "edge"
		}
		tl.Add(Entry{Feed: feed, Seq: uint64(301 + i), Text: "fleet"})
	}
	if tl.Total() > 1000 || len(tl.fleet) > 1000 || len(tl.own) != 0 {
		t.Fatalf("holds %d entries, fleet index %d, %d incident indexes; want at most 1000, 1000 and none (their entries were the oldest)", tl.Total(), len(tl.fleet), len(tl.own))
	}
	if tl.Dropped != int64(100_300-tl.Total()) || tl.Evicted["hub"]+tl.Evicted["edge"] != tl.Dropped || tl.Evicted["edge"] == 0 {
		t.Fatalf("dropped %d, evicted %v, held %d", tl.Dropped, tl.Evicted, tl.Total())
	}
	checkViews(t, tl, []string{"", "INC-0", "INC-299"})
}

func TestMergeFallsIntoPlace(t *testing.T) {
	tl := NewTimeline(0)
	tl.Add(Entry{Feed: "b", Seq: 7, Text: "b7"})
	for _, seq := range []uint64{10, 11, 50, 51} {
		tl.Add(Entry{Feed: "a", Seq: seq, Incident: "INC-1", Text: fmt.Sprint("a", seq)})
	}
	tl.Add(Entry{Feed: "b", Seq: 8, Text: "b8"})
	tl.SetClosed("INC-1", true)
	tl.Add(Entry{Feed: "a", Seq: 52, Text: "a52"})
	shifts := tl.Shifts
	page := []Entry{{Seq: 30, Text: "a30"}, {Seq: 3, Text: "a3"}, {Seq: 11, Text: "dup"}, {Seq: 30, Text: "a30 again"}, {Seq: 40, Incident: "INC-1", Text: "a40"}}
	if n := tl.Merge("a", page); n != 3 {
		t.Fatalf("merged %d, want 3 (a duplicate of a held seq and of one in the page skipped)", n)
	}
	if tl.Shifts == shifts {
		t.Fatal("a merge before the end must move Shifts")
	}
	var got []string
	for i := 0; i < tl.Len(""); i++ {
		got = append(got, tl.At("", i).Text)
	}
	// Each goes right before the held entry of its feed with the next seq.
	if want := "b7 a3 a10 a11 a30 a40 a50 a51 b8 a52"; strings.Join(got, " ") != want {
		t.Fatalf("order %q, want %q", strings.Join(got, " "), want)
	}
	checkViews(t, tl, []string{"", "INC-1"})
	if tl.Oldest("a", "INC-1") != 10 || tl.Oldest("a", "") != 3 || tl.OldestOfFeed("b") != 7 {
		t.Fatalf("oldest: INC-1 %d, a's fleet %d, b %d", tl.Oldest("a", "INC-1"), tl.Oldest("a", ""), tl.OldestOfFeed("b"))
	}
	// A live entry older than what is held falls into place too.
	tl.Add(Entry{Feed: "a", Seq: 2, Text: "a2"})
	if tl.At("", 1).Text != "a2" {
		t.Fatalf("first = %q", tl.At("", 0).Text)
	}
}

func TestMergeIntoOneGapRepeatedlyRenumbers(t *testing.T) {
	tl := NewTimeline(0)
	tl.Add(Entry{Feed: "a", Seq: 100_000, Text: "first"})
	tl.Add(Entry{Feed: "b", Seq: 1, Text: "b"}) // another feed's entry: a's pages go between
	tl.Add(Entry{Feed: "a", Seq: 100_001, Text: "last"})
	tl.SetClosed("INC-9", true) // cut at "last"
	next := uint64(100_000)
	for page := 0; page < 60; page++ {
		var p []Entry
		for k := 0; k < 200; k++ {
			next--
			p = append(p, Entry{Seq: next, Text: "old"})
		}
		if n := tl.Merge("a", p); n != 200 {
			t.Fatalf("page %d merged %d", page, n)
		}
	}
	for i := 1; i < tl.Total(); i++ {
		if tl.entries[i-1].key >= tl.entries[i].key {
			t.Fatalf("keys out of order at %d", i)
		}
	}
	if tl.At("", tl.Total()-1).Text != "last" || tl.Len("INC-9") != tl.Total() {
		t.Fatalf("last %q; INC-9 shows %d of %d", tl.At("", tl.Total()-1).Text, tl.Len("INC-9"), tl.Total())
	}
	checkViews(t, tl, []string{"", "INC-9"})
}

var t1 = t0.Add(time.Hour)

func entryMsg(seq uint64, incident, text string) *protocol.Entry {
	return &protocol.Entry{Seq: seq, Incident: incident, At: protocol.At(t0), Actor: "web-3", Kind: "alert", Text: text}
}

func incidentMsg(seq uint64, id, status string) *protocol.IncidentMsg {
	return &protocol.IncidentMsg{Seq: seq, Incident: protocol.Incident{ID: id, Title: "Mail down", Status: status, OpenedAt: protocol.At(t0)}}
}

// compacted is a dashboard that got a compacted replay: INC-1 open (its
// early entries 10, 11), INC-2 resolved long ago (no entries), fleet
// entries from the window (seq 1000 on).
func compacted() *State {
	s := New(level.Defaults(), 0)
	evs := []Event{
		JournalEvent{Feed: "hub", Msg: entryMsg(10, "INC-1", "declared")},
		JournalEvent{Feed: "hub", Msg: entryMsg(11, "INC-1", "note")},
		JournalEvent{Feed: "hub", Msg: incidentMsg(12, "INC-1", "investigating")},
		JournalEvent{Feed: "hub", Msg: incidentMsg(500, "INC-2", "resolved")},
	}
	for seq := uint64(1000); seq < 1010; seq++ {
		evs = append(evs, JournalEvent{Feed: "hub", Msg: entryMsg(seq, "", "window")})
	}
	s.Apply(Batch{Events: evs, Health: []Health{{Feed: "hub", State: FeedSynced, Journal: "j-1", Compacted: true, Oldest: 1}}}, t0)
	return s
}

func TestHistoryMergesSortedDedupedSanitised(t *testing.T) {
	s := compacted()
	reqs := s.AskOlder("", t0)
	if len(reqs) != 1 || reqs[0].Before != 1000 || reqs[0].Incident != "" || reqs[0].Limit != HistoryPageSize {
		t.Fatalf("requests %+v; want one for the whole timeline before 1000 (the oldest fleet entry: INC-1's 10 and 11 sit across a hole)", reqs)
	}
	s.Asked(reqs[0], "h-1", nil, t0)
	if !s.LoadingOlder("") {
		t.Fatal("not loading while asked")
	}
	v := s.TimelineVersion
	s.Apply(Batch{History: []HistoryPage{{Feed: "hub", Journal: "j-1", ID: "h-1", More: true, Messages: []protocol.Message{
		entryMsg(999, "", "exim \x1b]0;pwned\x07down\x1b[2J"),
		incidentMsg(800, "INC-2", "investigating"), // older than the newest held: ignored
		entryMsg(1000, "", "window"),               // held: once
		entryMsg(900, "INC-2", "resolved it"),
		entryMsg(850, "", "earlier"),
		entryMsg(850, "", "earlier, again"),
	}}}}, t1)
	if s.LoadingOlder("") || s.TimelineVersion == v {
		t.Fatal("the answer must end the wait and redraw the timeline")
	}
	var got []string
	for i := 0; i < s.Timeline.Len(""); i++ {
		e := s.Timeline.At("", i)
		got = append(got, fmt.Sprint(e.Seq))
		if strings.ContainsAny(e.Text, "\x1b\x07") {
			t.Fatalf("unsanitised: %q", e.Text)
		}
	}
	if want := "10 11 850 900 999 1000 1001 1002 1003 1004 1005 1006 1007 1008 1009"; strings.Join(got, " ") != want {
		t.Fatalf("seqs %s, want %s", strings.Join(got, " "), want)
	}
	if e := s.Timeline.At("", 4); e.Text != "exim down" {
		t.Fatalf("text %q", e.Text)
	}
	if in := s.Incident("INC-2"); in.Status != protocol.StatusResolved {
		t.Fatalf("an older incident frame replaced the newest: %s", in.Status)
	}
	if s.Timeline.Len("INC-2") != 1 { // its entry: the fleet entries came after it was resolved (500)
		t.Fatalf("INC-2 shows %d", s.Timeline.Len("INC-2"))
	}
	// The next page ends below the lowest seq the last one reached.
	reqs = s.AskOlder("", t1)
	if len(reqs) != 1 || reqs[0].Before != 800 {
		t.Fatalf("next requests %+v; want before 800", reqs)
	}
}

func TestAskingOlder(t *testing.T) {
	answer := func(s *State, id string, more bool, msgs ...protocol.Message) {
		s.Apply(Batch{History: []HistoryPage{{Feed: "hub", Journal: "j-1", ID: id, More: more, Messages: msgs}}}, t1)
	}
	t.Run("one request while waiting", func(t *testing.T) {
		s := compacted()
		if n := len(s.AskOlder("INC-2", t0)); n != 1 {
			t.Fatalf("%d requests", n)
		}
		if n := len(s.AskOlder("INC-2", t0)) + len(s.AskOlder("INC-2", t0)); n != 0 {
			t.Fatalf("%d more requests while the first waits", n)
		}
	})
	t.Run("an incident with nothing held asks for its newest", func(t *testing.T) {
		s := compacted()
		reqs := s.AskOlder("INC-2", t0)
		if len(reqs) != 1 || reqs[0].Before != 0 || reqs[0].Incident != "INC-2" || reqs[0].Feed != "hub" {
			t.Fatalf("requests %+v", reqs)
		}
		s.Asked(reqs[0], "h-1", nil, t0)
		answer(s, "h-1", true, entryMsg(450, "INC-2", "declared"), entryMsg(499, "INC-2", "resolved"))
		reqs = s.AskOlder("INC-2", t1)
		if len(reqs) != 1 || reqs[0].Before != 450 {
			t.Fatalf("next %+v; want before 450", reqs)
		}
		s.Asked(reqs[0], "h-2", nil, t1)
		answer(s, "h-2", false)
		if reqs = s.AskOlder("INC-2", t1); len(reqs) != 0 {
			t.Fatalf("asked again after more: false: %+v", reqs)
		}
	})
	t.Run("a whole replay has nothing older", func(t *testing.T) {
		s := compacted()
		s.Apply(Batch{Health: []Health{{Feed: "hub", State: FeedSynced, Journal: "j-1"}}}, t0)
		if reqs := s.AskOlder("", t0); len(reqs) != 0 {
			t.Fatalf("requests %+v", reqs)
		}
	})
	t.Run("the answer may come before its id", func(t *testing.T) {
		s := compacted()
		reqs := s.AskOlder("INC-1", t0)
		answer(s, "h-9", false, entryMsg(5, "INC-1", "older"))
		s.Asked(reqs[0], "h-9", nil, t0)
		if s.LoadingOlder("INC-1") || len(s.AskOlder("INC-1", t1)) != 0 || !s.Timeline.Holds("hub", 5) {
			t.Fatal("an early answer was not matched to its request")
		}
	})
	t.Run("unanswered requests expire; a disconnect drops them", func(t *testing.T) {
		s := compacted()
		s.AskOlder("", t0)
		s.Tick(t0.Add(historyTimeout + time.Second))
		if s.LoadingOlder("") || !s.Notice.Error {
			t.Fatal("not expired")
		}
		reqs := s.AskOlder("", t1)
		s.Apply(Batch{Events: []Event{StatusEvent{Feed: "hub", State: FeedDisconnected, At: t1}}}, t1)
		if s.LoadingOlder("") || len(reqs) != 1 {
			t.Fatal("a request survived the disconnect")
		}
	})
	t.Run("a refused request stops loading, says why, and may be asked again", func(t *testing.T) {
		s := compacted()
		reqs := s.AskOlder("INC-2", t0)
		s.Asked(reqs[0], "h-1", nil, t0)
		s.Apply(Batch{History: []HistoryPage{{Feed: "hub", Journal: "j-1", ID: "h-1", Error: "unavailable: the journal could not be read\x1b[2J"}}}, t1)
		if s.LoadingOlder("INC-2") || !s.Notice.Error || !strings.Contains(s.Notice.Text, "could not be read") || strings.Contains(s.Notice.Text, "\x1b") {
			t.Fatalf("loading %v, notice %+v", s.LoadingOlder("INC-2"), s.Notice)
		}
		if again := s.AskOlder("INC-2", t1); len(again) != 1 || again[0].Before != reqs[0].Before {
			t.Fatalf("a refusal is not the end of history: asked %+v", again)
		}
	})
	t.Run("a failed send asks nothing and says why", func(t *testing.T) {
		s := compacted()
		reqs := s.AskOlder("", t0)
		s.Asked(reqs[0], "", fmt.Errorf("not connected"), t0)
		if s.LoadingOlder("") || !strings.Contains(s.Notice.Text, "not connected") {
			t.Fatalf("loading %v notice %q", s.LoadingOlder(""), s.Notice.Text)
		}
	})
	t.Run("a page of a replaced journal is dropped", func(t *testing.T) {
		s := compacted()
		s.Apply(Batch{History: []HistoryPage{{Feed: "hub", Journal: "j-0", ID: "h-1", Messages: []protocol.Message{entryMsg(3, "", "old journal")}}}}, t0)
		if s.Timeline.Holds("hub", 3) {
			t.Fatal("merged a page of another journal")
		}
	})
	t.Run("a full timeline asks no more", func(t *testing.T) {
		s := New(level.Defaults(), HistoryPageSize)
		s.Apply(Batch{Health: []Health{{Feed: "hub", Compacted: true}}, Events: []Event{JournalEvent{Feed: "hub", Msg: entryMsg(1000, "", "x")}}}, t0)
		if reqs := s.AskOlder("", t0); len(reqs) != 0 {
			t.Fatalf("requests %+v", reqs)
		}
	})
	t.Run("evicted entries can be paged back", func(t *testing.T) {
		s := New(level.Defaults(), 10_000)
		var evs []Event
		for seq := uint64(1); seq <= 10_001; seq++ {
			evs = append(evs, JournalEvent{Feed: "hub", Msg: entryMsg(seq, "", "x")})
		}
		s.Apply(Batch{Health: []Health{{Feed: "hub", State: FeedSynced}}, Events: evs}, t0)
		oldest := s.Timeline.At("", 0).Seq
		reqs := s.AskOlder("", t0)
		if len(reqs) != 1 || reqs[0].Before != oldest || slices.Contains([]uint64{0, 1}, oldest) {
			t.Fatalf("oldest %d, requests %+v", oldest, reqs)
		}
	})
}

// FuzzTimeline drives the timeline with live entries, pages of history
// (any seqs, duplicates, other feeds), closings and a small cap, and
// checks that every view agrees with the slow way and each feed's
// entries stay in seq order, held once.
func FuzzTimeline(f *testing.F) {
	f.Add([]byte{0, 5, 1, 3, 2, 7, 0, 9, 1, 1, 3, 2})
	f.Add([]byte{1, 200, 1, 100, 1, 150, 0, 255, 2, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		tl := NewTimeline(50)
		ids := []string{"", "INC-1", "INC-2"}
		feeds := []string{"a", "b"}
		next := map[string]uint64{"a": 1000, "b": 1000}
		for i := 0; i+1 < len(ops) && i < 400; i += 2 {
			op, arg := ops[i]%4, ops[i+1]
			feed := feeds[arg%2]
			inc := ids[int(arg/2)%3]
			switch op {
			case 0: // live
				next[feed]++
				tl.Add(Entry{Feed: feed, Seq: next[feed], Incident: inc, Text: fmt.Sprint(feed, next[feed])})
			case 1: // a page of older entries
				if tl.Room(8) {
					var page []Entry
					for k := 0; k < 8; k++ {
						seq := uint64(arg)*4 + uint64(k*int(arg%5)) + 1
						page = append(page, Entry{Seq: seq, Incident: ids[k%3], Text: fmt.Sprint(feed, seq)})
					}
					tl.Merge(feed, page)
				}
			case 2:
				tl.SetClosed(inc, arg%3 != 0)
			case 3:
				tl.Add(Entry{Feed: feed, Incident: inc, Kind: KindGap, Text: "gap"})
			}
		}
		if tl.Total() > 50+8*50 {
			t.Fatalf("holds %d", tl.Total())
		}
		checkViews(t, tl, ids)
		last := map[string]uint64{}
		for i := 0; i < tl.Total(); i++ {
			e := tl.At("", i)
			if i > 0 && tl.At("", i-1).key >= e.key {
				t.Fatalf("keys out of order at %d", i)
			}
			if e.Seq == 0 {
				continue
			}
			if e.Seq <= last[e.Feed] {
				t.Fatalf("feed %s: seq %d after %d", e.Feed, e.Seq, last[e.Feed])
			}
			last[e.Feed] = e.Seq
		}
	})
}

func TestKeysStartLowAgainBeforeTheyOverflow(t *testing.T) {
	tl := NewTimeline(10)
	tl.Add(Entry{Feed: "a", Seq: 1, Text: "1"})
	tl.entries[0].key = math.MaxInt64/2 + 1
	tl.reindex()
	tl.SetClosed("INC-1", true)
	tl.Add(Entry{Feed: "a", Seq: 2, Text: "2"})
	if k := tl.At("", 1).key; k <= tl.At("", 0).key || k > 2*spacing {
		t.Fatalf("keys %d, %d", tl.At("", 0).key, k)
	}
	if tl.Len("INC-1") != 1 {
		t.Fatalf("INC-1 shows %d, want the one entry before it was resolved", tl.Len("INC-1"))
	}
}
