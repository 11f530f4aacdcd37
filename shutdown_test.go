package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// exitWithin is how long vigil may take to end after SIGTERM or q: a
// liveness bound that catches a hang (issue 10), not a speed figure.
const exitWithin = 2 * time.Second

// ptyVigil is the real binary in a pseudo-terminal of 80x24. The test
// keeps the terminal's own side open to read its modes after vigil exits.
type ptyVigil struct {
	t      *testing.T
	cmd    *exec.Cmd
	master *os.File
	tty    *os.File
	home   string

	mu     sync.Mutex
	out    []byte
	read   chan struct{}
	exited chan struct{}
	err    error // from Wait, once exited
}

func startPty(t *testing.T, bin, home string, args ...string) *ptyVigil {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	if err := pty.Setsize(master, &pty.Winsize{Cols: 80, Rows: 24}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"TERM=xterm-256color", "HOME=" + home, "XDG_STATE_HOME=" + home + "/state",
		"XDG_CONFIG_HOME=" + home + "/config", "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "USER=pty-tester"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	v := &ptyVigil{t: t, cmd: cmd, master: master, tty: tty, home: home, read: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		defer close(v.read)
		buf := make([]byte, 32<<10)
		for {
			n, err := master.Read(buf)
			v.mu.Lock()
			v.out = append(v.out, buf[:n]...)
			v.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { v.err = cmd.Wait(); close(v.exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-v.exited
		tty.Close()
		master.Close()
		<-v.read
	})
	return v
}

func (v *ptyVigil) output() []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]byte(nil), v.out...)
}

func (v *ptyVigil) waitFor(what string, want ...string) {
	v.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		out := v.output()
		all := true
		for _, w := range want {
			all = all && bytes.Contains(out, []byte(w))
		}
		if all {
			return
		}
		select {
		case <-v.exited:
			v.t.Fatalf("vigil exited (%v) while waiting for %s; output:\n%q", v.err, what, tail(v.output()))
		case <-time.After(10 * time.Millisecond):
		}
	}
	v.t.Fatalf("timed out waiting for %s; output:\n%q", what, tail(v.output()))
}

func (v *ptyVigil) typeKeys(s string) {
	v.t.Helper()
	if _, err := v.master.WriteString(s); err != nil {
		v.t.Fatal(err)
	}
}

