package history

import (
	"testing"
	"time"
)

// A minute in progress lives in memory: another reader of the directory
// (a restarted hub) sees it only once it ended, but this store's own reads
// always see it.
func TestMinuteInProgressIsWrittenWhenItEnds(t *testing.T) {
	if fineSlots%minuteSlots != 0 {
		t.Fatal("the fine ring does not hold whole minutes: a minute's slots would wrap")
	}
	dir := t.TempDir()
	clock := now.Truncate(time.Minute)
	start := clock
	s, err := Open(dir, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	for i, l1 := range []float64{1, 3, 2} {
		if err := s.Write(load("a", clock.Add(time.Duration(i)*time.Second), l1, 40)); err != nil {
			t.Fatal(err)
		}
	}
	other := func() []got {
		o, err := Open(dir, func() time.Time { return clock })
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		return samples(t, o, "a", start.Add(-time.Minute), start.Add(5*time.Minute))
	}
	if g := other(); len(g) != 0 {
		t.Fatalf("a slot in progress is on disk already: %v", g)
	}
	if hs := s.Hosts(); len(hs) != 1 || hs[0] != "a" {
		t.Fatalf("Hosts = %v, want the host whose slot is in progress", hs)
	}

	// The minute's next slot stays in memory too; the next minute's first
	// sample writes the minute, each slot's peak.
	if err := s.Write(load("a", clock.Add(FineStep), 0.5, 41)); err != nil {
		t.Fatal(err)
	}
	if g := other(); len(g) != 0 {
		t.Fatalf("a minute in progress is on disk already: %v", g)
	}
	if err := s.Write(load("a", clock.Add(time.Minute), 0.25, 41)); err != nil {
		t.Fatal(err)
	}
	if g := other(); len(g) != 2 || g[0].load1 != 3 || !g[0].at.Equal(clock) || g[1].load1 != 0.5 {
		t.Fatalf("after the minute ended another reader sees %v, want its slots' peaks 3 at %v and 0.5", g, clock)
	}

	// A host that goes quiet: the store's tick writes its last minute.
	clock = clock.Add(2 * time.Minute)
	s.writeEnded()
	if g := other(); len(g) != 3 || g[2].load1 != 0.25 {
		t.Fatalf("a quiet host's last minute: another reader sees %v", g)
	}
	if len(s.current) != 0 {
		t.Fatalf("ended slots are kept in memory: %d", len(s.current))
	}

	// The store's own reads see a slot in progress, and Close writes it.
	if err := s.Write(load("a", clock, 7, 42)); err != nil {
		t.Fatal(err)
	}
	if g := samples(t, s, "a", clock, clock); len(g) != 1 || g[0].load1 != 7 {
		t.Fatalf("own read of the slot in progress: %v", g)
	}
	if err := s.Write(load("a", clock.Add(time.Second), 9, 42)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if g := other(); len(g) != 4 || g[3].load1 != 9 {
		t.Fatalf("after Close another reader sees %v, want the last slot's peak 9", g)
	}
}

// A restarted hub merges its first slot with what its predecessor wrote
// of the same slot: the peak survives the restart.
func TestSlotMergesWithThePredecessorsWrite(t *testing.T) {
	dir := t.TempDir()
	clock := now.Truncate(time.Minute)
	first, err := Open(dir, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	first.Write(load("a", clock, 5, 60))
	first.Close()
	second, err := Open(dir, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.Write(load("a", clock.Add(3*time.Second), 2, 70))
	g := samples(t, second, "a", clock.Add(-time.Minute), clock.Add(time.Minute))
	if len(g) != 1 || g[0].load1 != 5 || g[0].mem != 70 {
		t.Fatalf("got %v, want one slot with the peak load 5 and memory 70", g)
	}
}

// A slot of the minute without a sample keeps what the disk holds there:
// the fine ring's slot of the same place a lap (48 hours) ago.
func TestMinuteKeepsTheLapBeforeWhereItHasNoSample(t *testing.T) {
	dir := t.TempDir()
	clock := now.Truncate(time.Minute)
	s, err := Open(dir, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	lapAgo := clock.Add(-FineKeep)
	s.Write(load("a", lapAgo.Add(20*time.Second), 4, 50))
	s.Write(load("a", clock, 1, 10)) // this minute, its first slot only
	s.Close()
	if g := samples(t, s, "a", lapAgo, lapAgo.Add(time.Minute)); len(g) != 1 || g[0].load1 != 4 {
		t.Fatalf("the lap before, where this minute has no sample: %v", g)
	}
	if g := samples(t, s, "a", clock, clock.Add(time.Minute)); len(g) != 1 || g[0].load1 != 1 {
		t.Fatalf("this minute: %v", g)
	}
}
