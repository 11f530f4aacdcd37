package server

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// take runs a whole turn at once, returning its frames in arrival order.
func (b *loadBox) take() [][]byte {
	b.startTurn()
	frames, _ := b.takeChunk(math.MaxInt)
	return frames
}

// apply runs box operations: "host=frame" puts a frame, "-host" takes
// the host's alone (holdHost), "+host" says that frame was written.
func (b *loadBox) apply(ops []string) {
	for _, op := range ops {
		if host, ok := strings.CutPrefix(op, "-"); ok {
			b.holdHost(host)
			continue
		}
		if host, ok := strings.CutPrefix(op, "+"); ok {
			b.release(host)
			continue
		}
		host, frame, _ := strings.Cut(op, "=")
		b.put(host, []byte(frame))
	}
}

func frameStrings(fs [][]byte) []string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f))
	}
	return out
}

func TestLoadBoxKeepsTheNewestPerHostInArrivalOrder(t *testing.T) {
	tests := []struct {
		name string
		ops  []string // "host=frame" puts a frame; "-host" takes the host's alone, "+host" says it was written
		want []string
	}{
		{"empty", nil, nil},
		{"one", []string{"a=a1"}, []string{"a1"}},
		{"newer replaces older in place", []string{"a=a1", "b=b1", "a=a2"}, []string{"a2", "b1"}},
		{"many hosts", []string{"c=c1", "a=a1", "b=b1", "c=c2"}, []string{"c2", "a1", "b1"}},
		{"a host taken alone is gone", []string{"a=a1", "b=b1", "-a"}, []string{"b1"}},
		{"taken alone and put again: held until the first is written", []string{"a=a1", "b=b1", "-a", "a=a2"}, []string{"b1"}},
		{"taken alone, written, put again: once, in its first place", []string{"a=a1", "b=b1", "-a", "+a", "a=a2"}, []string{"a2", "b1"}},
		{"every host taken alone", []string{"a=a1", "-a"}, nil},
		{"taking a host that waits for nothing", []string{"a=a1", "-b"}, []string{"a1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newLoadBox()
			b.apply(tt.ops)
			got := frameStrings(b.take())
			if !slices.Equal(got, tt.want) {
				t.Fatalf("take() = %q, want %q", got, tt.want)
			}
			if again := b.take(); again != nil {
				t.Fatalf("second take() = %q, want nothing", again)
			}
			if len(tt.ops) > 0 && len(b.ready) != 1 {
				t.Fatal("the box did not say it had become ready")
			}
		})
	}
}

