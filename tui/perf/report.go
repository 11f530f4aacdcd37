package perf

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

func kb(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }

// Report measures the named figures and prints them as a table.
func Report(ctx context.Context, o Options, which []string, out io.Writer) error {
	o.defaults()
	fmt.Fprintf(out, "vigil bench: %s, %d CPUs, %s, %s\n\n", runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), runtime.Version(), time.Now().UTC().Format("2006-01-02"))
	row := func(name, value string) { fmt.Fprintf(out, "%-62s %s\n", name, value) }
	for _, w := range which {
		switch strings.TrimSpace(w) {
		case "bandwidth":
			for _, size := range [][2]int{{80, 24}, {200, 60}} {
				b, err := MeasureBandwidth(ctx, o, size[0], size[1])
				if err != nil {
					return fmt.Errorf("bandwidth %dx%d: %w", size[0], size[1], err)
				}
				htop := b.HtopNote
				if b.Htop > 0 {
					htop = fmt.Sprintf("htop %s/s, vigil/htop = %.2f", kb(b.Htop), b.Ratio)
				}
				row(fmt.Sprintf("terminal bytes/s at %dx%d (20 hosts every 1s, incident open)", b.W, b.H), fmt.Sprintf("vigil %s/s; %s", kb(b.Vigil), htop))
			}
		case "ssh":
			b, err := MeasureSSHBandwidth(ctx, o, 80, 24)
			if err != nil {
				return fmt.Errorf("ssh bandwidth: %w", err)
			}
			htop := b.HtopNote
			if b.Htop > 0 {
				htop = fmt.Sprintf("htop -d 10 over SSH %s/s, vigil/htop = %.2f", kb(b.Htop), b.Ratio)
			}
			row("terminal bytes/s over SSH at 80x24 (20 hosts every 1s, incident open)", fmt.Sprintf("vigil %s/s; %s", kb(b.Vigil), htop))
		case "idle":
			r, err := MeasureIdle(ctx, o)
			if err != nil {
				return fmt.Errorf("idle: %w", err)
			}
			row("idle: CPU time per minute, bytes per minute (80x24)", fmt.Sprintf("%s CPU, %s", r.CPUPerMinute.Round(time.Millisecond), kb(r.BytesPerMinute)))
		case "keys":
			r, err := MeasureResponsiveness(ctx, o)
			if err != nil {
				return fmt.Errorf("responsiveness: %w", err)
			}
			row(fmt.Sprintf("keypress to screen under %.0f samples/s over %d hosts (%d presses)", r.Rate, r.Hosts, r.Presses),
				fmt.Sprintf("p50 %s, p99 %s, max %s", r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond)))
		case "ingest":
			r, err := MeasureIngest(ctx, 100_000)
			if err != nil {
				return fmt.Errorf("ingest: %w", err)
			}
			row("ingest: journal messages/s to screen state (raw gorilla loop)", fmt.Sprintf("%.0f/s (raw %.0f/s, %.0f%%)", r.Journal, r.JournalRaw, 100*r.Journal/r.JournalRaw))
			row("ingest: load samples/s to screen state (raw gorilla loop)", fmt.Sprintf("%.0f/s (raw %.0f/s, %.0f%%)", r.Loads, r.LoadsRaw, 100*r.Loads/r.LoadsRaw))
		case "memory":
			r, err := MeasureMemory(ctx, o)
			if err != nil {
				return fmt.Errorf("memory: %w", err)
			}
			row(fmt.Sprintf("RSS after %d entries + %d samples, after %d more", r.Entries, r.Samples, r.Samples),
				fmt.Sprintf("%.1f MiB, %.1f MiB (growth %+.1f MiB)", float64(r.AfterFirst)/(1<<20), float64(r.AfterTwo)/(1<<20), float64(r.Growth())/(1<<20)))
		case "start":
			d, err := MeasureFirstFrame(ctx, o)
			if err != nil {
				return fmt.Errorf("first frame: %w", err)
			}
			row("time to first frame showing every demo host", d.Round(time.Millisecond).String())
		case "":
		default:
			return fmt.Errorf("unknown figure %q", w)
		}
	}
	return nil
}
