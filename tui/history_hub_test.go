package tui

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
	"github.com/vigil-oncall/vigil/tui/state"
)

type hubClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *hubClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *hubClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestDashboardPagesHistoryFromARealHub: a hub whose journal holds more
// than its replay window sends a fresh dashboard a compacted replay; the
// dashboard pages the rest in as the reader picks the old incident and
// scrolls back, and again on the whole timeline, until the hub has
// nothing older: every entry once, in seq order, over a real WebSocket.
func TestDashboardPagesHistoryFromARealHub(t *testing.T) {
	clk := &hubClock{now: time.Date(2026, 11, 19, 2, 0, 0, 0, time.UTC)}
	j, _, err := journal.OpenWith(t.TempDir(), journal.Options{Now: clk.Now, SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	hub := server.NewHub(j, server.Options{Now: clk.Now, ReplayWindow: 24 * time.Hour})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { server.Serve(ctx, hub, ln, "/feed", "", ""); close(served) }()
	defer func() { cancel(); <-served; j.Close() }()

	n := 0
	apply := func(c protocol.Command) {
		n++
		c.ID, c.Actor = fmt.Sprintf("c-%d", n), "alice"
		if r := hub.Apply(c, true, nil); r.Code != "" {
			t.Fatalf("%s: %s", c.Op, r.Frame)
		}
	}
	// Three nights ago: INC-1, 450 notes, resolved (seqs 1 to 454).
	apply(protocol.Command{Op: "declare", Title: "the old night", Severity: "SEV2", Kind: "outage"})
	for i := 0; i < 450; i++ {
		apply(protocol.Command{Op: "note", Incident: "INC-1", Text: fmt.Sprintf("old note %d", i)})
	}
	apply(protocol.Command{Op: "status", Incident: "INC-1", Status: protocol.StatusResolved})
	clk.add(72 * time.Hour)
	// Tonight: INC-2 open (455 to 461).
	apply(protocol.Command{Op: "declare", Title: "tonight", Severity: "SEV1", Kind: "outage"})
	for i := 0; i < 5; i++ {
		apply(protocol.Command{Op: "note", Incident: "INC-2", Text: fmt.Sprintf("new note %d", i)})
	}

	tm := client.DefaultTimings()
	tm.BackoffMin, tm.BackoffMax, tm.CloseWait = 5*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
	c, err := client.New([]client.FeedConfig{{Name: "hub", URL: "ws://" + ln.Addr().String() + "/feed"}}, "", tm)
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	running := make(chan struct{})
	go func() { c.Run(cctx); close(running) }()
	defer func() { ccancel(); <-running }()

	m := New(cctx, c, Options{Actor: "alice", Now: clk.Now})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m = next.(Model)
	pump := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			m = feed(m, c.Store().Drain())
		}
	}
	// The dashboard's own view of the feed, not the client's: a batch
	// with the replay's last incident may come before the one saying it
	// was compacted, and only a compacted replay makes picking a past
	// incident ask for its entries.
	pump("the compacted replay", func() bool {
		h := m.st.FeedHealth("hub")
		return h != nil && h.State == state.FeedSynced && h.Compacted && m.st.Incident("INC-2") != nil
	})
	if got := m.st.Timeline.Len("INC-1"); got != 0 {
		t.Fatalf("the compacted replay held %d of INC-1's entries; the test needs none", got)
	}

	// scrollBack presses top until the hub has nothing older, waiting
	// for each page; it returns how many requests went out.
	scrollBack := func(view string) int {
		t.Helper()
		asked := 0
		for range 20 {
			next, cmd := press(t, m, "g")
			m = askedMsgs(next, cmd)
			if !m.st.LoadingOlder(view) {
				return asked
			}
			asked++
			pump("a page of "+view, func() bool { return !m.st.LoadingOlder(view) })
			m.Render() // the pane follows what merged
		}
		t.Fatalf("still paging %s after 20 pages", view)
		return 0
	}

	m = pressAndSend(t, m, "i", "down", "enter")
	if m.selected != "INC-1" {
		t.Fatalf("picked %q", m.selected)
	}
	pump("INC-1's newest page", func() bool { return !m.st.LoadingOlder("INC-1") })
	m, _ = press(t, m, "3")
	pages := scrollBack("INC-1")
	checkSeqs := func(view string, want int) {
		t.Helper()
		tl := m.st.Timeline
		if tl.Len(view) != want {
			t.Fatalf("%q holds %d entries, want %d", view, tl.Len(view), want)
		}
		for i := 1; i < tl.Len(view); i++ {
			if a, b := tl.At(view, i-1).Seq, tl.At(view, i).Seq; a >= b {
				t.Fatalf("%q: seq %d then %d", view, a, b)
			}
		}
	}
	// INC-1's entries: its declare (1), 450 notes (3..452), its resolve (453).
	checkSeqs("INC-1", 452)
	if first := m.st.Timeline.At("INC-1", 0); first.Seq != 1 || pages < 2 {
		t.Fatalf("oldest INC-1 entry %d %q after %d more pages", first.Seq, first.Text, pages)
	}

	// The whole timeline pages back to the start as well.
	m = pressAndSend(t, m, "i", "up", "up", "enter")
	if m.selected != "" {
		t.Fatalf("picked %q, want the whole timeline", m.selected)
	}
	m, _ = press(t, m, "3")
	scrollBack("")
	checkSeqs("", 458) // every seq but the three incident frames (2, 454, 456)
}
