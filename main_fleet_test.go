package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/client/clienttest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// writeHubConfig writes dir/hub.toml for a hub that journals in dir/hub,
// probes no load of its own and takes agents named agent-* with the token
// in TEST_AGENT_TOKEN; it returns the file's path.
func writeHubConfig(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "hub.toml")
	if err := os.WriteFile(path, []byte(`[serve]
data_dir = "`+filepath.Join(dir, "hub")+`"
probe_load = false

[[serve.agents]]
token_env = "TEST_AGENT_TOKEN"
hosts = ["agent-*"]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// vigil serve as a hub and vigil serve as an agent, the real binary
// twice: the agent's host and its check reach a dashboard through the hub.
func TestServeHubAndAgent(t *testing.T) {
	t.Parallel()
	bin := buildVigil(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	hubConf := writeHubConfig(t, dir)
	agentConf := filepath.Join(dir, "agent.toml")
	os.WriteFile(agentConf, []byte(`[serve]
host = "agent-1"
interval = "200ms"

[[serve.checks]]
name = "smtp"
type = "tcp"
target = "`+refusingAddr(t)+`"
every = "200ms"

[serve.report]
urls = ["ws://`+addr+`/feed"]
token_env = "TEST_AGENT_TOKEN"
`), 0o600)
	seen, logs := runHubAndAgent(t, bin, addr, hubConf, agentConf)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if seen.Loads() > 0 && containsText(seen.EntryTexts(), "smtp on agent-1 new → down: connect ") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the agent's host and its down check never reached the dashboard: loads %d, entries %q\nlogs:\n%s", seen.Loads(), seen.EntryTexts(), logs.String())
}

// runHubAndAgent starts the real binary as a hub on addr and as an agent
// (agent token "t0ken" in TEST_AGENT_TOKEN), and a feed client on the hub
// whose collector the test reads; everything ends with the test.
func runHubAndAgent(t *testing.T, bin, addr, hubConf, agentConf string) (*clienttest.Collector, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	env := append(os.Environ(), "TEST_AGENT_TOKEN=t0ken")
	logs := &lockedBuffer{}
	var procs sync.WaitGroup
	for _, args := range [][]string{{"serve", "--config", hubConf, "--listen", addr}, {"serve", "--config", agentConf}} {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, logs, logs
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		procs.Add(1)
		go func() { defer procs.Done(); cmd.Wait() }()
	}
	tm := client.DefaultTimings()
	tm.BackoffMin, tm.BackoffMax = 10*time.Millisecond, 100*time.Millisecond
	c, err := client.New([]client.FeedConfig{{Name: "hub", URL: "ws://" + addr + "/feed"}}, "", tm)
	if err != nil {
		cancel()
		procs.Wait()
		t.Fatal(err)
	}
	seen := clienttest.Collect(ctx, c.Store())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; <-seen.Done(); procs.Wait() })
	return seen, logs
}

func containsText(list []string, prefix string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