// typeAndWait types keys and waits until vigil draws something after
// them (the screen's words are the dashboard's to change).
func (v *ptyVigil) typeAndWait(what, keys string) {
	v.t.Helper()
	n := len(v.output())
	v.typeKeys(keys)
	deadline := time.Now().Add(20 * time.Second)
	for len(v.output()) == n {
		if time.Now().After(deadline) {
			v.t.Fatalf("nothing drawn after %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let the frame finish
}

// waitPending waits until a tick of step item is in vigil's outbox on
// disk: a command the hub has not answered.
func (v *ptyVigil) waitPending(item string) {
	v.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(v.home, "state", "vigil", "outbox-*.json"))
		for _, f := range files {
			if data, _ := os.ReadFile(f); bytes.Contains(data, []byte(`"item":"`+item+`"`)) {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	v.t.Fatalf("no pending tick of %s in the outbox; output:\n%q", item, tail(v.output()))
}

// tickFirstStep ticks the checklist's first step on the stalling hub,
// which leaves it pending.
func (v *ptyVigil) tickFirstStep() {
	v.t.Helper()
	v.waitFor("the incident", "INC-7")
	v.typeKeys("4")
	v.waitFor("the checklist pane", "Acknowledge")
	v.typeKeys(" ")
	v.waitPending("ack")
}

// waitExit waits for vigil to end, failing the test if it takes longer
// than exitWithin, with a goroutine dump to say where it hung.
func (v *ptyVigil) waitExit(why string) {
	v.t.Helper()
	start := time.Now()
	defer func() { v.t.Logf("%s: exited after %s", why, time.Since(start).Round(time.Millisecond)) }()
	select {
	case <-v.exited:
	case <-time.After(exitWithin):
		v.cmd.Process.Signal(syscall.SIGQUIT) // the Go runtime prints every goroutine
		select {
		case <-v.exited:
		case <-time.After(5 * time.Second):
		}
		v.t.Fatalf("vigil did not exit within %s after %s; output:\n%s", exitWithin, why, tail(v.output()))
	}
}

// checkRestored: whatever vigil did to the terminal is undone: the
// terminal is back in cooked mode with echo, and if the output entered
// the alternate screen or hid the cursor, it ends having left it and
// shown the cursor.
func (v *ptyVigil) checkRestored(why string) {
	v.t.Helper()
	tio, err := unix.IoctlGetTermios(int(v.tty.Fd()), unix.TCGETS)
	if err != nil {
		v.t.Fatal(err)
	}
	if tio.Lflag&unix.ECHO == 0 || tio.Lflag&unix.ICANON == 0 {
		v.t.Errorf("after %s the terminal was left in raw mode (lflag %#x)", why, tio.Lflag)
	}
	// Everything vigil wrote has been read once its side is closed.
	v.tty.Close()
	select {
	case <-v.read:
	case <-time.After(5 * time.Second):
		v.t.Fatal("the terminal's output did not end")
	}
	out := v.output()
	pairs := []struct{ set, reset, what string }{
		{"\x1b[?1049h", "\x1b[?1049l", "left in the alternate screen"},
		{"\x1b[?25l", "\x1b[?25h", "left with the cursor hidden"},
	}
	for _, p := range pairs {
		set := bytes.LastIndex(out, []byte(p.set))
		if set >= 0 && bytes.LastIndex(out, []byte(p.reset)) < set {
			v.t.Errorf("after %s the terminal was %s; output ends:\n%q", why, p.what, tail(out))
		}
	}
}

func tail(b []byte) []byte {
	if len(b) > 600 {
		return b[len(b)-600:]
	}
	return b
}

// stallingHub is a real vigil.v1 hub on loopback that serves one open
// incident and never answers a command: whatever is ticked stays pending.
// A deaf one also stops reading after the subscribe, so what vigil sends
// fills the connection's buffers and its writes block.
func stallingHub(t *testing.T, deaf bool) string {
	url, _ := recordingHub(t, deaf)
	return url
}

// recordingHub is stallingHub, also telling which command ids it read.
func recordingHub(t *testing.T, deaf bool) (string, func() []string) {
	t.Helper()
	up := websocket.Upgrader{Subprotocols: []string{protocol.Subprotocol}}
	var mu sync.Mutex
	var ids []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		wg.Add(1)
		defer wg.Done()
		defer conn.Close()
		now := time.Now()
		due := protocol.DurationPtr(30 * time.Minute)
		frames := []protocol.Message{
			&protocol.Hello{Protocol: 1, Server: "stall", Journal: "j-stall", Seq: 1, Time: protocol.At(now)},
			&protocol.IncidentMsg{Seq: 1, Incident: protocol.Incident{ID: "INC-7", Title: "Mail delayed", Severity: "SEV2", Kind: "outage",
				Status: "investigating", Commander: "alice", OpenedAt: protocol.At(now.Add(-5 * time.Minute)),
				Checklist: []protocol.Item{{ID: "ack", Title: "Acknowledge and take ownership", Due: due}, {ID: "status-page", Title: "First notice on the status page", Due: due}}}},
			&protocol.Synced{Seq: 1},
		}
		for i, m := range frames {
			if i == 1 {
				if _, _, err := conn.ReadMessage(); err != nil { // subscribe
					return
				}
			}
			if conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(m)) != nil {
				return
			}
		}
		go func() { <-stop; conn.Close() }()
		if deaf {
			<-stop
			return
		}
		for { // read commands, answer none
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if cmd, ok := decodeCommand(data); ok {
				mu.Lock()
				ids = append(ids, cmd.ID)
				mu.Unlock()
			}
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close(); wg.Wait() })
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/feed", func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ids...)
	}
}

func decodeCommand(frame []byte) (*protocol.Command, bool) {
	m, err := protocol.Decode(frame)
	cmd, ok := m.(*protocol.Command)
	return cmd, err == nil && ok
}

// TestSIGTERMAtManyMomentsExitsAndRestoresTheTerminal is issue 10 item 1:
// the real binary, SIGTERM before the first frame, during it, mid-stream,
// in a dialog, with a command pending, with a full outbox and a hub that
// stopped reading: each run exits within 2 s and restores the terminal.
func TestSIGTERMAtManyMomentsExitsAndRestoresTheTerminal(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the shutdown runs start the real binary 28 times")
	}
	bin := buildVigil(t)
	hub, deafHub := stallingHub(t, false), stallingHub(t, true)
	type moment struct {
		name string
		feed string // a hub's URL, instead of the built-in demo
		// before prepares vigil's home; at brings vigil to the moment.
		before func(t *testing.T, home string)
		at     func(v *ptyVigil)
	}
	after := func(d time.Duration) func(*ptyVigil) { return func(*ptyVigil) { time.Sleep(d) } }
	screen := func(v *ptyVigil) { v.waitFor("the first frame", "\x1b[?1049h") }
	moments := []moment{
		{name: "at once", at: func(*ptyVigil) {}},
		{name: "after 10ms", at: after(10 * time.Millisecond)},
		{name: "after 40ms", at: after(40 * time.Millisecond)},
		{name: "after 120ms", at: after(120 * time.Millisecond)},
		{name: "first frame", at: screen},
		{name: "mid-stream", at: func(v *ptyVigil) { v.waitFor("the incident", "INC-1", "Load"); time.Sleep(300 * time.Millisecond) }},
		{name: "help dialog", at: func(v *ptyVigil) { v.waitFor("the incident", "INC-1"); v.typeAndWait("? (help)", "?") }},
		{name: "note prompt", at: func(v *ptyVigil) {
			v.waitFor("the incident", "INC-1")
			v.typeAndWait("n (note)", "n")
			v.typeAndWait("typing a note", "half a no")
		}},
		{name: "command pending", feed: hub, at: func(v *ptyVigil) { v.tickFirstStep() }},
		{name: "quit confirm with a command pending", feed: hub, at: func(v *ptyVigil) {
			v.tickFirstStep()
			v.typeAndWait("q (confirm)", "q")
		}},
		{name: "full outbox, hub resending", feed: hub,
			before: func(t *testing.T, home string) { fillOutbox(t, home, hub, 200, 64<<10) },
			at:     func(v *ptyVigil) { v.waitFor("the incident", "INC-7"); time.Sleep(100 * time.Millisecond) }},
		{name: "full outbox, hub stopped reading", feed: deafHub,
			before: func(t *testing.T, home string) { fillOutbox(t, home, deafHub, 200, 64<<10) },
			at:     func(v *ptyVigil) { v.waitFor("the incident", "INC-7"); time.Sleep(300 * time.Millisecond) }},
		{name: "mid-stream on a hub", feed: hub, at: func(v *ptyVigil) { v.waitFor("the incident", "INC-7"); time.Sleep(200 * time.Millisecond) }},
		{name: "first frame on a hub", feed: hub, at: screen},
	}
	for _, m := range moments {
		for run := 1; run <= 2; run++ {
			t.Run(fmt.Sprintf("%s/%d", m.name, run), func(t *testing.T) {
				home := t.TempDir()
				if m.before != nil {
					m.before(t, home)
				}
				var args []string
				if m.feed != "" {
					args = []string{"--feed", m.feed, "--actor", "pty-tester"}
				}
				v := startPty(t, bin, home, args...)
				m.at(v)
				if err := v.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
					t.Fatal(err)
				}
				v.waitExit("SIGTERM " + m.name)
				var ee *exec.ExitError
				if errors.As(v.err, &ee) && !ee.Exited() {
					// Killed by the signal itself: only acceptable before
					// vigil installed its handler, having written nothing.
					if len(v.output()) > 0 {
						t.Fatalf("killed by SIGTERM after writing to the terminal: %v", v.err)
					}
				}
				v.checkRestored("SIGTERM " + m.name)
			})
		}
	}
}

