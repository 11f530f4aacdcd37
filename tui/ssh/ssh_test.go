package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
	"github.com/vigil-oncall/vigil/internal/testprog"
	"github.com/vigil-oncall/vigil/tui"
)

// These tests drive the real OpenSSH client in tmux against a real hub
// with its SSH front end on loopback, as a responder at 2am would.

// debianPackage is where each program need looks for comes from.
var debianPackage = map[string]string{"ssh": "openssh-client", "tmux": "tmux"}

func need(t *testing.T, programs ...string) {
	t.Helper()
	for _, p := range programs {
		testprog.Need(t, p, debianPackage[p])
	}
}

// fixture is a hub with one open incident, served over SSH, and the
// client keys of alice (authorized), bob (read-only) and eve (unknown).
type fixture struct {
	t    *testing.T
	hub  *server.Hub
	srv  *Server
	port string
	dir  string
	keys map[string]string // name -> private key file
	stop func()
	jn   *journal.Journal
}

func writeClientKey(t *testing.T, dir, name string) (path string, authorized string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "id_"+name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return path, line(sshPub, name) + "\n"
}

func startFixture(t *testing.T, idle, maxLife time.Duration) *fixture {
	t.Helper()
	return startFixtureWith(t, idle, maxLife, nil)
}

// startFixtureWith is startFixture with tweak applied to the server's
// configuration.
func startFixtureWith(t *testing.T, idle, maxLife time.Duration, tweak func(*Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{t: t, dir: dir, keys: map[string]string{}}
	var authorized, readOnly string
	for _, name := range []string{"alice", "bob", "eve"} {
		path, entry := writeClientKey(t, dir, name)
		f.keys[name] = path
		switch name {
		case "alice":
			authorized += entry
		case "bob":
			readOnly += entry
		}
	}
	os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(authorized), 0o600)
	os.WriteFile(filepath.Join(dir, "read_only_keys"), []byte(readOnly), 0o600)

	j, _, err := journal.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "hub.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.jn = j
	f.hub = server.NewHub(j, server.Options{Name: "hub-test", Logger: log})
	res := f.hub.Apply(protocol.Command{ID: "c-setup", Op: protocol.OpDeclare, Actor: "setup", Title: "Mail down on web-3", Severity: "SEV2", Kind: "outage"}, true, nil)
	if res.Code != "" {
		t.Fatalf("declare: %s", res.Frame)
	}
	cfg := Config{
		Hub: f.hub, HostKey: filepath.Join(dir, "data", "ssh_host_ed25519_key"),
		AuthorizedKeys: filepath.Join(dir, "authorized_keys"), ReadOnlyKeys: filepath.Join(dir, "read_only_keys"),
		IdleTimeout: idle, MaxTimeout: maxLife, Dashboard: tui.Options{}, FeedName: "hub-test", FPS: 30, Logger: log,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	f.srv, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, f.port, _ = net.SplitHostPort(ln.Addr().String())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	f.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		f.hub.Close()
		j.Close()
		logFile.Close()
	}
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(filepath.Join(dir, "hub.log"))
			t.Logf("the hub's log:\n%s", data)
		}
	})
	t.Cleanup(f.stop)
	return f
}

