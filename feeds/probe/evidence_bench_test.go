//go:build linux

package probe

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// sleepers starts one shell that forks n sleeping children, waits until
// they all run, and kills the whole group when the benchmark ends.
func sleepers(b *testing.B, n int) {
	b.Helper()
	cmd := exec.Command("/bin/sh", "-c", `i=0; while [ $i -lt "$1" ]; do sleep 600 & i=$((i+1)); done; echo started; wait`, "sh", strconv.Itoa(n))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "started\n" {
		b.Fatalf("starting %d sleepers: %q, %v", n, line, err)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCaptureProcesses is the capture's own CPU cost on a host with
// 2,000 more processes than it had: the budget is 20 ms of CPU a capture.
func BenchmarkCaptureProcesses(b *testing.B) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		b.Skip("no /proc on this system")
	}
	sleepers(b, 2000)
	// A window this short makes every capture measure against the one
	// before it, as captures between the sampler's ticks do.
	c := NewCapturer(EvidenceConfig{Window: time.Nanosecond})
	b.Cleanup(func() { c.Close() })
	ctx := context.Background()
	procs := len(c.Capture(ctx, "warm up").Processes)
	c.mu.Lock()
	seen := len(c.samples[0].procs)
	c.mu.Unlock()
	if procs == 0 || seen < 2000 {
		b.Fatalf("saw %d processes, want at least 2000", seen)
	}
	b.ReportAllocs()
	b.ResetTimer()
	before := cpuTime()
	for b.Loop() {
		c.Capture(ctx, "bench")
	}
	b.ReportMetric(float64((cpuTime()-before).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(seen), "procs")
}
