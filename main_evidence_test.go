package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Issue 13's "done when": a crit crossing on a real agent shows in the
// hub's journal with the process that caused it. The real binary runs as
// hub and as agent; a process the test starts burns CPU under a name of
// its own; the agent's thresholds make any load crit, so its first load
// is a crossing; the evidence entry the dashboard's client receives must
// name the burner and carry the configured command's output.
func TestCritCrossingJournalsTheCulprit(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc: evidence is captured from /proc")
	}
	bin := buildVigil(t)
	dir := t.TempDir()
	const culprit = "vigil-culprit" // within comm's 15 bytes
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skipf("no /bin/sh to copy: %v", err)
	}
	burner := filepath.Join(dir, culprit)
	// Copied by cp, not written here: a test running beside this one may
	// fork while this process holds the new file open for writing, and
	// the exec would then fail with "text file busy".
	if out, err := exec.Command("cp", "/bin/sh", burner).CombinedOutput(); err != nil {
		t.Fatalf("cp /bin/sh: %v: %s", err, out)
	}
	burn := exec.Command(burner, "-c", "while :; do :; done")
	burn.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := burn.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { burn.Process.Kill(); burn.Wait() }()

	addr := freeAddr(t)
	hubConf := writeHubConfig(t, dir)
	agentConf := filepath.Join(dir, "agent.toml")
	os.WriteFile(agentConf, []byte(`[thresholds]
load_warn_per_cpu = 0.0001
load_crit_per_cpu = 0.0002

[serve]
host = "agent-1"
interval = "500ms"

[serve.evidence]
processes = 15

[[serve.evidence.commands]]
name = "marker"
command = "echo the-night-with-logs"
timeout = "2s"

[serve.report]
urls = ["ws://`+addr+`/feed"]
token_env = "TEST_AGENT_TOKEN"
`), 0o600)
	seen, logs := runHubAndAgent(t, bin, addr, hubConf, agentConf)

	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range seen.Journal() {
			e, ok := m.(*protocol.Entry)
			if !ok || e.Kind != protocol.EntryEvidence || e.Evidence == nil {
				continue
			}
			if e.Host != "agent-1" || !strings.HasPrefix(e.Evidence.Reason, "load crit") {
				t.Fatalf("evidence for the wrong host or reason: %+v", e)
			}
			named := false
			for _, p := range e.Evidence.Processes {
				named = named || p.Command == culprit && p.PID == burn.Process.Pid && p.CPUPct > 0
			}
			if !named {
				t.Fatalf("the evidence does not name the burning process (pid %d): %+v", burn.Process.Pid, e.Evidence.Processes)
			}
			if len(e.Evidence.Outputs) != 1 || e.Evidence.Outputs[0].Name != "marker" || !strings.Contains(e.Evidence.Outputs[0].Text, "the-night-with-logs") {
				t.Fatalf("the configured command's output is missing: %+v", e.Evidence.Outputs)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no evidence entry reached the dashboard; entries %q\nlogs:\n%s", seen.EntryTexts(), logs.String())
}