// A turn sends what waited when it started, a chunk at a time; a host
// that reports during the turn is sent in it if it waits in it (its
// newest frame), else at the next turn.
func TestATurnGoesOutInChunks(t *testing.T) {
	tests := []struct {
		name   string
		before []string // "host=frame" puts before the turn starts
		during []string // after the first chunk; "-host" takes a host alone
		chunk  int
		want   [][]string // the turn's chunks
		next   []string   // the next turn, whole
	}{
		{"one chunk", []string{"a=a1", "b=b1"}, nil, 10, [][]string{{"a1", "b1"}}, nil},
		{"chunks in arrival order", []string{"a=a1", "b=b1", "c=c1", "d=d1", "e=e1"}, nil, 2, [][]string{{"a1", "b1"}, {"c1", "d1"}, {"e1"}}, nil},
		{"a newer sample of a host still in the turn goes in its place", []string{"a=a1", "b=b1", "c=c1"}, []string{"c=c2"}, 2, [][]string{{"a1", "b1"}, {"c2"}}, nil},
		{"a host already sent waits for the next turn", []string{"a=a1", "b=b1", "c=c1"}, []string{"a=a2"}, 2, [][]string{{"a1", "b1"}, {"c1"}}, []string{"a2"}},
		{"a new host waits for the next turn", []string{"a=a1", "b=b1", "c=c1"}, []string{"d=d1"}, 2, [][]string{{"a1", "b1"}, {"c1"}}, []string{"d1"}},
		{"a host taken alone mid-turn is not sent again", []string{"a=a1", "b=b1", "c=c1"}, []string{"-c"}, 2, [][]string{{"a1", "b1"}}, nil},
		{"a host taken alone, written, then newer: in the turn", []string{"a=a1", "b=b1", "c=c1"}, []string{"-c", "+c", "c=c2"}, 2, [][]string{{"a1", "b1"}, {"c2"}}, nil},
		{"a host sent, taken alone before, put again twice: once a turn", []string{"a=a1", "b=b1", "c=c1", "d=d1"}, []string{"a=a2", "c=c2"}, 1, [][]string{{"a1"}, {"b1"}, {"c2"}, {"d1"}}, []string{"a2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newLoadBox()
			b.apply(tt.before)
			b.startTurn()
			var got [][]string
			for i := 0; ; i++ {
				fs, more := b.takeChunk(tt.chunk)
				if len(fs) > 0 {
					got = append(got, frameStrings(fs))
				}
				if i == 0 {
					b.apply(tt.during)
				}
				if !more {
					break
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("turn sent %q, want %q", got, tt.want)
			}
			if b.waiting() != (len(tt.next) > 0) {
				t.Fatalf("waiting() = %v after the turn, want %v", b.waiting(), len(tt.next) > 0)
			}
			if next := frameStrings(b.take()); !slices.Equal(next, tt.next) {
				t.Fatalf("next turn %q, want %q", next, tt.next)
			}
		})
	}
}

// A host's load taken along by a journal message and not yet written
// holds back its newer loads, over as many turns as it takes: nobody
// reads an older load of a host after a newer one.
func TestAHeldHostsNewerLoadWaitsForTheHeldOne(t *testing.T) {
	b := newLoadBox()
	b.put("a", []byte("a1"))
	b.put("b", []byte("b1"))
	if got := string(b.holdHost("a")); got != "a1" {
		t.Fatalf("holdHost(a) = %q", got)
	}
	b.put("a", []byte("a2"))
	for turn := range 2 {
		got := b.take()
		if want := map[int]int{0: 1, 1: 0}[turn]; len(got) != want || (want == 1 && string(got[0]) != "b1") {
			t.Fatalf("turn %d sent %q while a1 was unwritten, want only b1 then nothing", turn, got)
		}
		if !b.waiting() {
			t.Fatalf("turn %d: a2 no longer waits", turn)
		}
	}
	b.release("a")
	if got := b.take(); len(got) != 1 || string(got[0]) != "a2" {
		t.Fatalf("after a1 was written the turn sent %q, want a2", got)
	}
}

func TestHoldHostReturnsTheNewestFrame(t *testing.T) {
	b := newLoadBox()
	b.put("a", []byte("a1"))
	b.put("a", []byte("a2"))
	if got := string(b.holdHost("a")); got != "a2" {
		t.Fatalf("holdHost(a) = %q, want a2", got)
	}
	if got := b.holdHost("a"); got != nil {
		t.Fatalf("holdHost(a) again = %q, want nothing", got)
	}
}

func TestUntilPaceIsTheNextTurnOnTheClock(t *testing.T) {
	base := time.Date(2026, 11, 22, 2, 13, 7, 0, time.UTC)
	ms := time.Millisecond
	tests := []struct {
		now          time.Time
		pace, offset time.Duration
		want         time.Duration
	}{
		{base, time.Second, 0, time.Second},
		{base.Add(300 * ms), time.Second, 0, 700 * ms},
		{base.Add(999 * ms), time.Second, 0, ms},
		{base.Add(100 * ms), 250 * ms, 0, 150 * ms},
		{base, time.Second, 400 * ms, 400 * ms},
		{base.Add(300 * ms), time.Second, 400 * ms, 100 * ms},
		{base.Add(400 * ms), time.Second, 400 * ms, time.Second},
		{base.Add(401 * ms), time.Second, 400 * ms, 999 * ms},
		{base.Add(900 * ms), time.Second, 400 * ms, 500 * ms},
		{base.Add(100 * ms), 250 * ms, 200 * ms, 100 * ms},
	}
	for _, tt := range tests {
		if got := untilPace(tt.now, tt.pace, tt.offset); got != tt.want {
			t.Errorf("untilPace(%s, %s, %s) = %s, want %s", tt.now.Format("05.000"), tt.pace, tt.offset, got, tt.want)
		}
	}
}

// One actor turns on one instant on every hub (its dashboard on many
// feeds wakes once); different watchers spread over the interval.
func TestPaceOffsetIsTheActorsAndSpreadsWatchers(t *testing.T) {
	const pace = time.Second
	if a, b := paceOffset("alice", pace), paceOffset("alice", pace); a != b {
		t.Fatalf("alice's turn moved: %s, then %s", a, b)
	}
	if got := paceOffset("alice", 0); got != 0 {
		t.Fatalf("offset without a pace = %s, want 0", got)
	}
	tenths := map[time.Duration]bool{}
	for i := range 100 {
		off := paceOffset(fmt.Sprintf("dash%d", i), pace)
		if off < 0 || off >= pace {
			t.Fatalf("dash%d's offset %s lies outside the pace", i, off)
		}
		tenths[off/(pace/10)] = true
	}
	if len(tenths) < 8 {
		t.Fatalf("100 watchers' turns fell in %d tenths of the second, want them spread", len(tenths))
	}
}

// readLoads reads frames until n loads have come or wait passes with
// none, returning the loads' hosts and load1 values.
func readLoads(w *wire, n int, wait time.Duration) []string {
	w.t.Helper()
	var got []string
	for len(got) < n {
		w.conn.SetReadDeadline(time.Now().Add(wait))
		_, data, err := w.conn.ReadMessage()
		if err != nil {
			break
		}
		if l, ok := mustDecode(data).(*protocol.Load); ok {
			got = append(got, fmt.Sprintf("%s=%g", l.Host, l.Load1))
		}
	}
	return got
}

func sample(host string, load1 float64) protocol.Load {
	return protocol.Load{Host: host, At: protocol.At(time.Now()), Interval: protocol.Duration(time.Second), Load1: load1, CPUs: 4}
}

// dialWireAs is dialWire for a subscriber watching as actor.
func dialWireAs(t *testing.T, url, actor string) *wire {
	t.Helper()
	w := &wire{t: t, conn: rawWatcher(t, url, actor, "")}
	for {
		if _, ok := w.next().(*protocol.Synced); ok {
			return w
		}
	}
}

// Samples published within one pace reach a subscriber together, only
// the newest of each host, and not before the subscriber's turn.
func TestSubscriberGetsEachHostsNewestLoadOncePerPace(t *testing.T) {
	const pace = 400 * time.Millisecond
	srv := startServer(t, t.TempDir(), "", Options{LoadPace: pace})
	w := dialWireAs(t, srv.url, "alice")
	offset := paceOffset("alice", pace)
	time.Sleep(untilPace(time.Now(), pace, offset) + 20*time.Millisecond) // just after a turn
	turn := time.Now().Add(untilPace(time.Now(), pace, offset))
	// Loads under the warn level: a crossing is journaled, and its frame
	// takes its host's waiting load early.
	for _, l := range []protocol.Load{sample("web-1", 0.1), sample("web-2", 0.2), sample("web-1", 0.3), sample("web-3", 0.4), sample("web-1", 0.5)} {
		srv.hub.PublishLoad(l)
		time.Sleep(10 * time.Millisecond)
	}
	w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var l *protocol.Load
	for l == nil {
		_, data, err := w.conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		l, _ = mustDecode(data).(*protocol.Load)
	}
	if early := time.Until(turn); early > 5*time.Millisecond {
		t.Fatalf("a load went out %s before alice's turn", early)
	}
	got := append([]string{fmt.Sprintf("%s=%g", l.Host, l.Load1)}, readLoads(w, 3, pace)...)
	if want := []string{"web-1=0.5", "web-2=0.2", "web-3=0.4"}; !slices.Equal(got, want) {
		t.Fatalf("loads sent = %v, want the newest of each host once: %v", got, want)
	}
}

// A journaled crossing of a host into crit goes out at once, its host's
// waiting load just before it; the other hosts' loads, and a note, go at
// the pace as ever: a journal message is not held behind the fleet's
// samples.
func TestACrossingTakesOnlyItsHostsLoadAlong(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{LoadPace: time.Hour})
	w := dialWire(t, srv.url)
	// The subscriber's own presence frame, queued as it joins.
	for {
		if _, ok := w.next().(*protocol.Presence); ok {
			break
		}
	}
	srv.hub.PublishLoad(sample("web-1", 0.7))
	srv.hub.PublishLoad(sample("web-2", 12)) // 3 per CPU: crit, journaled
	var got []string
	w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < 2 {
		_, data, err := w.conn.ReadMessage()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		switch m := mustDecode(data).(type) {
		case *protocol.Load:
			got = append(got, fmt.Sprintf("%s=%g", m.Host, m.Load1))
		case *protocol.Entry:
			got = append(got, "entry "+m.Host+" "+m.Level)
		}
	}
	if want := []string{"web-2=12", "entry web-2 crit"}; !slices.Equal(got, want) {
		t.Fatalf("frames sent = %v, want the crossing's host's load, then its entry: %v", got, want)
	}
	if more := readLoads(w, 1, 300*time.Millisecond); len(more) > 0 {
		t.Fatalf("the crossing also took %v along, which waits for the pace", more)
	}
}

