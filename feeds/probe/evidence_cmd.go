package probe

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// EvidenceCommand is one command whose output goes into evidence.
type EvidenceCommand struct {
	Name    string
	Command string        // run with sh -c
	Timeout time.Duration // default 5s
	// MaxBytes is how much of the output is kept, its tail (default 8 KiB,
	// at most protocol.MaxTextBytes).
	MaxBytes int
}

// commandWaitDelay bounds the wait for the output pipes once the command's
// process group is killed: a grandchild that left the group may hold them.
const commandWaitDelay = 500 * time.Millisecond

// runEvidenceCommand runs c in a process group of its own and returns what it
// printed (stdout and stderr together, the tail kept). On timeout the whole
// group is killed, so `sleep 60 | cat` ends too.
func runEvidenceCommand(ctx context.Context, c EvidenceCommand) protocol.Output {
	out := protocol.Output{Name: c.Name, Exit: -1}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	tail := &tailBuffer{max: c.MaxBytes}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", c.Command)
	cmd.Stdout, cmd.Stderr = tail, tail
	killGroupOnCancel(cmd)
	cmd.WaitDelay = commandWaitDelay
	err := cmd.Run()
	out.Text, out.Truncated = tail.text()
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		out.Error = "timed out after " + protocol.FormatDuration(c.Timeout)
	case ctx.Err() != nil:
		out.Error = "cancelled: " + ctx.Err().Error()
	case err == nil:
		out.Exit = 0
	default:
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.Exited() {
			out.Exit = exit.ExitCode()
		} else if errors.As(err, &exit) {
			out.Error = exit.String() // killed by a signal
		} else {
			out.Error = fmt.Sprintf("cannot run: %v", err)
		}
	}
	return out
}

// tailBuffer keeps the last max bytes written to it. exec calls Write from
// one goroutine at a time when Stdout and Stderr are the same writer.
type tailBuffer struct {
	max     int
	buf     []byte
	written int64
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.written += int64(len(p))
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return len(p), nil
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max { // shift now and then, not on every write
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// text is the kept tail as valid UTF-8 of at most max bytes, and whether
// anything was cut.
func (t *tailBuffer) text() (string, bool) {
	b := t.buf
	if len(b) > t.max {
		b = b[len(b)-t.max:]
	}
	if int64(len(b)) < t.written { // cut: start on a rune, not in one
		for i := 0; i < utf8.UTFMax-1 && len(b) > 0 && !utf8.RuneStart(b[0]); i++ {
			b = b[1:]
		}
	}
	valid := strings.ToValidUTF8(string(b), "\uFFFD")
	s := keepTail(valid, t.max)
	return s, int64(len(b)) < t.written || len(s) < len(valid)
}

// keepTail returns the last at most n bytes of s, starting on a rune.
func keepTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}
