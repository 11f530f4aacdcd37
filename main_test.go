package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/internal/testprog"
)

// The real binary, built once for the package by the first test that
// needs it and removed by TestMain.
var vigilBin struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// waitingTests is how many parallel tests run at once unless -parallel
// says otherwise. The tests here spend their time waiting on the real
// binary, tmux and the wall clock (an escalation's level, a SIGTERM's
// moment), not on the CPU: GOMAXPROCS of them at a time (the default)
// leaves a two-core machine idle while they wait.
const waitingTests = 4

func TestMain(m *testing.M) {
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet && runtime.GOMAXPROCS(0) < waitingTests {
		flag.Set("test.parallel", strconv.Itoa(waitingTests))
	}
	code := m.Run()
	if vigilBin.dir != "" {
		os.RemoveAll(vigilBin.dir)
	}
	os.Exit(code)
}

// buildVigil returns the real binary, building it on first use.
func buildVigil(tb testing.TB) string {
	tb.Helper()
	vigilBin.once.Do(func() {
		vigilBin.dir, vigilBin.err = os.MkdirTemp("", "vigil-bin-")
		if vigilBin.err != nil {
			return
		}
		vigilBin.path = filepath.Join(vigilBin.dir, "vigil")
		vigilBin.out, vigilBin.err = exec.Command("go", "build", "-o", vigilBin.path, ".").CombinedOutput()
	})
	if vigilBin.err != nil {
		tb.Fatalf("go build: %v\n%s", vigilBin.err, vigilBin.out)
	}
	return vigilBin.path
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// refusingAddr is a loopback address where nothing listens and nothing
// else can: a TCP socket bound there and never listening, held until the
// test ends, so a connection is refused for the whole test. A port from
// freeAddr could be taken by a test running beside this one meanwhile.
func refusingAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

type tmux struct {
	t       *testing.T
	session string
	socket  string
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
	out, err := exec.Command("tmux", "-S", x.socket, "capture-pane", "-p", "-t", x.session).CombinedOutput()
	if err != nil {
		return "(no screen: " + strings.TrimSpace(string(out)) + ")"
	}
	return string(out)
}

func (x *tmux) keys(keys ...string) {
	x.run(append([]string{"send-keys", "-t", x.session}, keys...)...)
}

func (x *tmux) text(s string) { x.run("send-keys", "-t", x.session, "-l", s) }

func (x *tmux) waitFor(what string, ok func(screen string) bool) string {
	x.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var screen string
	for time.Now().Before(deadline) {
		screen = x.screen()
		if ok(screen) {
			return screen
		}
		time.Sleep(100 * time.Millisecond)
	}
	x.t.Fatalf("timed out waiting for %s; the screen:\n%s", what, screen)
	return ""
}

// TestTerminalEndToEnd drives the real binary in tmux at 80x24 against a
// real demo feed server over loopback, as a responder would: it ticks a
// step and sees it acknowledged, adds a note and sees it in the timeline.
func TestTerminalEndToEnd(t *testing.T) {
	t.Parallel()
	testprog.Need(t, "tmux", "tmux")
	bin := buildVigil(t)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	server := exec.CommandContext(ctx, bin, "demo", "--no-ui", "--listen", addr)
	var serverOut bytes.Buffer
	server.Stdout, server.Stderr = &serverOut, &serverOut
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Wait()
	defer cancel()
	up := false
	for i := 0; i < 100 && !up; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			up = resp.StatusCode == 200
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !up {
		t.Fatalf("demo feed did not come up:\n%s", serverOut.String())
	}

	home := t.TempDir()
	x := &tmux{t: t, session: "vigil-e2e", socket: filepath.Join(home, "tmux.sock")}
	stderrLog := filepath.Join(home, "stderr.log")
	cmd := fmt.Sprintf("env HOME=%s XDG_STATE_HOME=%s/state TERM=xterm-256color %s --feed ws://%s/feed --actor e2e-tester 2>%s", home, home, bin, addr, stderrLog)
	defer func() {
		if t.Failed() {
			data, _ := os.ReadFile(stderrLog)
			t.Logf("vigil's stderr:\n%s", data)
		}
	}()
	x.run("new-session", "-d", "-s", x.session, "-x", "80", "-y", "24", cmd)
	defer exec.Command("tmux", "-S", x.socket, "kill-server").Run()

	x.waitFor("the incident and the checklist tab", func(s string) bool {
		return strings.Contains(s, "INC-1") && strings.Contains(s, "4 Checklist")
	})
	x.keys("4")
	x.waitFor("the checklist", func(s string) bool { return strings.Contains(s, "Email affected customers") })
	x.keys("j", "j", "Space")
	screen := x.waitFor("the tick acknowledged", func(s string) bool {
		for _, line := range strings.Split(s, "\n") {
			if strings.Contains(line, "Email affected customers") && strings.Contains(line, "e2e-tester") && !strings.Contains(line, "sending") {
				return true
			}
		}
		return false
	})
	if !strings.Contains(screen, "[✓]") {
		t.Fatalf("no tick box:\n%s", screen)
	}

	x.keys("n")
	x.waitFor("the note prompt", func(s string) bool { return strings.Contains(s, "note>") })
	x.text("exim queue purged, load falling")
	x.keys("Enter", "3")
	x.waitFor("the note in the timeline", func(s string) bool {
		return strings.Contains(s, "e2e-tester") && strings.Contains(s, "exim queue purged, load falling")
	})

	// The note shows in the timeline as its entry arrives, a moment before
	// its ack: q may still find it unacknowledged and ask, as it should.
	x.keys("q")
	screen = x.waitFor("vigil to exit, or to ask first", func(s string) bool { return !strings.Contains(s, "INC-1") || strings.Contains(s, "Quit anyway?") })
	if strings.Contains(screen, "Quit anyway?") {
		x.keys("y")
		x.waitFor("vigil to exit", func(s string) bool { return !strings.Contains(s, "INC-1") })
	}
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCommandLineExitStatus(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("[dashboard]\nbel = true\n"), 0o644)
	// The example as a hub would use it: its data_dir one this test can
	// write, its variables set.
	example, err := os.ReadFile("config.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	usable := filepath.Join(dir, "example.toml")
	os.WriteFile(filepath.Join(dir, "authorized_keys"), nil, 0o600)
	example = bytes.ReplaceAll(example, []byte(`"/var/lib/vigil`), []byte(`"`+filepath.Join(dir, "data")))
	example = bytes.ReplaceAll(example, []byte(`"/etc/vigil`), []byte(`"`+dir))
	os.WriteFile(usable, example, 0o644)
	// The example's customers file, relative to the example.
	os.MkdirAll(filepath.Join(dir, "docs"), 0o755)
	if csv, err := os.ReadFile("docs/customers.example.csv"); err == nil {
		os.WriteFile(filepath.Join(dir, "docs", "customers.example.csv"), csv, 0o644)
	}
	for _, v := range []string{"VIGIL_SMTP_USER", "VIGIL_SMTP_PASSWORD", "VIGIL_HOOK_SECRET", "VIGIL_AGENT_TOKEN"} {
		t.Setenv(v, "s3cret")
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"version", []string{"version"}, 0, "vigil "},
		{"--version", []string{"--version"}, 0, "vigil "},
		{"--version after a flag", []string{"--actor", "x", "--version"}, 0, "vigil "},
		{"help", []string{"--help"}, 0, ""},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"bad flag", []string{"serve", "--nope"}, 2, "flag provided but not defined"},
		{"bad config", []string{"check-config", bad}, 2, bad + ":2: dashboard.bel: unknown key"},
		{"missing config", []string{"check-config", filepath.Join(dir, "none.toml")}, 2, "none.toml"},
		{"example config", []string{"check-config", usable}, 0, "is valid"},
		{"export needs a source", []string{"export", "--incident", "INC-1"}, 2, "exactly one of"},
		{"export of a missing journal", []string{"export", "--journal", filepath.Join(dir, "none.jsonl"), "--incident", "INC-1"}, 1, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(tt.args...)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tt.code, out, errOut)
			}
		})
	}
}