// A negative pace sends every sample as it comes, as before pacing: none
// is replaced by a newer one, however fast they come.
func TestNegativePaceSendsEverySample(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{LoadPace: -1})
	w := dialWire(t, srv.url)
	var want []string
	for i := 1; i <= 200; i++ {
		srv.hub.PublishLoad(sample("web-1", float64(i)/1000))
		want = append(want, fmt.Sprintf("web-1=%g", float64(i)/1000))
	}
	if got := readLoads(w, len(want), 5*time.Second); !slices.Equal(got, want) {
		t.Fatalf("got %d samples of 200 (%v ...), want every one in order", len(got), got[:min(len(got), 5)])
	}
}

// A host that reports faster than the pace is heard of once a pace, so
// its interval for subscribers (who call it stale after 3) is the pace.
func TestAFastHostsIntervalIsThePaceForSubscribers(t *testing.T) {
	const pace = 300 * time.Millisecond
	srv := startServer(t, t.TempDir(), "", Options{LoadPace: pace})
	w := dialWire(t, srv.url)
	fast, slow := sample("web-1", 0.1), sample("web-2", 0.1)
	fast.Interval, slow.Interval = protocol.Duration(100*time.Millisecond), protocol.Duration(5*time.Second)
	srv.hub.PublishLoad(fast)
	srv.hub.PublishLoad(slow)
	got := map[string]time.Duration{}
	w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < 2 {
		_, data, err := w.conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if l, ok := mustDecode(data).(*protocol.Load); ok {
			got[l.Host] = l.Interval.Std()
		}
	}
	if got["web-1"] != pace || got["web-2"] != 5*time.Second {
		t.Fatalf("intervals sent = %v, want web-1 at the pace (%s) and web-2 at its own 5s", got, pace)
	}
}

