//go:build linux

package export

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/probe"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// From the process that burns the CPU to the page that names it: a real
// capture on this host, journaled by the hub, exported.
func TestCapturedProcessReachesThePostMortem(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	sh, err := os.ReadFile("/bin/sh")
	if err != nil {
		t.Skipf("no /bin/sh to copy: %v", err)
	}
	const name = "vigil-burn-pm"
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, sh, 0o755); err != nil {
		t.Fatal(err)
	}
	burn := exec.Command(path, "-c", "while :; do :; done")
	burn.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // its own autogroup: a share of its own on a busy host
	if err := burn.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { burn.Process.Kill(); burn.Wait() }()
	os.WriteFile(fmt.Sprintf("/proc/%d/autogroup", burn.Process.Pid), []byte("-10"), 0) // best effort

	dir := t.TempDir()
	j, _, err := journal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	h := server.NewHub(j, server.Options{})
	yes := true
	h.Apply(protocol.Command{ID: "c-1", Actor: "alice", Op: "declare", Title: "Load on this host", Severity: "SEV2", Kind: "outage"}, true, nil)

	c := probe.NewCapturer(probe.EvidenceConfig{Window: time.Second, Commands: []probe.EvidenceCommand{{Name: "uptime", Command: "echo up"}}})
	defer c.Close()
	ev := c.Capture(context.Background(), "load crit: test")
	h.RecordEvidence(protocol.Evidence{Host: "this-host", At: protocol.At(time.Now()), EvidenceData: ev})
	h.Apply(protocol.Command{ID: "c-2", Actor: "alice", Op: "check", Incident: "INC-1", Item: "ack", Done: &yes}, true, nil)

	src, err := FromJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(src, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	r.Markdown(&md)
	if len(r.Evidence) != 1 || r.Evidence[0].Incident != "INC-1" {
		t.Fatalf("evidence = %+v", r.Evidence)
	}
	row := ""
	for _, line := range strings.Split(md.String(), "\n") {
		if strings.Contains(line, "| "+name+" |") {
			row = line
		}
	}
	if row == "" || !strings.Contains(md.String(), "**uptime** (exit 0):\n\n```text\nup\n```") {
		t.Fatalf("the post-mortem does not name %s:\n%s", name, md.String())
	}
	if !strings.Contains(row, fmt.Sprintf("| %d |", burn.Process.Pid)) {
		t.Fatalf("row %q does not name pid %d", row, burn.Process.Pid)
	}
}