// sshArgs is the OpenSSH command line of a responder with key name; the
// user's own configuration and known hosts stay out of it.
func (f *fixture) sshArgs(name string, extra ...string) []string {
	args := []string{"ssh", "-F", "/dev/null", "-p", f.port, "-i", f.keys[name],
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes", "-o", "LogLevel=ERROR"}
	args = append(args, extra...)
	return append(args, "-t", "127.0.0.1")
}

type tmux struct {
	t       *testing.T
	socket  string
	session string
}

// openTmux runs argv in a detached tmux at 80x24 with a private HOME. The
// pane's process is ssh itself, and the pane stays after it exits so its
// last words and exit status can be read.
func (f *fixture) openTmux(name string, argv []string, options ...string) *tmux {
	f.t.Helper()
	home := f.t.TempDir()
	x := &tmux{t: f.t, socket: filepath.Join(home, "tmux.sock"), session: "ssh-" + name}
	args := []string{"-f", "/dev/null", "new-session", "-d", "-s", x.session, "-x", "80", "-y", "24",
		"env", "HOME=" + home, "TERM=xterm-256color"}
	args = append(args, argv...)
	for _, opt := range append([]string{"remain-on-exit on"}, options...) {
		args = append(append(args, ";", "set-option", "-g"), strings.Fields(opt)...)
	}
	x.run(args...)
	f.t.Cleanup(func() { exec.Command("tmux", "-S", x.socket, "kill-server").Run() })
	return x
}

// exited reports whether ssh has ended, and how: its exit status, or
// "signal N".
func (x *tmux) exited() (bool, string) {
	out := strings.Split(strings.TrimSpace(x.run("display-message", "-p", "-t", x.session, "#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}")), ":")
	switch {
	case len(out) != 3 || out[0] != "1":
		return false, ""
	case out[2] != "":
		return true, "signal " + out[2]
	}
	return true, out[1] // tmux does not always learn the status of a pane it saw close
}

func (x *tmux) run(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", x.socket}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (x *tmux) screen() string {
	out, _ := exec.Command("tmux", "-S", x.socket, "capture-pane", "-p", "-t", x.session).CombinedOutput()
	return string(out)
}

func (x *tmux) keys(keys ...string) {
	x.run(append([]string{"send-keys", "-t", x.session}, keys...)...)
}

func (x *tmux) waitFor(what string, ok func(screen string) bool) string {
	x.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	screen := ""
	for time.Now().Before(deadline) {
		if screen = x.screen(); ok(screen) {
			return screen
		}
		time.Sleep(100 * time.Millisecond)
	}
	x.t.Fatalf("timed out waiting for %s; the screen:\n%s", what, screen)
	return ""
}

func contains(parts ...string) func(string) bool {
	return func(s string) bool {
		for _, p := range parts {
			if !strings.Contains(s, p) {
				return false
			}
		}
		return true
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func doneBy(h *server.Hub, item string) string {
	for _, in := range h.Incidents() {
		for _, it := range in.Checklist {
			if it.ID == item && it.DoneBy != nil {
				return *it.DoneBy
			}
		}
	}
	return ""
}

// An authorized key gets the dashboard; a tick lands under the key's name
// on the hub; a resize redraws; killing the ssh client ends the session on
// the hub and leaves no goroutine behind. Not parallel: checkNoLeak counts
// every session's goroutines in the process, and the parallel tests only
// start once the sequential ones are done.
func TestDashboardOverSSH(t *testing.T) {
	need(t, "ssh", "tmux")
	f := startFixture(t, time.Hour, 0)
	x := f.openTmux("alice", f.sshArgs("alice"))
	x.waitFor("the dashboard with the incident, the session among the watchers", contains("INC-1", "4 Checklist", "1 watching"))
	if f.srv.Sessions() != 1 || f.hub.Subscribers() != 1 {
		t.Fatalf("sessions %d, subscribers %d: want 1 and 1", f.srv.Sessions(), f.hub.Subscribers())
	}

	x.keys("4")
	x.waitFor("the checklist", contains("Acknowledge and take ownership"))
	x.keys("Space")
	eventually(t, "the tick on the hub under alice's name", func() bool { return doneBy(f.hub, "ack") == "alice" })
	x.waitFor("the tick acknowledged on screen", func(s string) bool {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, "Acknowledge") && strings.Contains(l, "alice") && strings.Contains(l, "[✓]") {
				return true
			}
		}
		return false
	})

	x.run("resize-window", "-t", x.session, "-x", "130", "-y", "40")
	x.waitFor("all four panes at 130x40", contains("Load", "│ Services", "Timeline", "Checklist INC-1"))
	x.run("resize-window", "-t", x.session, "-x", "80", "-y", "24")
	x.waitFor("the tabs again at 80x24", contains("1 Load   2 Services   3 Timeline   4 Checklist"))

	// The ssh client dies (a phone loses signal): it gets no chance to
	// close anything.
	pid, err := strconv.Atoi(strings.TrimSpace(x.run("display-message", "-p", "-t", x.session, "#{pane_pid}")))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the ssh client %d: %v", pid, err)
	}
	eventually(t, "ssh to have died", func() bool { dead, _ := x.exited(); return dead })
	eventually(t, "the session ended on the hub", func() bool { return f.srv.Sessions() == 0 && f.hub.Subscribers() == 0 })
	checkNoLeak(t)
}

// sessionFrames are functions only a session's goroutines run: its
// program, its feeds client, the hub's side of its connection, the SSH
// channel that carried it.
var sessionFrames = []string{
	"tui/ssh.(*Server).session", "tui/ssh.(*Server).program", "tui/ssh.(*Server).open",
	"charm.land/bubbletea/v2.", "charm.land/wish/v2/bubbletea.", "charm.land/ssh.(*session)",
	"vigil/feeds/client.", "vigil/feeds/server.(*Hub).ServeHTTP", "vigil/feeds/server.(*Hub).write",
	"vigil/tui.", "net.(*pipe)",
}