// fillOutbox leaves n unsent notes of size bytes for the feed at url, as
// a dashboard that could not reach its hub would.
func fillOutbox(t *testing.T, home, url string, n, size int) {
	t.Helper()
	one := protocol.MustEncode(&protocol.Command{ID: "c-0000", Actor: "pty-tester", Op: protocol.OpNote, Incident: "INC-7", Text: strings.Repeat("n", size)})
	// Each note copied once into a buffer of the file's size, its id
	// written in place: the race detector shadows every byte moved.
	at := bytes.Index(one, []byte("c-0000"))
	data := make([]byte, 0, 2+n*(len(one)+1))
	data = append(data, '[')
	for i := 0; i < n; i++ {
		if i > 0 {
			data = append(data, ',')
		}
		data = append(data, one...)
		copy(data[len(data)-len(one)+at:], fmt.Sprintf("c-%04d", i))
	}
	data = append(data, ']')
	path := client.OutboxPath(filepath.Join(home, "state", "vigil"), "feed1", url)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestQEndsTheDemo is issue 10 item 2: q on the built-in demo, where
// nothing is unsent, exits 0 within 2 s and restores the terminal.
func TestQEndsTheDemo(t *testing.T) {
	t.Parallel()
	bin := buildVigil(t)
	for run := 1; run <= 3; run++ {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			v := startPty(t, bin, t.TempDir())
			v.waitFor("the demo's incident", "INC-1", "Load")
			v.typeKeys("q")
			v.waitExit("q")
			if v.err != nil {
				t.Fatalf("q: %v", v.err)
			}
			v.checkRestored("q")
		})
	}
}

