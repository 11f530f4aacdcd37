package history

import (
	"testing"
	"time"
)

// A slot in progress lives in memory: another reader of the directory (a
// restarted hub) sees it only once it ended, but this store's own reads
// always see it.
func TestSlotInProgressIsWrittenWhenItEnds(t *testing.T) {
	dir := t.TempDir()
	clock := now.Truncate(FineStep)
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
		return samples(t, o, "a", clock.Add(-time.Minute), clock.Add(time.Minute))
	}
	if g := other(); len(g) != 0 {
		t.Fatalf("a slot in progress is on disk already: %v", g)
	}
	if hs := s.Hosts(); len(hs) != 1 || hs[0] != "a" {
		t.Fatalf("Hosts = %v, want the host whose slot is in progress", hs)
	}

	// The next slot's first sample writes the ended one, its peak.
	if err := s.Write(load("a", clock.Add(FineStep), 0.5, 41)); err != nil {
		t.Fatal(err)
	}
	if g := other(); len(g) != 1 || g[0].load1 != 3 || !g[0].at.Equal(clock) {
		t.Fatalf("after the slot ended another reader sees %v, want its peak 3 at %v", g, clock)
	}

	// A host that goes quiet: the store's tick writes its last slot.
	clock = clock.Add(2 * FineStep)
	s.writeEnded()
	if g := other(); len(g) != 2 || g[1].load1 != 0.5 {
		t.Fatalf("a quiet host's last slot: another reader sees %v", g)
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
	if g := other(); len(g) != 3 || g[2].load1 != 9 {
		t.Fatalf("after Close another reader sees %v, want the last slot's peak 9", g)
	}
}

// A restarted hub merges its first slot with what its predecessor wrote
// of the same slot: the peak survives the restart.
func TestSlotMergesWithThePredecessorsWrite(t *testing.T) {
	dir := t.TempDir()
	clock := now.Truncate(FineStep)
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
