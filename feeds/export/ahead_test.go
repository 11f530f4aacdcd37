package export

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// A maintenance declared two days ahead could not announce itself a week
// ahead: its post-mortem says so and calls nothing late.
func TestPostMortemOfAMaintenanceDeclaredTwoDaysAhead(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	j, _, err := journal.OpenWith(dir, journal.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	h := server.NewHub(j, server.Options{Now: clk.Now})
	yes := true
	n := 0
	cmd := func(at time.Duration, c protocol.Command) {
		clk.set(at)
		n++
		c.ID, c.Actor = "m-"+string(rune('a'+n)), "alice"
		h.Apply(c, true, nil)
	}
	start := t0.Add(48 * time.Hour)
	cmd(0, protocol.Command{Op: "declare", Title: "Kernel upgrade", Severity: "SEV4", Kind: "maintenance",
		ScheduledStart: protocol.TimePtr(start), ScheduledEnd: protocol.TimePtr(start.Add(time.Hour))})
	cmd(10*time.Minute, protocol.Command{Op: "check", Incident: "INC-1", Item: "announce-week", Done: &yes})
	cmd(49*time.Hour, protocol.Command{Op: "status", Incident: "INC-1", Status: "resolved"})
	src, err := FromJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(src, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Steps {
		if s.ID == "announce-week" && (s.Late != nil || s.DeclaredAhead != "declared 2 days ahead") {
			t.Errorf("announce-week: late %v, declared ahead %q", s.Late, s.DeclaredAhead)
		}
	}
	if !strings.Contains(md.String(), "| declared 2 days ahead |") {
		t.Errorf("post-mortem does not say it was declared 2 days ahead:\n%s", md.String())
	}
	if strings.Contains(md.String(), "late by") {
		t.Errorf("post-mortem calls something late:\n%s", md.String())
	}
}