// TestNoColorInTerminal: under NO_COLOR the real binary draws states with
// symbols, words, bold and reverse, and no colour at all.
func TestNoColorInTerminal(t *testing.T) {
	t.Parallel()
	testprog.Need(t, "tmux", "tmux")
	bin := buildVigil(t)
	home := t.TempDir()
	colourSGR := regexp.MustCompile(`\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;[0-9;]+)m`)
	for _, noColor := range []bool{true, false} {
		x := &tmux{t: t, session: "vigil-nc", socket: filepath.Join(home, fmt.Sprintf("nc-%v.sock", noColor))}
		env := fmt.Sprintf("env HOME=%s TERM=xterm-256color", home)
		if noColor {
			env += " NO_COLOR=1"
		}
		x.run("new-session", "-d", "-s", x.session, "-x", "80", "-y", "24", env+" "+bin)
		screen := x.waitFor("the demo", func(s string) bool { return strings.Contains(s, "✗ crit") })
		styled := x.run("capture-pane", "-e", "-p", "-t", x.session)
		x.keys("q")
		exec.Command("tmux", "-S", x.socket, "kill-server").Run()
		if got := colourSGR.MatchString(styled); got == noColor {
			t.Fatalf("NO_COLOR=%v: colour codes present = %v\n%s", noColor, got, screen)
		}
	}
}

