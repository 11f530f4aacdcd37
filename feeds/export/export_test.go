package export

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

var t0 = time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) set(d time.Duration) {
	c.mu.Lock()
	c.now = t0.Add(d)
	c.mu.Unlock()
}

// night builds a journal with the real server: the seed's night, from
// load creeping up to the resolution notice.
func night(t *testing.T) (string, *server.Hub) {
	t.Helper()
	dir := t.TempDir()
	clk := &fakeClock{now: t0}
	j, _, err := journal.OpenWith(dir, journal.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	loadLog, _ := os.Create(filepath.Join(dir, server.LoadLogName))
	t.Cleanup(func() { loadLog.Close() })
	h := server.NewHub(j, server.Options{Now: clk.Now, LoadLog: loadLog})
	n := 0
	cmd := func(at time.Duration, actor string, c protocol.Command) {
		clk.set(at)
		n++
		c.ID, c.Actor = "c-"+string(rune('a'+n)), actor
		h.Apply(c, true, nil)
	}
	yes := true
	for m := -10; m <= 100; m++ {
		l1 := 1.0
		if m >= 0 && m < 60 {
			l1 = 3 + float64(m)/5
		}
		at := t0.Add(time.Duration(m) * time.Minute)
		h.PublishLoad(protocol.Load{Host: "web-3", At: protocol.At(at), Interval: protocol.Duration(time.Minute), Load1: l1, CPUs: 4})
		h.PublishLoad(protocol.Load{Host: "web-1", At: protocol.At(at), Interval: protocol.Duration(time.Minute), Load1: 0.5, CPUs: 4})
		if m == -2 {
			h.PublishService(protocol.Service{Host: "web-3", Service: "exim", State: "ok", At: protocol.At(at), Since: protocol.At(at)})
			h.PublishService(protocol.Service{Host: "web-3", Service: "exim", State: "down", Detail: "connect: connection refused", At: protocol.At(at), Since: protocol.At(at)})
			// Its agent captures as the check goes down; no incident is open.
			h.RecordEvidence(protocol.Evidence{Host: "web-3", At: protocol.At(at.Add(time.Second)), EvidenceData: eximDown})
		}
		if m == -5 { // another host's capture, which this incident does not name
			h.RecordEvidence(protocol.Evidence{Host: "web-1", At: protocol.At(at), EvidenceData: protocol.EvidenceData{Reason: "backup down", Processes: []protocol.Process{{PID: 9, User: "root", Command: "restic", Count: 1, CPUPct: 12, RSSKB: 4096}}}})
		}
		if m == 58 {
			h.PublishService(protocol.Service{Host: "web-3", Service: "exim", State: "ok", At: protocol.At(at), Since: protocol.At(at)})
		}
	}
	cmd(0, "alice", protocol.Command{Op: "declare", Title: "Mail down on web-3", Severity: "SEV2", Kind: "outage"})
	clk.set(5 * time.Minute) // load on web-3 crossed into crit; its agent captured
	h.RecordEvidence(protocol.Evidence{Host: "web-3", At: protocol.At(t0.Add(5 * time.Minute)), EvidenceData: loadCrit})
	cmd(2*time.Minute, "alice", protocol.Command{Op: "check", Incident: "INC-1", Item: "ack", Done: &yes})
	cmd(22*time.Minute, "bob", protocol.Command{Op: "check", Incident: "INC-1", Item: "status-page", Done: &yes})
	cmd(25*time.Minute, "bob", protocol.Command{Op: "note", Incident: "INC-1", Text: "exim queue full of bounces | copying logs before any restart"})
	clk.set(26 * time.Minute) // bob collects again before copying the logs
	h.RecordEvidence(protocol.Evidence{Host: "web-3", At: protocol.At(t0.Add(26 * time.Minute)), EvidenceData: collected})
	cmd(28*time.Minute, "carol", protocol.Command{Op: "check", Incident: "INC-1", Item: "email-customers", Done: &yes})
	cmd(35*time.Minute, "carol", protocol.Command{Op: "check", Incident: "INC-1", Item: "updates", Done: &yes})
	cmd(65*time.Minute, "carol", protocol.Command{Op: "check", Incident: "INC-1", Item: "updates", Done: &yes})
	cmd(90*time.Minute, "alice", protocol.Command{Op: "status", Incident: "INC-1", Status: "resolved"})
	cmd(100*time.Minute, "bob", protocol.Command{Op: "check", Incident: "INC-1", Item: "resolved-notice", Done: &yes})
	nightClock = clk
	return dir, h
}

// nightClock is the clock of the last night built.
var nightClock *fakeClock

// segment is the journal's (only) segment file in dir.
func segment(t *testing.T, dir string) string {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "journal-*.wal"))
	if len(segs) != 1 {
		t.Fatalf("segments in %s: %v", dir, segs)
	}
	return segs[0]
}