// A turn larger than a chunk arrives whole, each host once, and a frame
// queued meanwhile goes out between its chunks instead of after them all.
func TestAFrameGoesOutBetweenATurnsChunks(t *testing.T) {
	const hosts = 2*turnChunk + 500
	srv := startServer(t, t.TempDir(), "", Options{LoadPace: 200 * time.Millisecond, turnGap: 300 * time.Millisecond})
	w := dialWire(t, srv.url)
	for i := range hosts {
		srv.hub.PublishLoad(sample(fmt.Sprintf("web-%04d", i), 0.1))
	}
	seen := map[string]int{}
	loadsBefore := -1
	w.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(seen) < hosts {
		_, data, err := w.conn.ReadMessage()
		if err != nil {
			t.Fatalf("after %d of %d hosts: %v", len(seen), hosts, err)
		}
		switch m := mustDecode(data).(type) {
		case *protocol.Load:
			seen[m.Host]++
			if len(seen) == 1 { // the turn began: queue a frame behind it
				srv.hub.PublishService(protocol.Service{Host: "db-1", Service: "mysql", State: "down"})
			}
		case *protocol.Service:
			loadsBefore = len(seen)
		}
	}
	for h, n := range seen {
		if n != 1 {
			t.Fatalf("%s sent %d times in one turn", h, n)
		}
	}
	if loadsBefore < 0 || loadsBefore >= hosts {
		t.Fatalf("the service frame came after %d of the turn's %d loads, want it between two chunks", loadsBefore, hosts)
	}
}

