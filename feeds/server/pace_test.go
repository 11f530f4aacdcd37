package server

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func TestLoadBoxKeepsTheNewestPerHostInArrivalOrder(t *testing.T) {
	tests := []struct {
		name string
		puts [][2]string // host, frame
		want []string
	}{
		{"empty", nil, nil},
		{"one", [][2]string{{"a", "a1"}}, []string{"a1"}},
		{"newer replaces older in place", [][2]string{{"a", "a1"}, {"b", "b1"}, {"a", "a2"}}, []string{"a2", "b1"}},
		{"many hosts", [][2]string{{"c", "c1"}, {"a", "a1"}, {"b", "b1"}, {"c", "c2"}}, []string{"c2", "a1", "b1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newLoadBox()
			for _, p := range tt.puts {
				b.put(p[0], []byte(p[1]))
			}
			var got []string
			for _, f := range b.take() {
				got = append(got, string(f))
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("take() = %q, want %q", got, tt.want)
			}
			if again := b.take(); again != nil {
				t.Fatalf("second take() = %q, want nothing", again)
			}
			if len(tt.puts) > 0 && len(b.ready) != 1 {
				t.Fatal("the box did not say it had become ready")
			}
		})
	}
}

func TestUntilPaceIsTheNextMultipleOnTheClock(t *testing.T) {
	base := time.Date(2026, 11, 22, 2, 13, 7, 0, time.UTC)
	tests := []struct {
		now  time.Time
		pace time.Duration
		want time.Duration
	}{
		{base, time.Second, time.Second},
		{base.Add(300 * time.Millisecond), time.Second, 700 * time.Millisecond},
		{base.Add(999 * time.Millisecond), time.Second, time.Millisecond},
		{base.Add(100 * time.Millisecond), 250 * time.Millisecond, 150 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := untilPace(tt.now, tt.pace); got != tt.want {
			t.Errorf("untilPace(%s, %s) = %s, want %s", tt.now.Format("05.000"), tt.pace, got, tt.want)
		}
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

// Samples published within one pace reach a subscriber together, only
// the newest of each host, and not before the pace turns.
func TestSubscriberGetsEachHostsNewestLoadOncePerPace(t *testing.T) {
	const pace = 400 * time.Millisecond
	srv := startServer(t, t.TempDir(), "", Options{LoadPace: pace})
	w := dialWire(t, srv.url)
	time.Sleep(untilPace(time.Now(), pace) + 20*time.Millisecond) // just after a turn
	turn := time.Now().Add(untilPace(time.Now(), pace))
	// Loads under the warn level: a crossing is journaled, and its frame
	// would carry the waiting loads early.
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
		t.Fatalf("a load went out %s before the pace turned", early)
	}
	got := append([]string{fmt.Sprintf("%s=%g", l.Host, l.Load1)}, readLoads(w, 3, pace)...)
	if want := []string{"web-1=0.5", "web-2=0.2", "web-3=0.4"}; !slices.Equal(got, want) {
		t.Fatalf("loads sent = %v, want the newest of each host once: %v", got, want)
	}
}

// A frame that goes out anyway (here the journaled crossing of a host
// into crit) carries the waiting loads with it, after it: a journal
// message is not held behind the samples.
func TestWaitingLoadsGoWithTheNextFrame(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{LoadPace: time.Hour})
	w := dialWire(t, srv.url)
	// The subscriber's own presence frame, queued as it joins, would carry
	// the loads if it came after them.
	for {
		if _, ok := w.next().(*protocol.Presence); ok {
			break
		}
	}
	srv.hub.PublishLoad(sample("web-1", 0.7))
	srv.hub.PublishLoad(sample("web-2", 12)) // 3 per CPU: crit, journaled
	var got []string
	w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < 3 {
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
	if want := []string{"entry web-2 crit", "web-1=0.7", "web-2=12"}; !slices.Equal(got, want) {
		t.Fatalf("frames sent = %v, want the crossing's entry, then the loads waiting: %v", got, want)
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