// What web-3's agent captured that night: the bounce storm behind the
// load, and outputs with what a Markdown file must not take literally.
var (
	eximDown = protocol.EvidenceData{
		Reason: "exim down: connect: connection refused",
		Processes: []protocol.Process{
			{PID: 4123, User: "shop42", Command: "php-cgi", Count: 240, CPUPct: 96.1, RSSKB: 81234},
			{PID: 880, User: "Debian-exim", Command: "exim4", Count: 31, CPUPct: 22.5, RSSKB: 40960},
		},
		Outputs: []protocol.Output{{Name: "mailq", Exit: 0, Text: "48211 requests in queue\n"}},
	}
	loadCrit = protocol.EvidenceData{
		Reason: "load crit: 4.00 on 4 CPUs",
		Processes: []protocol.Process{
			{PID: 4123, User: "shop42", Command: "php-cgi", Count: 240, CPUPct: 312.4, RSSKB: 2 << 20},
			{PID: 880, User: "Debian-exim", Command: "exim4", Count: 48, CPUPct: 40.2, RSSKB: 61440},
			{PID: 777, User: "1042", Command: "evil|cmd", Count: 1, CPUPct: 0.5, RSSKB: 512},
		},
		Outputs: []protocol.Output{
			{Name: "mailq", Exit: 0, Text: "52107 requests in queue\n"},
			{Name: "syslog", Exit: -1, Text: "...Nov 22 02:04:59 web-3 exim[880]: ``` \x1b[31mfrozen\x1b[0m | retry\n", Truncated: true, Error: "timed out after 5s"},
		},
	}
	collected = protocol.EvidenceData{
		Reason:    "collected by bob",
		Processes: []protocol.Process{{PID: 4123, User: "shop42", Command: "php-cgi", Count: 180, CPUPct: 250, RSSKB: 1 << 20}},
		Outputs:   []protocol.Output{{Name: "ss", Exit: 0, Text: ""}},
	}
)

func TestPostMortemGolden(t *testing.T) {
	path, _ := night(t)
	src, err := FromJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(src, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	r.Source = "journal.jsonl" // the temp dir differs per run
	var md, js bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.JSON(&js); err != nil {
		t.Fatal(err)
	}
	t.Run("markdown", func(t *testing.T) { golden.RequireEqual(t, md.String()) })
	t.Run("json", func(t *testing.T) { golden.RequireEqual(t, js.String()) })
	for _, want := range []string{"Time to acknowledge: 2m", "late by 7m", "Not done: Post on the social status channel", "## Root cause (to fill in)", "## What went well (to fill in)", `\|`,
		"### 02:05:00 web-3 — load crit: 4.00 on 4 CPUs", "| shop42 | php-cgi | 240 | 312.4 | 2.00 GiB | 4123 |", "| 1042 | evil\\|cmd |",
		"**syslog** (timed out after 5s; only the last", "````text\n...Nov 22 02:04:59 web-3 exim[880]: ``` frozen | retry\n````"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("post-mortem lacks %q", want)
		}
	}
}

func TestExportFromFeedMatchesJournal(t *testing.T) {
	path, hub := night(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { server.Serve(ctx, hub, ln, "/feed", "", ""); close(done) }()
	defer func() { cancel(); <-done }()
	// Four days on, the night is out of the hub's replay window: a fresh
	// subscriber gets only the incident's newest frame, and the export
	// pages the rest in.
	nightClock.set(96 * time.Hour)
	fromFeed, err := FromFeed(context.Background(), "ws://"+ln.Addr().String()+"/feed", "", "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	fromFile, _ := FromJournal(path)
	a, err := Build(fromFeed, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Build(fromFile, "INC-1")
	if len(a.Timeline) != len(b.Timeline) || len(a.Steps) != len(b.Steps) || a.TimeToComm != b.TimeToComm || len(a.Evidence) != len(b.Evidence) || len(a.Evidence) == 0 {
		t.Fatalf("feed and journal disagree: %d/%d entries, %q/%q, %d/%d evidence", len(a.Timeline), len(b.Timeline), a.TimeToComm, b.TimeToComm, len(a.Evidence), len(b.Evidence))
	}
	if !a.NoLoadHistory {
		t.Fatal("a feed carries no load history; the report should say so")
	}
}

func TestUnknownIncidentAndCorruptJournal(t *testing.T) {
	path, _ := night(t)
	src, _ := FromJournal(path)
	if _, err := Build(src, "INC-9"); !errors.Is(err, ErrUnknownIncident) || !strings.Contains(err.Error(), "it holds INC-1") {
		t.Fatalf("unknown incident: %v", err)
	}
	seg := segment(t, path)
	data, _ := os.ReadFile(seg)
	lines := strings.Split(string(data), "\n")
	lines[2] = strings.Replace(lines[2], "seq", "seQ", 1) // still JSON: the checksum catches it
	bad := filepath.Join(t.TempDir(), filepath.Base(seg))
	os.WriteFile(bad, []byte(strings.Join(lines, "\n")), 0o644)
	if _, err := FromJournal(bad); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Fatalf("corrupt journal: %v", err)
	}
}

func TestTornTailIsSaidNotHidden(t *testing.T) {
	path, _ := night(t)
	f, _ := os.OpenFile(segment(t, path), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`0badf00d {"seq":999,"cmd":"c-z","msgs":[{"type":"entry","se`)
	f.Close()
	src, err := FromJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(src, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	r.Markdown(&md)
	if r.TornLine == 0 || !strings.Contains(md.String(), "was incomplete") {
		t.Fatalf("torn tail not reported (line %d)", r.TornLine)
	}
}