// checkNoLeak waits for every goroutine a session started to end.
func checkNoLeak(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var left []string
	for time.Now().Before(deadline) {
		left = left[:0]
		buf := make([]byte, 4<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for _, g := range strings.Split(string(buf), "\n\n") {
			for _, frame := range sessionFrames {
				if strings.Contains(g, frame) {
					left = append(left, g)
					break
				}
			}
		}
		if len(left) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%d goroutines of the ended session are still running:\n%s", len(left), strings.Join(left, "\n\n"))
}

// A read-only key watches; its tick is refused by the hub with a message
// on screen, and nothing is journaled.
func TestReadOnlyKeyCannotTick(t *testing.T) {
	t.Parallel()
	need(t, "ssh", "tmux")
	f := startFixture(t, time.Hour, 0)
	seq := f.hub.Seq()
	x := f.openTmux("bob", f.sshArgs("bob"))
	x.waitFor("the dashboard", contains("INC-1", "4 Checklist"))
	eventually(t, "bob's sign-in journaled", func() bool { return f.hub.Seq() == seq+1 })
	seq = f.hub.Seq()
	x.keys("4")
	x.waitFor("the checklist", contains("Acknowledge and take ownership"))
	x.keys("Space")
	x.waitFor("the refusal on screen", contains("read-only key: bob can watch, not act"))
	if doneBy(f.hub, "ack") != "" || f.hub.Seq() != seq {
		t.Fatalf("a read-only tick reached the journal: done by %q, seq %d -> %d", doneBy(f.hub, "ack"), seq, f.hub.Seq())
	}
}

// A key in neither file is refused before any session starts.
func TestUnknownKeyIsRefused(t *testing.T) {
	t.Parallel()
	need(t, "ssh")
	f := startFixture(t, time.Hour, 0)
	args := f.sshArgs("eve")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err == nil || !strings.Contains(string(out), "Permission denied (publickey)") {
		t.Fatalf("eve's key: err %v, output:\n%s", err, out)
	}
	if errors.As(err, &ee) && ee.ExitCode() != 255 {
		t.Fatalf("exit status %d, want ssh's 255", ee.ExitCode())
	}
	if f.srv.Sessions() != 0 || f.hub.Subscribers() != 0 {
		t.Fatal("a refused key got a session")
	}
}

// The colour profile follows what the client sends (NO_COLOR via SetEnv),
// and copying a draft reaches the responder's terminal as OSC 52, which
// tmux turns into a paste buffer.
func TestColourAndClipboardAsInALocalTerminal(t *testing.T) {
	t.Parallel()
	need(t, "ssh", "tmux")
	f := startFixture(t, time.Hour, 0)
	colourSGR := regexp.MustCompile(`\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;[0-9;]+)m`)
	for _, noColor := range []bool{false, true} {
		var extra []string
		if noColor {
			extra = []string{"-o", "SetEnv=NO_COLOR=1"}
		}
		x := f.openTmux(fmt.Sprintf("colour-%v", noColor), f.sshArgs("alice", extra...), "set-clipboard on")
		x.waitFor("the dashboard", contains("INC-1", "4 Checklist"))
		x.keys("4")
		x.waitFor("the checklist", contains("First notice on the status page"))
		styled := x.run("capture-pane", "-e", "-p", "-t", x.session)
		if got := colourSGR.MatchString(styled); got == noColor {
			t.Fatalf("NO_COLOR sent = %v, colour on screen = %v:\n%q", noColor, got, styled)
		}
		if noColor {
			continue
		}
		x.keys("j", "c")
		x.waitFor("the copy notice", contains("copied to your clipboard"))
		eventually(t, "the draft in tmux's paste buffer", func() bool {
			out, err := exec.Command("tmux", "-S", x.socket, "show-buffer").CombinedOutput()
			return err == nil && strings.Contains(string(out), "Service disruption")
		})
	}
}

// The server serves the dashboard and nothing else: a command, or a
// session without a terminal, is refused with a message that says what to
// do instead.
func TestOnlyTheDashboardIsServed(t *testing.T) {
	t.Parallel()
	need(t, "ssh")
	f := startFixture(t, time.Hour, 0)
	base := f.sshArgs("alice")
	base = slices.Clip(base[:len(base)-2]) // without "-t 127.0.0.1"; each case appends its own
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a command", append(base, "127.0.0.1", "cat", "/etc/passwd"), "this server only serves the dashboard"},
		{"no terminal", append(base, "-T", "127.0.0.1"), "the dashboard needs a terminal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(tt.args[0], tt.args[1:]...)
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), tt.want) {
				t.Fatalf("err %v, output:\n%s", err, out)
			}
		})
	}
	if f.hub.Subscribers() != 0 {
		t.Fatal("a refused session reached the hub")
	}
}
