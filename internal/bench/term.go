// Package bench measures the real vigil binary the way a person experiences
// it: in a pseudo-terminal, against a real feed server on loopback, with
// htop beside it on the same terminal size. Each figure has a function
// here, run by `vigil bench` and by `go test -bench` in this package.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/creack/pty"
)

// Term is a program running in a pseudo-terminal whose output is counted
// and watched.
type Term struct {
	cmd     *exec.Cmd
	pty     *os.File
	bytes   atomic.Int64
	mu      sync.Mutex
	tail    []byte // the recent output, for Wait
	chunks  chan chunk
	done    chan struct{}
	started time.Time
}

type chunk struct {
	at   time.Time
	data []byte
}

// Start runs argv in a pty of w x h with env added to a minimal
// environment (TERM=xterm-256color, a private HOME).
func Start(ctx context.Context, w, h int, home string, env []string, argv ...string) (*Term, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append([]string{"TERM=xterm-256color", "HOME=" + home, "XDG_STATE_HOME=" + home + "/state", "XDG_CONFIG_HOME=" + home + "/config", "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}, env...)
	t := &Term{cmd: cmd, chunks: make(chan chunk, 4096), done: make(chan struct{}), started: time.Now()}
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)})
	if err != nil {
		return nil, fmt.Errorf("start %s in a pty: %w", argv[0], err)
	}
	t.pty = f
	go t.read()
	return t, nil
}

func (t *Term) read() {
	defer close(t.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := t.pty.Read(buf)
		if n > 0 {
			t.bytes.Add(int64(n))
			data := append([]byte(nil), buf[:n]...)
			t.mu.Lock()
			t.tail = append(t.tail, data...)
			if len(t.tail) > 1<<20 {
				t.tail = append([]byte(nil), t.tail[len(t.tail)-(512<<10):]...)
			}
			t.mu.Unlock()
			select {
			case t.chunks <- chunk{at: time.Now(), data: data}:
			default: // nobody is timing keypresses: don't block the reader
			}
		}
		if err != nil {
			return
		}
	}
}

// Bytes is everything written to the terminal so far.
func (t *Term) Bytes() int64 { return t.bytes.Load() }

// Type writes keys as if typed.
func (t *Term) Type(s string) error { _, err := t.pty.WriteString(s); return err }

// WaitFor waits until every one of want has appeared in the output.
func (t *Term) WaitFor(timeout time.Duration, want ...string) (time.Duration, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		t.mu.Lock()
		seen := true
		for _, w := range want {
			if !bytes.Contains(t.tail, []byte(w)) {
				seen = false
				break
			}
		}
		t.mu.Unlock()
		if seen {
			return time.Since(t.started), nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("timed out after %s waiting for %q", timeout, want)
}

// drainChunks discards queued output notifications.
func (t *Term) drainChunks() {
	for {
		select {
		case <-t.chunks:
		default:
			return
		}
	}
}

// KeyLatency types key and returns how long until output containing any of
// want appears.
func (t *Term) KeyLatency(key string, want []string, timeout time.Duration) (time.Duration, error) {
	t.drainChunks()
	start := time.Now()
	if err := t.Type(key); err != nil {
		return 0, err
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var window []byte
	for {
		select {
		case c := <-t.chunks:
			if c.at.Before(start) {
				continue
			}
			window = append(window, c.data...)
			for _, w := range want {
				if bytes.Contains(window, []byte(w)) {
					return c.at.Sub(start), nil
				}
			}
		case <-deadline.C:
			return 0, fmt.Errorf("no screen change within %s after %q", timeout, key)
		}
	}
}

// CPU is the process's user+system CPU time so far.
func (t *Term) CPU() (time.Duration, error) { return procCPU(t.cmd.Process.Pid) }

// RSS is the process's resident memory in bytes.
func (t *Term) RSS() (int64, error) { return procRSS(t.cmd.Process.Pid) }

// Stop ends the program as a terminal's owner would (SIGTERM, so it
// restores the terminal and writes what it writes at exit, a CPU profile
// included), killing it if it has not ended within stopGrace.
func (t *Term) Stop() {
	if t.cmd.Process != nil {
		t.cmd.Process.Signal(syscall.SIGTERM)
		ended := make(chan struct{})
		go func() { t.cmd.Wait(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(stopGrace):
			t.cmd.Process.Kill()
			<-ended
		}
	}
	t.pty.Close()
	<-t.done
}

const stopGrace = 3 * time.Second

const clockTicks = 100 // USER_HZ on Linux

// procCPU is pid's CPU time so far, to the nanosecond where Linux tells
// it: the sum of its threads' time on a CPU from schedstat. /proc/PID/stat
// counts in 10 ms ticks, which over a 15 s window of a process using 5 ms
// a second is a seventh of the figure. A thread that has ended is missing
// from the sum; when that is more than two ticks, the ticks are used.
func procCPU(pid int) (time.Duration, error) {
	ticks, err := procTicks(pid)
	if err != nil {
		return 0, err
	}
	live, ok := threadsOnCPU(pid)
	if !ok || ticks-live > 2*time.Second/clockTicks {
		return ticks, nil
	}
	return live, nil
}

// threadsOnCPU sums the first field of /proc/PID/task/*/schedstat: each
// live thread's nanoseconds on a CPU.
func threadsOnCPU(pid int) (time.Duration, bool) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, false
	}
	var sum time.Duration
	for _, task := range tasks {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, task.Name()))
		if err != nil {
			continue // the thread ended meanwhile
		}
		fields := strings.Fields(string(data))
		if len(fields) == 0 {
			return 0, false
		}
		ns, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, false
		}
		sum += time.Duration(ns)
	}
	return sum, true
}

// procTicks is pid's user+system time from /proc/PID/stat, in ticks,
// threads that have ended included.
func procTicks(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which may hold spaces: ") S ppid ..."
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

func procRSS(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
