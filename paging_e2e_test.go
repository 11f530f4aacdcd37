package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// pagerRelay is a real SMTP server on loopback that keeps each mail with
// its recipients and when it came.
type pagerRelay struct {
	mu    sync.Mutex
	mails []pagerMail
}

type pagerMail struct {
	to   []string
	body string
	at   time.Time
}

type pagerSession struct {
	r  *pagerRelay
	to []string
}

func (s *pagerSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *pagerSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *pagerSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.r.mu.Lock()
	s.r.mails = append(s.r.mails, pagerMail{to: s.to, body: strings.ReplaceAll(string(b), "=\r\n", ""), at: time.Now()})
	s.r.mu.Unlock()
	return err
}
func (s *pagerSession) Reset()        { s.to = nil }
func (s *pagerSession) Logout() error { return nil }

// to is the mails who received, one per Message-ID: a hub killed between
// the relay's answer and journaling it sends again with the same
// Message-ID (the window no sender can close), and a mail system shows
// that once.
func (r *pagerRelay) to(who string) []pagerMail {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pagerMail
	seen := map[string]bool{}
	for _, m := range r.mails {
		id := messageID.FindString(m.body)
		if slices.Contains(m.to, who) && !seen[id] {
			seen[id] = true
			out = append(out, m)
		}
	}
	return out
}

var messageID = regexp.MustCompile(`(?m)^Message-ID: <[^>]+>`)

func startPagerRelay(t *testing.T) (*pagerRelay, string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &pagerRelay{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &pagerSession{r: r}, nil }))
	s.Domain, s.ReadTimeout, s.WriteTimeout = "127.0.0.1", 10*time.Second, 10*time.Second
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	return r, ln.Addr().String()
}

// The "done when", with the real binary: a service going down on
// an agent's host pages the on-call by email within group + 5 s; the hub
// is killed with SIGKILL mid-escalation and restarted; the next level
// still fires on time and nobody is paged twice; the link in the mail
// acknowledges and nothing more is sent.
func TestPagingSurvivesKill9AndTheMailLinkAcks(t *testing.T) {
	t.Parallel()
	bin := buildVigil(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	relay, relayAddr := startPagerRelay(t)
	hubConf := filepath.Join(dir, "hub.toml")
	os.WriteFile(hubConf, []byte(fmt.Sprintf(`[serve]
data_dir = %q
probe_load = false

[[serve.agents]]
token_env = "TEST_AGENT_TOKEN"
hosts = ["agent-*"]

[[serve.channels]]
name = "pager-mail"
type = "email"
smtp = %q
tls = "none"
from = "pager@example.com"

[serve.paging]
email = "pager-mail"
url = "http://%s"

[[serve.paging.rules]]
on = ["down"]
escalation = "default"
group = "1s"

[[serve.people]]
name = "alice"
email = "alice@example.com"

[[serve.people]]
name = "bob"
email = "bob@example.com"

[[serve.rotations]]
name = "primary"
people = ["alice"]
start = "2026-01-05T09:00:00+01:00"
shift = "168h"

[[serve.escalations]]
name = "default"
levels = [ { notify = ["rotation:primary"], wait = "6s" },
           { notify = ["person:bob"], wait = "1h" } ]
`, filepath.Join(dir, "hub"), relayAddr, addr)), 0o600)
	agentConf := filepath.Join(dir, "agent.toml")
	os.WriteFile(agentConf, []byte(`[serve]
host = "agent-1"
interval = "200ms"

[[serve.checks]]
name = "smtp"
type = "tcp"
target = "`+refusingAddr(t)+`"
every = "200ms"
fall = 1

[serve.report]
urls = ["ws://`+addr+`/feed"]
token_env = "TEST_AGENT_TOKEN"
`), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	env := append(os.Environ(), "TEST_AGENT_TOKEN=t0ken")
	logs := &lockedBuffer{}
	start := func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, logs, logs
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	var procs sync.WaitGroup
	wait := func(cmd *exec.Cmd) {
		procs.Add(1)
		go func() { defer procs.Done(); cmd.Wait() }()
	}
	defer procs.Wait()
	defer cancel()
	hub := start("serve", "--config", hubConf, "--listen", addr)
	began := time.Now()
	wait(start("serve", "--config", agentConf))

	within := func(what string, d time.Duration, cond func() bool) time.Duration {
		t.Helper()
		from := time.Now()
		for time.Since(from) < d {
			if cond() {
				return time.Since(from)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s: not within %s\nlogs:\n%s", what, d, logs.String())
		return 0
	}
	// The agent connects, its check fails at once (nothing listens), the
	// hub pages after the group window: group + 5 s, plus both programs'
	// start-up on a loaded machine (the log line says how long it took).
	within("alice paged by email", 1*time.Second+5*time.Second+6*time.Second, func() bool { return len(relay.to("alice@example.com")) == 1 })
	first := relay.to("alice@example.com")[0]
	t.Logf("first page %s after the programs started", first.at.Sub(began).Round(time.Millisecond))
	if !strings.Contains(first.body, "Subject: [PG-1] agent-1: smtp down") {
		t.Fatalf("mail: %s", first.body)
	}

	// kill -9 mid-escalation, then start again on the same journal.
	hub.Process.Kill()
	hub.Wait()
	hub = start("serve", "--config", hubConf, "--listen", addr)
	wait(hub)
	within("bob paged at level 2", 15*time.Second, func() bool { return len(relay.to("bob@example.com")) == 1 })
	second := relay.to("bob@example.com")[0]
	// Level 2 is due 6 s after level 1 began (opened + group): on time
	// within the tick and the restart, never before.
	// (Bounds leave room for a loaded machine: the first mail may itself be
	// late by its relay's answer, the restart by the process start.)
	gap := second.at.Sub(first.at)
	t.Logf("level 2 %s after level 1 (due 6s after level 1 began)", gap.Round(time.Millisecond))
	if gap < 4*time.Second || gap > 10*time.Second {
		t.Errorf("level 2 came %s after level 1; want about 6s", gap)
	}
	if n := len(relay.to("alice@example.com")); n != 1 {
		t.Fatalf("alice paged %d times across the kill -9", n)
	}
	link := regexp.MustCompile(`Acknowledge: (http://\S+/ack/\S+)`).FindStringSubmatch(second.body)
	if link == nil {
		t.Fatalf("no link in %s", second.body)
	}
	resp, err := http.Post(link[1], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Acknowledged") {
		t.Fatalf("ack: %d %s", resp.StatusCode, body)
	}
	// Acknowledged: no level, no repeat; nothing more is sent while the
	// service stays down (a few of the hub's ticks).
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if n := len(relay.to("alice@example.com")) + len(relay.to("bob@example.com")); n != 2 {
			t.Fatalf("%d mails after the acknowledgement", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// vigil oncall, from the hub and from the file.
	for _, args := range [][]string{{"oncall", "--feed", "ws://" + addr + "/feed"}, {"oncall", "--config", hubConf}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "primary: alice is on call until ") {
			t.Fatalf("vigil %v: %v\n%s", args, err, out)
		}
	}
	resp, err = http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "vigil_pages_open 1") || !strings.Contains(string(body), "vigil_journal_fsync_seconds_count") {
		t.Fatalf("/metrics:\n%s", body)
	}
}