// A host that first reports while a turn is being sent goes at the next
// turn: the box it filled said nothing then, the end of the turn arms it.
func TestAHostNewDuringATurnGoesAtTheNext(t *testing.T) {
	const hosts = 2*turnChunk + 500
	const pace = 300 * time.Millisecond
	srv := startServer(t, t.TempDir(), "", Options{LoadPace: pace, turnGap: 100 * time.Millisecond})
	w := dialWire(t, srv.url)
	for i := range hosts {
		srv.hub.PublishLoad(sample(fmt.Sprintf("web-%04d", i), 0.1))
	}
	seen := 0
	var late time.Time
	w.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, data, err := w.conn.ReadMessage()
		if err != nil {
			t.Fatalf("after %d of the turn's %d loads, no load of the late host: %v", seen, hosts, err)
		}
		l, ok := mustDecode(data).(*protocol.Load)
		if !ok {
			continue
		}
		if l.Host == "late-1" {
			if seen != hosts {
				t.Fatalf("the late host came after %d of the turn's %d loads, want it at the next turn", seen, hosts)
			}
			if waited := time.Since(late); waited > 3*pace {
				t.Fatalf("the late host waited %s, more than the turn and a pace", waited)
			}
			return
		}
		if seen++; seen == 1 {
			late = time.Now()
			srv.hub.PublishLoad(sample("late-1", 0.1))
		}
	}
}

// Loads taken along by crossings and loads sent in turns never put an
// older load of a host after a newer one, however they interleave: a
// fleet of 3,000 crossing and uncrossing every other round, turns every
// 20 ms, a reader that dawdles.
func TestNoSubscriberReadsAnOlderLoadAfterANewerOne(t *testing.T) {
	t.Parallel()
	// A long queue lets the loads crossings take along wait in it while
	// turns go by.
	srv := startServer(t, t.TempDir(), "", Options{LoadPace: 20 * time.Millisecond, turnGap: time.Millisecond, QueueSize: 1 << 16})
	w := dialWire(t, srv.url)
	const hosts, rounds = 3000, 40
	done := make(chan struct{})
	go func() {
		defer close(done)
		base := time.Now()
		for round := range rounds {
			for i := range hosts {
				l := sample(fmt.Sprintf("h%04d", i), 0.1)
				if i%10 == 0 && round%2 == 1 {
					l.Load1 = 12 // crit: a crossing takes the load along
				}
				l.At = protocol.At(base.Add(time.Duration(round) * time.Second))
				srv.hub.PublishLoad(l)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	newest := map[string]time.Time{}
	w.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for n := 1; ; n++ {
		select {
		case <-done:
			w.conn.SetReadDeadline(time.Now().Add(time.Second))
		default:
		}
		_, data, err := w.conn.ReadMessage()
		if err != nil {
			break // quiet for a second after the last round
		}
		if n%300 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		l, ok := mustDecode(data).(*protocol.Load)
		if !ok {
			continue
		}
		if l.At.Time.Before(newest[l.Host]) {
			t.Fatalf("%s: the load of %s came after the one of %s", l.Host, l.At.Format("15:04:05"), newest[l.Host].Format("15:04:05"))
		}
		newest[l.Host] = l.At.Time
	}
	<-done
	if len(newest) != hosts {
		t.Fatalf("loads of %d hosts read, want %d", len(newest), hosts)
	}
}

func TestChunkGapSpreadsATurnOverHalfThePace(t *testing.T) {
	for _, c := range []struct {
		hosts int
		pace  time.Duration
		want  time.Duration
	}{
		{0, time.Second, minTurnGap},
		{1000, time.Second, minTurnGap}, // one chunk: no gap to keep
		{2000, time.Second, maxTurnGap},
		{10000, time.Second, maxTurnGap}, // 9 gaps of 25 ms: 225 ms
		{21000, time.Second, 25 * time.Millisecond},
		{30000, time.Second, time.Second / 2 / 29}, // 17.2 ms
		{50000, time.Second, time.Second / 2 / 49}, // 10.2 ms
		{200000, time.Second, minTurnGap},
		{10000, 5 * time.Second, maxTurnGap},
		{10000, -1, minTurnGap}, // unpaced: turns are not used
	} {
		if got := chunkGap(c.hosts, c.pace); got != c.want {
			t.Errorf("chunkGap(%d, %v) = %v, want %v", c.hosts, c.pace, got, c.want)
		}
	}
}
