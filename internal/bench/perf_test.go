package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// These run the real binary in a pty: go test -bench=. ./internal/bench
// (vigil bench prints the same figures with longer windows).

func vigil(b *testing.B) Options {
	b.Helper()
	if runtime.GOOS != "linux" {
		b.Skip("the harness reads /proc")
	}
	bin := filepath.Join(b.TempDir(), "vigil")
	if out, err := exec.Command("go", "build", "-o", bin, "../..").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return Options{Vigil: bin, Window: 10 * time.Second, IdleWindow: 20 * time.Second, Peers: PeerNames()}
}

// BenchmarkScreen: the dashboard's CPU and terminal bytes in the bench
// scenario at 80x24 and 200x60, beside htop -d 10 (and btop, glances
// where installed) in the same run.
func BenchmarkScreen(b *testing.B) {
	o := vigil(b)
	for _, size := range [][2]int{{80, 24}, {200, 60}} {
		name := fmt.Sprintf("%dx%d", size[0], size[1])
		b.Run(name, func(b *testing.B) {
			var r Screen
			var err error
			for b.Loop() {
				if r, err = MeasureScreen(context.Background(), o, size[0], size[1]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(durMS(r.Vigil.CPU), "vigil-cpu-ms/s")
			b.ReportMetric(r.Vigil.Bytes, "vigil-B/s")
			for _, p := range r.Peers {
				b.ReportMetric(durMS(p.CPU), p.Name+"-cpu-ms/s")
				b.ReportMetric(p.Bytes, p.Name+"-B/s")
			}
			if h, ok := r.Peer("htop"); ok && h.CPU > 0 {
				b.ReportMetric(float64(r.Vigil.CPU)/float64(h.CPU), "vigil/htop-cpu")
				b.ReportMetric(r.Vigil.Bytes/h.Bytes, "vigil/htop-bytes")
			}
			for _, n := range r.Notes {
				b.Log(n)
			}
		})
	}
}

// BenchmarkFleet: 10,000 hosts each reporting every second on one feed;
// then 1,000 hosts over one feed and over 100 feeds.
func BenchmarkFleet(b *testing.B) {
	o := vigil(b)
	for _, c := range []struct{ hosts, feeds int }{{10_000, 1}, {1000, 1}, {1000, 100}} {
		b.Run(fmt.Sprintf("hosts=%d/feeds=%d", c.hosts, c.feeds), func(b *testing.B) {
			var r Fleet
			var err error
			for b.Loop() {
				if r, err = MeasureFleet(context.Background(), o, c.hosts, c.feeds); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(durMS(r.CPU), "vigil-cpu-ms/s")
			b.ReportMetric(float64(r.PerSample())/1e3, "µs/sample")
		})
	}
}

func BenchmarkIdle(b *testing.B) {
	o := vigil(b)
	var r Idle
	var err error
	for b.Loop() {
		if r, err = MeasureIdle(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.CPUPerMinute.Milliseconds()), "cpu-ms/min")
	b.ReportMetric(r.BytesPerMinute, "B/min")
}

func BenchmarkKeypressUnderFlood(b *testing.B) {
	o := vigil(b)
	var r Responsiveness
	var err error
	for b.Loop() {
		if r, err = MeasureResponsiveness(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.P99.Microseconds())/1000, "p99-ms")
}

func BenchmarkIngest(b *testing.B) {
	var r Ingest
	var err error
	for b.Loop() {
		if r, err = MeasureIngest(context.Background(), 100_000); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(r.Journal, "journal-msg/s")
	b.ReportMetric(r.Journal/r.JournalRaw, "journal-vs-raw")
	b.ReportMetric(r.Loads, "load-samples/s")
	b.ReportMetric(r.Loads/r.LoadsRaw, "loads-vs-raw")
}

func BenchmarkMemory(b *testing.B) {
	o := vigil(b)
	var r Memory
	var err error
	for b.Loop() {
		if r, err = MeasureMemory(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.AfterFirst)/(1<<20), "MiB-after-1M")
	b.ReportMetric(float64(r.AfterTwo)/(1<<20), "MiB-after-2M")
}

func BenchmarkFirstFrame(b *testing.B) {
	o := vigil(b)
	var d time.Duration
	var err error
	for b.Loop() {
		if d, err = MeasureFirstFrame(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(d.Milliseconds()), "ms")
}

// TestHarnessMeasuresTheRealBinary keeps the harness honest in CI with a
// short run: the figures are not judged here, only that each is measured.
// Each measurement has its own dashboard and feeds, so they run side by
// side: most of each is waiting out a settle or a window.
func TestHarnessMeasuresTheRealBinary(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("builds and runs the real binary in a pty")
	}
	bin := filepath.Join(t.TempDir(), "vigil")
	if out, err := exec.Command("go", "build", "-o", bin, "../..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// Two-second windows: the dashboard draws once a second, so a window
	// of one could fall between two frames on a busy machine. The settle
	// need only pass the first frame for a figure that is not judged.
	o := Options{Vigil: bin, Window: 2 * time.Second, IdleWindow: time.Second, Settle: 500 * time.Millisecond, Presses: 10, Peers: []string{"htop"}}
	ctx := context.Background()
	t.Run("first frame", func(t *testing.T) {
		t.Parallel()
		if d, err := MeasureFirstFrame(ctx, o); err != nil || d <= 0 {
			t.Fatalf("first frame: %v %v", d, err)
		}
	})
	t.Run("screen", func(t *testing.T) {
		t.Parallel()
		if r, err := MeasureScreen(ctx, o, 80, 24); err != nil || r.Vigil.Bytes <= 0 {
			t.Fatalf("screen: %+v %v", r, err)
		}
	})
	t.Run("fleet", func(t *testing.T) {
		t.Parallel()
		if r, err := MeasureFleet(ctx, o, 100, 2); err != nil || r.CPU <= 0 {
			t.Fatalf("fleet: %+v %v", r, err)
		}
	})
	t.Run("responsiveness", func(t *testing.T) {
		t.Parallel()
		if r, err := MeasureResponsiveness(ctx, o); err != nil || r.P50 <= 0 {
			t.Fatalf("responsiveness: %+v %v", r, err)
		}
	})
}
