package history

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// onDisk is what another store of dir (a restarted hub's) reads of host
// at now: what this one wrote.
func onDisk(t *testing.T, dir string, now time.Time, host string, from, to time.Time) []got {
	t.Helper()
	o, err := Open(dir, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	return samples(t, o, host, from, to)
}

// Slots in progress live in memory until the host's turn in the minute:
// another reader of the directory (a restarted hub) sees them only then,
// but this store's own reads always see them.
func TestChangesAreWrittenAtTheHostsTurn(t *testing.T) {
	if fineSlots%minuteSlots != 0 {
		t.Fatal("the fine ring does not hold whole minutes: a minute's slots would wrap")
	}
	dir := t.TempDir()
	clock := now.Truncate(time.Minute)
	start := clock
	turn := nextTurn(start, turnIn("a"))
	if turn.Sub(start) < 2*FineStep || turn.Sub(start) > time.Minute-FineStep {
		t.Fatalf("host a's turn is %v into the minute; the test wants one between 20 and 50 s", turn.Sub(start))
	}
	s, err := Open(dir, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	write := func(at time.Time, l1 float64) {
		t.Helper()
		clock = at
		if err := s.Write(load("a", at, l1, 40)); err != nil {
			t.Fatal(err)
		}
	}
	other := func() []got { return onDisk(t, dir, clock, "a", start.Add(-time.Minute), start.Add(5*time.Minute)) }
	for i, l1 := range []float64{1, 3, 2} {
		write(start.Add(time.Duration(i)*time.Second), l1)
	}
	if g := other(); len(g) != 0 {
		t.Fatalf("a slot in progress is on disk before the host's turn: %v", g)
	}
	if hs := s.Hosts(); len(hs) != 1 || hs[0] != "a" {
		t.Fatalf("Hosts = %v, want the host whose slot is in progress", hs)
	}

	// The minute's next slots stay in memory too, until the turn.
	write(start.Add(FineStep), 0.5)
	write(turn.Add(-time.Second), 0.25)
	if g := other(); len(g) != 0 {
		t.Fatalf("written before the host's turn at %v: %v", turn, g)
	}
	write(turn, 0.25)
	if g := other(); len(g) < 3 || g[0].load1 != 3 || !g[0].at.Equal(start) || g[1].load1 != 0.5 || g[2].load1 != 0.25 {
		t.Fatalf("at the host's turn another reader sees %v, want its slots' peaks 3 at %v, 0.5 and 0.25", g, start)
	}
	written := len(other())

	// A host that goes quiet: the store's tick writes it at its turn and
	// then forgets it.
	write(turn.Add(FineStep), 6)
	clock = turn.Add(time.Minute)
	s.writeEnded()
	if g := other(); len(g) != written+1 || g[len(g)-1].load1 != 6 {
		t.Fatalf("a quiet host's last sample at its next turn: another reader sees %v", g)
	}
	if len(s.current) != 0 {
		t.Fatalf("a quiet host with nothing to write is kept in memory: %d", len(s.current))
	}

	// The store's own reads see a slot in progress, and Close writes it.
	write(clock, 7)
	if g := samples(t, s, "a", clock.Truncate(FineStep), clock); len(g) != 1 || g[0].load1 != 7 {
		t.Fatalf("own read of the slot in progress: %v", g)
	}
	write(clock.Add(time.Second), 9)
	s.Close()
	if g := other(); g[len(g)-1].load1 != 9 {
		t.Fatalf("after Close another reader sees %v, want the last slot's peak 9", g)
	}
}

func TestNextTurn(t *testing.T) {
	m := time.Date(2026, 12, 7, 2, 13, 0, 0, time.UTC)
	for _, c := range []struct {
		now  time.Time
		turn time.Duration
		want time.Time
	}{
		{m, 20 * time.Second, m.Add(20 * time.Second)},
		{m.Add(19 * time.Second), 20 * time.Second, m.Add(20 * time.Second)},
		{m.Add(20 * time.Second), 20 * time.Second, m.Add(80 * time.Second)},
		{m.Add(21 * time.Second), 20 * time.Second, m.Add(80 * time.Second)},
		{m, 0, m.Add(time.Minute)},
		{m.Add(59 * time.Second), 0, m.Add(time.Minute)},
		{m.Add(59*time.Second + 999*time.Millisecond), 59*time.Second + 999*time.Millisecond, m.Add(119*time.Second + 999*time.Millisecond)},
	} {
		if got := nextTurn(c.now, c.turn); !got.Equal(c.want) {
			t.Errorf("nextTurn(%v, %v) = %v, want %v", c.now.Format("15:04:05.000"), c.turn, got.Format("15:04:05.000"), c.want.Format("15:04:05.000"))
		}
	}
}

// A fleet reporting every second writes its hosts spread over the
// minute, not all in the second a minute ends: that burst is what the
// kernel would write out at once, with the journal's fsync behind it.
func TestAFleetsWritesSpreadOverTheMinute(t *testing.T) {
	const hosts = 1200
	dir := t.TempDir()
	clock := now.Truncate(time.Minute)
	s, err := Open(dir, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names := make([]string, hosts)
	for h := range names {
		names[h] = fmt.Sprintf("web-%04d.example.net", h)
	}
	var perSecond []int
	for sec := 0; sec < 180; sec++ {
		clock = clock.Truncate(time.Second).Add(time.Second)
		before := s.blockWrites
		for _, h := range names {
			if err := s.Write(load(h, clock, float64(sec%7), 40)); err != nil {
				t.Fatal(err)
			}
		}
		perSecond = append(perSecond, int(s.blockWrites-before))
	}
	// From the second minute on, each second writes about a sixtieth of
	// the fleet (20 hosts here); a minute's end would write all 1,200.
	most, total := 0, 0
	for _, n := range perSecond[60:] {
		most, total = max(most, n), total+n
	}
	if most > hosts/10 {
		t.Errorf("one second wrote %d minutes of %d hosts: the writes are not spread (per second: %v)", most, hosts, perSecond)
	}
	if total < 2*hosts {
		t.Errorf("two minutes wrote %d minutes of %d hosts: some hosts were not written at their turn", total, hosts)
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

// A sample older than the two minutes a host has in memory (an agent's
// late report) goes to disk at once, merged with what is there; a host
// whose samples skip minutes writes the minute it pushes out.
func TestLateAndSkippingSamplesAreWritten(t *testing.T) {
	dir := t.TempDir()
	clock := now.Truncate(time.Minute)
	s, err := Open(dir, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other := func(from, to time.Time) []got { return onDisk(t, dir, clock, "a", from, to) }
	for _, c := range []struct {
		at time.Duration
		l1 float64
	}{{0, 1}, {time.Minute, 2}, {5 * time.Minute, 3}} {
		if err := s.Write(load("a", clock.Add(c.at), c.l1, 40)); err != nil {
			t.Fatal(err)
		}
	}
	// Minute 0 was pushed out by minute 5 and written; 1 and 5 wait.
	if g := other(clock, clock.Add(10*time.Minute)); len(g) != 1 || g[0].load1 != 1 {
		t.Fatalf("the pushed-out minute: another reader sees %v", g)
	}
	if err := s.Write(load("a", clock.Add(3*time.Minute), 4, 40)); err != nil {
		t.Fatal(err)
	}
	if g := other(clock.Add(3*time.Minute), clock.Add(3*time.Minute)); len(g) != 1 || g[0].load1 != 4 {
		t.Fatalf("a late sample: another reader sees %v", g)
	}
}

// A host whose turn's write failed is written again at its next turn,
// even when it has gone quiet and no sample sets a turn for it.
func TestAFailedWriteIsTriedAgainAtTheNextTurn(t *testing.T) {
	dir := t.TempDir()
	start := now.Truncate(time.Minute)
	clock := start
	s, err := Open(dir, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	blocker := filepath.Join(dir, Dir, fileName("q"))
	if err := os.Mkdir(blocker, 0o750); err != nil { // where the file goes: the write fails
		t.Fatal(err)
	}
	s.Write(load("q", clock, 4, 40))
	clock = clock.Add(2 * time.Minute)
	s.writeEnded()
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	for range 7 {
		clock = clock.Add(FineStep)
		s.writeEnded()
	}
	if g := onDisk(t, dir, clock, "q", start.Add(-time.Minute), clock); len(g) != 1 || g[0].load1 != 4 {
		t.Fatalf("a quiet host's failed write, a turn later: another reader sees %v", g)
	}
}