func TestHelpIsTheOverviewAndTheDashboardFlags(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"--actor", "x", "--help"}, {"help"}} {
		code, out, errOut := runCLI(args...)
		all := out + errOut
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, all)
		}
		for _, want := range []string{"vigil serve", "vigil demo", "vigil export", "vigil check-config", "vigil version", "-feed", "-actor", "-config"} {
			if !strings.Contains(all, want) {
				t.Fatalf("%v: no %q in\n%s", args, want, all)
			}
		}
	}
}

// TestVersionOfTheRealBinary: --version and version print the revision the
// binary was built from, read from its build information.
func TestVersionOfTheRealBinary(t *testing.T) {
	t.Parallel()
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a git checkout (%v): the binary has no revision to show", err)
	}
	if st, err := os.Stat(".git"); err != nil || !st.IsDir() {
		// go build stamps VCS information only where .git is a directory.
		t.Skip(".git is not a directory here (a git worktree): go build stamps no revision; a clone does")
	}
	bin := filepath.Join(t.TempDir(), "vigil")
	// -buildvcs=true: GOFLAGS may turn stamping off; the release build must not.
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, arg := range []string{"--version", "version"} {
		out, err := exec.Command(bin, arg).CombinedOutput()
		if err != nil {
			t.Fatalf("vigil %s: %v\n%s", arg, err, out)
		}
		if !strings.HasPrefix(string(out), "vigil ") || !strings.Contains(string(out), "revision "+strings.TrimSpace(string(head))) {
			t.Fatalf("vigil %s printed %q, want the revision %s", arg, out, head)
		}
	}
}

func TestCheckConfigPrintsTheDefaultsUsed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(path, []byte(fmt.Sprintf("[serve]\ndata_dir = %q\n[[serve.checks]]\nname = \"web\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:80\"\n[[serve.checks]]\nname = \"page\"\ntype = \"http\"\ntarget = \"http://127.0.0.1/\"\n", t.TempDir())), 0o644)
	code, out, errOut := runCLI("check-config", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{`every = "10s"`, `timeout = "5s"`, "rise = 2", "fall = 3", "expect = 200"} {
		if !strings.Contains(out, want) {
			t.Fatalf("no %s in\n%s", want, out)
		}
	}
	if strings.Contains(out, `"0s"`) || strings.Contains(out, "expect = 0") {
		t.Fatalf("a default shown as 0s:\n%s", out)
	}
}

// TestProtocolDocIsTheSharedOne: the repository ships the protocol the
// README links, identical to the contract it was written from.
func TestProtocolDocIsTheSharedOne(t *testing.T) {
	t.Parallel()
	shared, err := os.ReadFile(filepath.Join("..", "shared", "PROTOCOL.md"))
	if err != nil {
		t.Skipf("../shared/PROTOCOL.md is not here (%v): nothing to compare docs/PROTOCOL.md with", err)
	}
	ours, err := os.ReadFile(filepath.Join("docs", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ours, shared) {
		t.Fatal("docs/PROTOCOL.md differs from ../shared/PROTOCOL.md: copy it over")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(readme, []byte("../shared/")) || !bytes.Contains(readme, []byte("(docs/PROTOCOL.md)")) {
		t.Fatal("the README must link docs/PROTOCOL.md, which a clone has, not ../shared/")
	}
}
