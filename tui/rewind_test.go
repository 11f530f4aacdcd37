package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/review/reviewtest"
)

// program runs the dashboard's commands as bubbletea would (the frame
// wait drains the store), one at a time, feeding each message back.
type program struct {
	t     *testing.T
	m     Model
	queue []tea.Cmd
}

func (p *program) run(cmd tea.Cmd) {
	if cmd != nil {
		p.queue = append(p.queue, cmd)
	}
}

// until runs commands until ok holds.
func (p *program) until(what string, ok func() bool) {
	p.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !ok(); {
		if time.Now().After(deadline) || len(p.queue) == 0 {
			p.t.Fatalf("waiting for %s: gave up (%d commands left)", what, len(p.queue))
		}
		cmd := p.queue[0]
		p.queue = p.queue[1:]
		msg := cmd()
		if b, isBatch := msg.(tea.BatchMsg); isBatch {
			for _, c := range b {
				p.run(c)
			}
			continue
		}
		if msg == nil {
			continue
		}
		next, more := p.m.Update(msg)
		p.m = next.(Model)
		p.run(more)
	}
}

func (p *program) press(keys ...string) {
	p.t.Helper()
	for _, k := range keys {
		var cmd tea.Cmd
		p.m, cmd = press(p.t, p.m, k)
		p.run(cmd)
	}
}

// The night of the 22nd on a real hub, rewound from a dashboard: the whole
// board at three moments, at 80x24 and 200x60; [ and ] step entry by
// entry; nothing can be ticked while rewound; esc is live again.
func TestRewindANightOnARealHub(t *testing.T) {
	h := reviewtest.November(t)
	now := reviewtest.TS("2026-11-22T05:13:07Z")
	tm := client.DefaultTimings()
	tm.BackoffMin, tm.BackoffMax, tm.CloseWait = 5*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
	c, err := client.New([]client.FeedConfig{{Name: "hub", URL: h.URL}}, "", tm)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	running := make(chan struct{})
	go func() { c.Run(ctx); close(running) }()
	defer func() { cancel(); <-running }()

	m := New(ctx, c, Options{Actor: "alice", UTC: true, Now: func() time.Time { return now }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	p := &program{t: t, m: next.(Model)}
	p.run(p.m.Init())
	p.until("the replay", func() bool {
		h, _ := c.Store().HealthOf("hub")
		return h.State == client.Synced && p.m.st.Incident("INC-4") != nil
	})
	rewoundTo := func(at time.Time) func() bool {
		return func() bool { got, ok := p.m.Rewound(); return ok && got.Equal(at) && p.m.now.Equal(at) }
	}

	for _, moment := range []string{"2026-11-22 02:13:07", "2026-11-22 02:47:30", "2026-11-22 03:45:00"} {
		at := reviewtest.TS(strings.Replace(moment, " ", "T", 1) + "Z")
		p.press("@")
		p.m = typeText(t, p.m, moment)
		p.press("enter")
		p.until("the board at "+moment, rewoundTo(at))
		for _, size := range []struct{ w, h int }{{80, 24}, {200, 60}} {
			t.Run(fmt.Sprintf("%dx%d-%s", size.w, size.h, at.Format("1504")), func(t *testing.T) {
				next, _ := p.m.Update(tea.WindowSizeMsg{Width: size.w, Height: size.h})
				sized := next.(Model)
				for _, pane := range []string{"1", "2", "3", "4"} {
					if size.w >= 160 && pane != "1" {
						continue // every pane at once
					}
					sized, _ = press(t, sized, pane)
					screen := ansi.Strip(sized.Render())
					lines := strings.Split(screen, "\n")
					if len(lines) != size.h || !strings.Contains(lines[0], "REWIND "+at.Format("15:04:05")+"Z") {
						t.Fatalf("%d lines, header %q", len(lines), lines[0])
					}
					t.Run("pane"+pane, func(t *testing.T) { golden.RequireEqual(t, screen) })
				}
			})
		}
	}

	// Nothing is sent while rewound.
	p.press("4", "space")
	if c.Pending() != 0 || !strings.Contains(p.m.st.Notice.Text, "nothing can be ticked or sent") {
		t.Fatalf("a tick while rewound: pending %d, notice %q", c.Pending(), p.m.st.Notice.Text)
	}
	// [ steps back an entry, ] forward again.
	p.press("[")
	p.until("a step back", rewoundTo(reviewtest.TS("2026-11-22T03:35:00Z"))) // exim ok: the entry before the resolution
	p.press("]")
	p.until("a step forward", rewoundTo(reviewtest.TS("2026-11-22T03:42:00Z")))
	m = p.m
	// esc: live again, the live board as it was left.
	m, _ = press(t, m, "esc")
	if _, rewound := m.Rewound(); rewound || !m.now.Equal(now) || m.st.Incident("INC-4") == nil {
		t.Fatalf("esc did not return to live")
	}

	// A fresh dashboard's host detail: the hub's 48 hours, not what the
	// dashboard saw since it started (one sample).
	p.m = m
	p.press("1", "enter")
	p.until("the hub's load history", func() bool {
		h := p.m.st.HubLoad("shared-04")
		return h != nil && h.Complete
	})
	detail := ansi.Strip(p.m.Render())
	if hub := p.m.st.HubLoad("shared-04"); len(hub.Load1) != 720 || hub.Peak != 9.8 || !strings.Contains(detail, "last 48 h from the hub") {
		t.Fatalf("%d samples, peak %v:\n%s", len(hub.Load1), hub.Peak, detail)
	}

	// vigil --at: a dashboard that starts rewound once its feed is synced.
	at := reviewtest.TS("2026-11-22T02:47:30Z")
	fresh, err := client.New([]client.FeedConfig{{Name: "hub", URL: h.URL}}, "", tm)
	if err != nil {
		t.Fatal(err)
	}
	freshDone := make(chan struct{})
	go func() { fresh.Run(ctx); close(freshDone) }()
	defer func() { cancel(); <-freshDone }()
	started := New(ctx, fresh, Options{Actor: "alice", UTC: true, Now: func() time.Time { return now }, RewindAt: at})
	p = &program{t: t, m: started}
	p.run(p.m.Init())
	p.until("the board at --at", rewoundTo(at))
}
