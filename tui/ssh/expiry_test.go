package ssh

import (
	"strings"
	"testing"
	"time"
)

// A session with no input for idle_timeout, or older than max_timeout,
// ends: the responder's terminal is restored, a line says why, ssh exits
// cleanly, and the dashboard is gone from the hub. Input keeps a session
// from going idle.
//
// Two tests, not one with two cases: each mostly waits out its timeout,
// and as parallel tests of their own neither waits for the other to be
// scheduled; the shorter tests run beside them.

func TestSessionPastItsLongestLifeEndsWhileTyping(t *testing.T) {
	t.Parallel()
	// Typing every idle/8 keeps the session out of idle even when a
	// loaded machine delays a keystroke by several of those steps.
	checkSessionTimesOut(t, 4*time.Second, 8*time.Second, true, "a session lasts at most 8s: session ended")
}

func TestIdleSessionEnds(t *testing.T) {
	t.Parallel()
	checkSessionTimesOut(t, 2*time.Second, 0, false, "no input for 2s: session ended")
}

func checkSessionTimesOut(t *testing.T, idle, maxLife time.Duration, typing bool, want string) {
	t.Helper()
	need(t, "ssh", "tmux")
	f := startFixture(t, idle, maxLife)
	x := f.openTmux("alice", f.sshArgs("alice"))
	x.waitFor("the dashboard", contains("INC-1"))
	ended := func() bool { dead, _ := x.exited(); return dead }
	for i := 0; typing && i < 80 && !ended(); i++ {
		x.keys("Tab") // input every eighth of idle_timeout: never idle
		time.Sleep(idle / 8)
	}
	x.waitFor("the notice", contains(want))
	x.waitFor("ssh to exit", func(string) bool { return ended() })
	if _, status := x.exited(); status != "0" && status != "" {
		t.Fatalf("ssh exited with %q, want 0 (a session that ended as it should)", status)
	}
	if strings.Contains(x.screen(), "4 Checklist") {
		t.Fatalf("the dashboard is still on the responder's screen:\n%s", x.screen())
	}
	eventually(t, "the session gone from the hub", func() bool { return f.srv.Sessions() == 0 && f.hub.Subscribers() == 0 })
}
