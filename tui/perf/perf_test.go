package perf

import (
	"context"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// These run the real binary in a pty: go test -bench=. ./tui/perf
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
	return Options{Vigil: bin, Window: 10 * time.Second, IdleWindow: 20 * time.Second}
}

func BenchmarkTerminalBandwidth(b *testing.B) {
	o := vigil(b)
	for _, size := range [][2]int{{80, 24}, {200, 60}} {
		var r Bandwidth
		var err error
		for b.Loop() {
			if r, err = MeasureBandwidth(context.Background(), o, size[0], size[1]); err != nil {
				b.Fatal(err)
			}
		}
		name := map[int]string{80: "80x24", 200: "200x60"}[size[0]]
		b.ReportMetric(r.Vigil, "vigil-B/s-"+name)
		if r.Htop > 0 {
			b.ReportMetric(r.Htop, "htop-B/s-"+name)
			b.ReportMetric(r.Ratio, "vigil/htop-"+name)
		} else {
			b.Log(r.HtopNote)
		}
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
func TestHarnessMeasuresTheRealBinary(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("builds and runs the real binary in a pty")
	}
	bin := filepath.Join(t.TempDir(), "vigil")
	if out, err := exec.Command("go", "build", "-o", bin, "../..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	o := Options{Vigil: bin, Window: time.Second, IdleWindow: time.Second, Presses: 10}
	ctx := context.Background()
	if d, err := MeasureFirstFrame(ctx, o); err != nil || d <= 0 {
		t.Fatalf("first frame: %v %v", d, err)
	}
	if r, err := MeasureBandwidth(ctx, o, 80, 24); err != nil || r.Vigil <= 0 {
		t.Fatalf("bandwidth: %+v %v", r, err)
	}
	if r, err := MeasureResponsiveness(ctx, o); err != nil || r.P50 <= 0 {
		t.Fatalf("responsiveness: %+v %v", r, err)
	}
}
