package bench

import (
	"fmt"
	"os"
	"testing"
	"time"
)

func TestSpread(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Spread
		text string
	}{
		{"none", nil, Spread{}, "-"},
		{"one run", []float64{4}, Spread{4, 4, 4, 1}, "4.0 (1 run)"},
		{"odd: the middle one", []float64{9, 1, 5}, Spread{1, 5, 9, 3}, "5.0 (1.0–9.0)"},
		{"even: the mean of the middle two", []float64{4, 1, 2, 8}, Spread{1, 3, 8, 4}, "3.0 (1.0–8.0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := spread(tt.in)
			if got != tt.want {
				t.Fatalf("spread(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
			if text := got.Format(func(x float64) string { return fmt.Sprintf("%.1f", x) }); text != tt.text {
				t.Fatalf("Format = %q, want %q", text, tt.text)
			}
		})
	}
}

func TestSpreadLeavesItsInputAlone(t *testing.T) {
	in := []float64{3, 1, 2}
	spread(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Fatalf("spread reordered its input: %v", in)
	}
}

func TestProcCPUIsPreciseAndAgreesWithTheTicks(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc here")
	}
	pid := os.Getpid()
	before, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the ticks have moved by 60 ms of CPU (on a busy machine
	// that takes longer than 60 ms): the precise figure must have moved
	// as much, give or take the ticks' rounding.
	ticks0, err := procTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		if ticks, _ := procTicks(pid); ticks-ticks0 >= 60*time.Millisecond || time.Now().After(deadline) {
			break
		}
	}
	after, err := procCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	if d := after - before; d < 40*time.Millisecond {
		t.Fatalf("60 ms of CPU by the ticks counted as %s", d)
	}
	ticks, err := procTicks(pid)
	if err != nil {
		t.Fatal(err)
	}
	live, ok := threadsOnCPU(pid)
	if !ok {
		t.Fatal("no schedstat on Linux")
	}
	// The ticks include ended threads and round down; the live sum is
	// read a moment later. They agree within a few ticks.
	if diff := (live - ticks).Abs(); diff > 50*time.Millisecond {
		t.Fatalf("schedstat says %s, /proc/PID/stat %s", live, ticks)
	}
}
