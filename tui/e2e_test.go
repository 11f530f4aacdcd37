package tui

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/internal/testprog"
)

// These drive the real binary in tmux at 80x24 against a real hub (the
// demo feed server) over loopback. CI sets VIGIL_REQUIRE_TMUX=1.

type term struct {
	t      *testing.T
	socket string
}

func (x *term) tmux(args ...string) {
	x.t.Helper()
	if out, err := exec.Command("tmux", append([]string{"-S", x.socket}, args...)...).CombinedOutput(); err != nil {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
}

func (x *term) screen() string {
	out, _ := exec.Command("tmux", "-S", x.socket, "capture-pane", "-p", "-t", "vigil").CombinedOutput()
	return string(out)
}

// key sends one key and lets it arrive alone (an esc followed at once by
// a key reads as alt+key).
func (x *term) key(k string) {
	x.tmux("send-keys", "-t", "vigil", k)
	time.Sleep(150 * time.Millisecond)
}

func (x *term) waitFor(what string, ok func(string) bool) string {
	x.t.Helper()
	var s string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if s = x.screen(); ok(s) {
			return s
		}
	}
	x.t.Fatalf("timed out waiting for %s; the screen:\n%s", what, s)
	return ""
}

// startHubAndDashboard builds vigil, starts the demo hub and the
// dashboard on it in tmux at 80x24; cancel stops the hub.
func startHubAndDashboard(t *testing.T) (*term, context.CancelFunc) {
	testprog.Need(t, "tmux", "tmux")
	dir := t.TempDir()
	bin := filepath.Join(dir, "vigil")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	hub := exec.CommandContext(ctx, bin, "demo", "--no-ui", "--listen", addr)
	var hubOut bytes.Buffer
	hub.Stdout, hub.Stderr = &hubOut, &hubOut
	if err := hub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); hub.Wait() })
	up := false
	for i := 0; i < 100 && !up; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			up = resp.StatusCode == 200
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !up {
		t.Fatalf("the hub did not come up:\n%s", hubOut.String())
	}
	x := &term{t: t, socket: filepath.Join(dir, "tmux.sock")}
	cmd := fmt.Sprintf("env HOME=%s XDG_STATE_HOME=%s/state TERM=xterm-256color %s --feed ws://%s/feed --actor e2e 2>%s/stderr", dir, dir, bin, addr, dir)
	x.tmux("new-session", "-d", "-s", "vigil", "-x", "80", "-y", "24", cmd)
	t.Cleanup(func() { exec.Command("tmux", "-S", x.socket, "kill-server").Run() })
	x.waitFor("the dashboard, synced (the hub lists this watcher)", func(s string) bool { return strings.Contains(s, "INC-1") && strings.Contains(s, "1 watching") })
	return x, cancel
}

// With the hub gone, the 80x24 header says so and the services read stale.
func TestTerminalDeadFeedHeader(t *testing.T) {
	x, stopHub := startHubAndDashboard(t)
	stopHub()
	x.waitFor("the dead feed in the header", func(s string) bool {
		head := strings.SplitN(s, "\n", 2)[0]
		return strings.Contains(head, "✗") && strings.Contains(head, "feeds 0/1") || strings.Contains(head, "✗ hub")
	})
	x.key("2")
	screen := x.waitFor("stale services", func(s string) bool { return strings.Contains(s, "? stale") && !strings.Contains(s, "✓ ok") })
	if head := strings.SplitN(screen, "\n", 2)[0]; !strings.Contains(head, "INC-1") {
		t.Fatalf("the incident left the header: %q", head)
	}
}

// enter on a host opens its detail; esc closes it; the same for an entry.
func TestTerminalDetailView(t *testing.T) {
	x, _ := startHubAndDashboard(t)
	x.key("1")
	x.key("Enter")
	x.waitFor("the host detail", func(s string) bool {
		return strings.Contains(s, "╭") && strings.Contains(s, "Host ") && strings.Contains(s, "services") && strings.Contains(s, "load1 history")
	})
	x.key("Escape")
	x.waitFor("the detail closed", func(s string) bool { return !strings.Contains(s, "╭") })
	x.key("3")
	x.key("Enter")
	x.waitFor("the entry detail", func(s string) bool {
		return strings.Contains(s, "entry #") && strings.Contains(s, "kind")
	})
	x.key("q")
	x.waitFor("the detail closed by q", func(s string) bool { return !strings.Contains(s, "entry #") })
}
