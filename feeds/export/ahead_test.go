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

// A note made offline at 02:17:00 reaches the hub after an entry of
// 02:17:10: the post-mortem lists it first, marked as a late arrival.
func TestPostMortemListsALateNoteInTimeOrder(t *testing.T) {
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	j, _, err := journal.OpenWith(dir, journal.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	h := server.NewHub(j, server.Options{Now: clk.Now})
	n := 0
	cmd := func(at time.Duration, c protocol.Command) {
		clk.set(at)
		n++
		c.ID, c.Actor = "o-"+string(rune('a'+n)), "alice"
		if res := h.Apply(c, true, nil); res.Frame == nil {
			t.Fatalf("%+v: no answer", c)
		}
	}
	cmd(0, protocol.Command{Op: "declare", Title: "Mail down", Severity: "SEV2", Kind: "outage"})
	cmd(17*time.Minute+10*time.Second, protocol.Command{Op: "note", Incident: "INC-1", Text: "live note"})
	cmd(17*time.Minute+40*time.Second, protocol.Command{Op: "note", Incident: "INC-1", Text: "offline note", At: protocol.TimePtr(t0.Add(17 * time.Minute))})
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
	text := md.String()
	offline, live := strings.Index(text, "offline note"), strings.Index(text, "live note |")
	if offline < 0 || live < 0 || offline > live {
		t.Fatalf("the offline note is not listed before the later live one:\n%s", text)
	}
	if !strings.Contains(text, "offline note *(arrived late: journaled after 2026-11-22 02:17:10") {
		t.Fatalf("the late arrival is not marked:\n%s", text)
	}
	if len(r.LateArrivals) != 1 {
		t.Fatalf("late arrivals %+v", r.LateArrivals)
	}
}
