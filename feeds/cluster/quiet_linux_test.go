//go:build linux && !race

package cluster

import (
	"bytes"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server/pse"
)

// readSyscalls is the number of read system calls this process has made
// (/proc/self/io's syscr), reading the file included.
func readSyscalls(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skipf("no I/O accounting here: %v", err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("syscr: ")); ok {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				t.Fatalf("/proc/self/io: %q: %v", line, err)
			}
			return n
		}
	}
	t.Fatalf("/proc/self/io has no syscr:\n%s", b)
	return 0
}

// TestNATSSamplerIsStopped guards quiet_linux.go's go:linkname, which a
// rename in nats-server would turn into a variable nobody reads, without
// a build error: the sampler it stops would then read /proc/<pid>/stat
// every second again. It watches the process's read system calls for
// three of the sampler's periods (the sampler's one-second timer is
// nats-server's, so the wait is real time), after checking that the
// count sees a read of that file.
func TestNATSSamplerIsStopped(t *testing.T) {
	var pcpu float64
	var rss, vss int64
	if err := pse.ProcUsage(&pcpu, &rss, &vss); err == nil {
		t.Fatalf("pse.ProcUsage read its stat file (rss %d): quiet_linux.go's go:linkname no longer names the path it reads", rss)
	}

	before := readSyscalls(t)
	if _, err := os.ReadFile("/proc/self/stat"); err != nil {
		t.Fatal(err)
	}
	probe := readSyscalls(t) - before
	if probe < 2 {
		t.Fatalf("reading /proc/self/stat and /proc/self/io counted %d read calls; the count cannot see the sampler", probe)
	}

	before = readSyscalls(t)
	time.Sleep(3500 * time.Millisecond)
	// The sampler reads its file with os.ReadFile, as the probe did: at
	// least one read a second, three or more reads of two calls each
	// against the one reading of the counter this window pays.
	if n := readSyscalls(t) - before; n > probe {
		t.Fatalf("%d read calls in 3.5 s of an idle process (the probe's two files took %d): nats-server's sampler is still reading", n, probe)
	}
}
