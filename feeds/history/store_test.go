package history

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

var now = time.Date(2026, 11, 22, 2, 13, 7, 0, time.UTC)

func load(host string, at time.Time, load1 float64, mem float64) protocol.Load {
	return protocol.Load{Host: host, At: protocol.At(at), Load1: load1, CPUs: 4, MemUsedPct: &mem}
}

type got struct {
	at    time.Time
	load1 float64
	mem   float64
}

func samples(t *testing.T, s *Store, host string, from, to time.Time) []got {
	t.Helper()
	ss, _, err := s.Samples(host, from, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []got
	for _, x := range ss {
		g := got{at: x.At.Time, load1: x.Load1}
		if x.MemUsedPct != nil {
			g.mem = *x.MemUsedPct
		}
		if x.CPUs != 4 {
			t.Fatalf("cpus %d", x.CPUs)
		}
		out = append(out, g)
	}
	return out
}

func TestRetention(t *testing.T) {
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name     string
		writes   []protocol.Load
		from, to time.Time
		want     []got
	}{
		{"10 seconds ago: at 10 s", []protocol.Load{load("a", ago(10*time.Second), 1.5, 40)},
			ago(time.Minute), now, []got{{ago(10 * time.Second).Truncate(FineStep), 1.5, 40}}},
		{"two samples of one 10 s: the peak", []protocol.Load{load("a", ago(13*time.Second), 1.5, 40), load("a", ago(9*time.Second), 0.5, 41)},
			ago(time.Minute), now, []got{{ago(13 * time.Second).Truncate(FineStep), 1.5, 41}}},
		{"47 hours ago: still at 10 s", []protocol.Load{load("a", ago(47*time.Hour), 2, 50)},
			ago(48 * time.Hour), ago(46 * time.Hour), []got{{ago(47 * time.Hour).Truncate(FineStep), 2, 50}}},
		{"49 hours ago, written over a lap later: the 5-minute peak",
			[]protocol.Load{load("a", ago(49*time.Hour), 2, 50), load("a", ago(49*time.Hour-time.Minute), 7.25, 20), load("a", ago(time.Hour), 1, 1), load("a", ago(time.Hour-time.Minute), 1, 1)},
			ago(50 * time.Hour), ago(48*time.Hour + time.Hour/2), []got{{ago(49 * time.Hour).Truncate(CoarseStep), 7.25, 50}}},
		{"49 hours ago, a host silent since: still at 10 s", []protocol.Load{load("a", ago(49*time.Hour), 2, 50)},
			ago(50 * time.Hour), ago(48*time.Hour + time.Hour/2), []got{{ago(49 * time.Hour).Truncate(FineStep), 2, 50}}},
		{"89 days ago: kept at 5 minutes", []protocol.Load{load("a", ago(89*24*time.Hour), 3, 60), load("a", ago(89*24*time.Hour).Add(FineKeep*44), 1, 1)},
			ago(90 * 24 * time.Hour), ago(88 * 24 * time.Hour), []got{{ago(89 * 24 * time.Hour).Truncate(CoarseStep), 3, 60}}},
		{"91 days ago: gone", []protocol.Load{load("a", ago(91*24*time.Hour), 3, 60)},
			ago(92 * 24 * time.Hour), now, nil},
		{"a lap of the 48 h ring overwrites the 10 s slot, the 5-minute one stays",
			[]protocol.Load{load("a", ago(FineKeep+30*time.Second), 9, 90), load("a", ago(30*time.Second), 1, 10)},
			ago(FineKeep + time.Hour), now,
			[]got{{ago(FineKeep + 30*time.Second).Truncate(CoarseStep), 9, 90}, {ago(30 * time.Second).Truncate(FineStep), 1, 10}}},
		{"a slot of an earlier lap is not read as now",
			[]protocol.Load{load("a", ago(FineKeep+30*time.Second), 9, 90)},
			ago(time.Minute), now, nil},
		{"hosts are apart", []protocol.Load{load("b", ago(10*time.Second), 5, 5)},
			ago(time.Minute), now, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.TempDir(), func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for _, l := range tt.writes {
				if err := s.Write(l); err != nil {
					t.Fatal(err)
				}
			}
			g := samples(t, s, "a", tt.from, tt.to)
			if len(g) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", g, tt.want)
			}
			for i := range g {
				if !g[i].at.Equal(tt.want[i].at) || g[i].load1 != tt.want[i].load1 || g[i].mem != tt.want[i].mem {
					t.Fatalf("sample %d: got %+v, want %+v", i, g[i], tt.want[i])
				}
			}
		})
	}
}

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	clock := now
	tests := []struct {
		name    string
		prepare func(t *testing.T)
		want    int // samples of host a in the last 48 h
	}{
		{"what was written is read after a restart", func(t *testing.T) {}, 360},
		{"a foreign file in its place starts empty", func(t *testing.T) {
			os.WriteFile(filepath.Join(dir, Dir, fileName("a")), []byte("not a history file"), 0o640)
		}, 0},
		{"a host silent for longer than 90 days is removed at start", func(t *testing.T) {
			old := now.Add(-CoarseKeep - 24*time.Hour)
			os.Chtimes(filepath.Join(dir, Dir, fileName("a")), old, old)
		}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(dir, func() time.Time { return clock })
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { s.Run(ctx); close(done) }()
			for i := range 360 { // an hour at 10 s
				s.Add(load("a", now.Add(-time.Duration(i)*FineStep), float64(i%7), 30))
			}
			// Run writes in queue order: one more marks the queue drained.
			s.Add(load("sentinel", now, 1, 1))
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
				if ss, _, _ := s.Samples("sentinel", now.Add(-time.Minute), now, 0); len(ss) == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the queue was never written")
				}
			}
			cancel()
			<-done
			tt.prepare(t)
			s2, err := Open(dir, func() time.Time { return clock })
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			got := samples(t, s2, "a", now.Add(-FineKeep), now)
			_, statErr := os.Stat(filepath.Join(dir, Dir, fileName("a")))
			switch {
			case tt.want < 0 && !os.IsNotExist(statErr):
				t.Fatalf("file still there: %v", statErr)
			case tt.want >= 0 && len(got) != tt.want:
				t.Fatalf("%d samples after the restart, want %d", len(got), tt.want)
			}
		})
	}
}

func TestLimitAndNames(t *testing.T) {
	s, err := Open(t.TempDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 10 {
		s.Write(load("../etc", now.Add(-time.Duration(i)*FineStep), 1, 1))
	}
	got, more, err := s.Samples("../etc", now.Add(-time.Hour), now, 4)
	if err != nil || len(got) != 4 || !more || !got[0].At.Equal(now.Add(-9*FineStep).Truncate(FineStep)) {
		t.Fatalf("%d samples more=%v err=%v first %v", len(got), more, err, got)
	}
	if hosts := s.Hosts(); len(hosts) != 1 || hosts[0] != "../etc" {
		t.Fatalf("hosts %q", hosts)
	}
	if at, ok := s.At("../etc", now.Add(-25*time.Second)); !ok || !at.At.Equal(now.Add(-25*time.Second).Truncate(FineStep)) {
		t.Fatalf("at: %+v %v", at, ok)
	}
	if _, ok := s.At("../etc", now.Add(-2*time.Hour)); ok {
		t.Fatal("a sample an hour away is not where the load stood")
	}
}