// TestQWithACommandPendingConfirmsThenExits: with an unanswered tick, q
// asks first (vigil is still running); y exits 0 within 2 s.
func TestQWithACommandPendingConfirmsThenExits(t *testing.T) {
	t.Parallel()
	bin := buildVigil(t)
	hub := stallingHub(t, false)
	v := startPty(t, bin, t.TempDir(), "--feed", hub, "--actor", "pty-tester")
	v.tickFirstStep()
	v.typeAndWait("q (confirm)", "q")
	select {
	case <-v.exited:
		t.Fatalf("q quit with a command unsent, without asking (%v)", v.err)
	default:
	}
	v.typeKeys("y")
	v.waitExit("q, y")
	if v.err != nil {
		t.Fatalf("q, y: %v", v.err)
	}
	v.checkRestored("q, y")
}

// TestDamagedOutboxStartsAndSaysSo is issue 10 item 13 in the real binary:
// a damaged outbox does not keep the dashboard from starting; the screen
// says what was recovered, the whole commands are sent, and the damaged
// file is kept aside.
func TestDamagedOutboxStartsAndSaysSo(t *testing.T) {
	t.Parallel()
	bin := buildVigil(t)
	hub, received := recordingHub(t, false)
	home := t.TempDir()
	fillOutbox(t, home, hub, 2, 10)
	path := client.OutboxPath(filepath.Join(home, "state", "vigil"), "feed1", hub)
	whole, _ := os.ReadFile(path)
	damaged := append(whole[:len(whole)-1:len(whole)-1], []byte(`,{"type":"command","id":"c-torn","op":"no`)...)
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	v := startPty(t, bin, home, "--feed", hub, "--actor", "pty-tester")
	v.waitFor("the notice on screen", "outbox damaged, 2 unsent command(s) recovered")
	aside, _ := filepath.Glob(path + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("damaged file kept as %v", aside)
	}
	if kept, _ := os.ReadFile(aside[0]); !bytes.Equal(kept, damaged) {
		t.Fatal("the damaged file was changed")
	}
	deadline := time.Now().Add(20 * time.Second)
	for !slices.Equal(received(), []string{"c-0000", "c-0001"}) {
		if time.Now().After(deadline) {
			t.Fatalf("the hub got %v, want the two whole commands", received())
		}
		time.Sleep(10 * time.Millisecond)
	}
	v.typeAndWait("q (the confirm: the hub answers nothing)", "q")
	v.typeKeys("y")
	v.waitExit("q, y")
	if v.err != nil {
		t.Fatalf("exit: %v", v.err)
	}
	v.checkRestored("q, y")
	if out := v.output(); !bytes.Contains(out, []byte("vigil: the outbox")) || !bytes.Contains(out, []byte("2 unsent command(s) recovered")) {
		t.Fatalf("nothing said after exit:\n%q", tail(out))
	}
}
