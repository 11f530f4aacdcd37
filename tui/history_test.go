package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

// pager is the dashboard's Feed that also pages history in; it records
// the requests instead of sending them.
type pager struct {
	*recorder
	mu    sync.Mutex
	asked []state.HistoryRequest
}

func (p *pager) History(feed string, before uint64, limit int, incident string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, state.HistoryRequest{Source: state.Source{Feed: feed, Incident: incident}, Before: before, Limit: limit})
	return fmt.Sprintf("h-%d", len(p.asked)), nil
}

func (p *pager) requests() []state.HistoryRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]state.HistoryRequest(nil), p.asked...)
}

// askedMsgs runs what a key returned, as the program would, and hands
// the dashboard what the history requests became.
func askedMsgs(m Model, cmd tea.Cmd) Model {
	var msgs []tea.Msg
	if msg := run(cmd); msg != nil {
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				if c != nil {
					msgs = append(msgs, c())
				}
			}
		} else {
			msgs = append(msgs, msg)
		}
	}
	for _, msg := range msgs {
		if a, ok := msg.(historyAskedMsg); ok {
			next, _ := m.Update(a)
			m = next.(Model)
		}
	}
	return m
}

func pressAndSend(t *testing.T, m Model, keys ...string) Model {
	t.Helper()
	for _, k := range keys {
		var cmd tea.Cmd
		m, cmd = press(t, m, k)
		m = askedMsgs(m, cmd)
	}
	return m
}

func note(seq uint64, incident, text string) client.Event {
	return client.JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: seq, Incident: incident, At: protocol.At(t0.Add(time.Duration(seq) * time.Second)), Actor: "bob", Kind: "note", Text: text}}
}

// compactedDashboard has had a compacted replay: INC-3 resolved long ago
// (its entries left out), INC-7 open with entries 500..520.
func compactedDashboard(t *testing.T) (Model, *pager) {
	rec := &recorder{store: client.NewStore()}
	p := &pager{recorder: rec}
	now := t0.Add(time.Hour)
	m := New(context.Background(), p, Options{Actor: "alice", Now: func() time.Time { return now }})
	next, _ := m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m = next.(Model)
	b := client.Batch{Health: []client.Health{{Feed: "hub", State: client.Synced, Journal: "j-1", Seq: 520, Compacted: true, Oldest: 1}}}
	b.Events = append(b.Events,
		client.JournalEvent{Feed: "hub", Msg: &protocol.IncidentMsg{Seq: 100, Incident: protocol.Incident{ID: "INC-3", Title: "Disk full", Severity: "SEV3", Status: protocol.StatusResolved, OpenedAt: protocol.At(t0)}}},
		client.JournalEvent{Feed: "hub", Msg: &protocol.IncidentMsg{Seq: 499, Incident: protocol.Incident{ID: "INC-7", Title: "Mail down", Severity: "SEV2", Status: protocol.StatusInvestigating, OpenedAt: protocol.At(t0)}}})
	for seq := uint64(500); seq <= 520; seq++ {
		b.Events = append(b.Events, note(seq, "INC-7", fmt.Sprint("note ", seq)))
	}
	m = feed(m, b)
	if m.selected != "INC-7" {
		t.Fatalf("showing %q", m.selected)
	}
	return m, p
}

func answer(m Model, id string, more bool, from, to uint64, incident string) Model {
	a := client.HistoryAnswer{Feed: "hub", Journal: "j-1", ID: id, More: more}
	for seq := from; seq <= to; seq++ {
		a.Messages = append(a.Messages, note(seq, incident, fmt.Sprint("old \x1b[31mnote\x1b[0m ", seq)).(client.JournalEvent).Msg)
	}
	return feed(m, client.Batch{History: []client.HistoryAnswer{a}})
}

func TestScrollingPastTheOldestPagesHistoryIn(t *testing.T) {
	m, p := compactedDashboard(t)
	m = pressAndSend(t, m, "3", "k")
	if n := len(p.requests()); n != 0 {
		t.Fatalf("%d requests before reaching the oldest entry", n)
	}
	m = pressAndSend(t, m, "g", "k", "k", "up")
	reqs := p.requests()
	want := state.HistoryRequest{Source: state.Source{Feed: "hub", Incident: "INC-7"}, Before: 500, Limit: state.HistoryPageSize}
	if len(reqs) != 1 || reqs[0] != want {
		t.Fatalf("requests %+v; want exactly %+v", reqs, want)
	}
	if !strings.Contains(m.Render(), "loading older…") {
		t.Fatalf("no loading line:\n%s", m.Render())
	}

	// The page merges in above the reader, who stays on the entry read.
	m = answer(m, "h-1", true, 300, 500, "INC-7")
	screen := m.Render()
	if n := m.st.Timeline.Len("INC-7"); n != 221 {
		t.Fatalf("INC-7 holds %d entries, want 221 (200 older, 21, 500 once)", n)
	}
	v := m.viewCtx()
	if e := m.tl.entry(&v, "INC-7", m.tl.sel); e.Seq != 500 {
		t.Fatalf("selection moved to seq %d; want it kept on 500", e.Seq)
	}
	if strings.Contains(screen, "loading older…") || strings.Contains(screen, "\x1b[31m") {
		t.Fatalf("after the answer:\n%s", screen)
	}
	for i := 1; i < m.st.Timeline.Len("INC-7"); i++ {
		if a, b := m.st.Timeline.At("INC-7", i-1).Seq, m.st.Timeline.At("INC-7", i).Seq; a >= b {
			t.Fatalf("seq %d before %d", a, b)
		}
	}

	// Scrolling on asks for the page before that one, once.
	m = pressAndSend(t, m, "k", "g", "k")
	if reqs = p.requests(); len(reqs) != 2 || reqs[1].Before != 300 {
		t.Fatalf("requests %+v; want a second, before 300", reqs)
	}
	m = answer(m, "h-2", false, 250, 299, "INC-7")
	m = pressAndSend(t, m, "g", "k", "pgup")
	if reqs = p.requests(); len(reqs) != 2 {
		t.Fatalf("asked again after more: false: %+v", reqs[2:])
	}
	if e := m.st.Timeline.At("INC-7", 0); e.Seq != 250 || e.Text != "old note 250" {
		t.Fatalf("oldest entry %+v", e)
	}
}

func TestPickingAPastIncidentPagesItsEntriesIn(t *testing.T) {
	m, p := compactedDashboard(t)
	m = pressAndSend(t, m, "i", "down", "enter")
	if m.selected != "INC-3" {
		t.Fatalf("picked %q", m.selected)
	}
	reqs := p.requests()
	want := state.HistoryRequest{Source: state.Source{Feed: "hub", Incident: "INC-3"}, Before: 0, Limit: state.HistoryPageSize}
	if len(reqs) != 1 || reqs[0] != want {
		t.Fatalf("requests %+v; want %+v (its newest page: none of it is held)", reqs, want)
	}
	m = answer(m, "h-1", false, 90, 99, "INC-3")
	m, _ = press(t, m, "3")
	if n := m.st.Timeline.Len("INC-3"); n != 10 {
		t.Fatalf("INC-3 shows %d entries", n)
	}
	if !strings.Contains(m.Render(), "old note 99") {
		t.Fatalf("the paged entries are not shown:\n%s", m.Render())
	}
}

func TestWholeReplayAsksNothing(t *testing.T) {
	m, p := compactedDashboard(t)
	m = feed(m, client.Batch{Health: []client.Health{{Feed: "hub", State: client.Synced, Journal: "j-1", Seq: 520}}})
	pressAndSend(t, m, "3", "g", "k")
	if reqs := p.requests(); len(reqs) != 0 {
		t.Fatalf("requests %+v to a hub whose replay was whole", reqs)
	}
}

func TestWheelPastTheOldestPagesHistoryIn(t *testing.T) {
	m, p := compactedDashboard(t)
	m, _ = press(t, m, "3")
	tl := m.layout.Panes[TimelinePane]
	wheel := tea.MouseWheelMsg{X: tl.X + 5, Y: tl.Y + 3, Button: tea.MouseWheelUp}
	for i := 0; i < 10; i++ { // 21 entries, 3 a notch: the seventh reaches the oldest
		next, cmd := m.Update(wheel)
		m = askedMsgs(next.(Model), cmd)
	}
	reqs := p.requests()
	if len(reqs) != 1 || reqs[0].Before != 500 || reqs[0].Incident != "INC-7" {
		t.Fatalf("requests %+v; want one, INC-7 before 500", reqs)
	}
	next, cmd := m.Update(tea.MouseWheelMsg{X: tl.X + 5, Y: tl.Y + 3, Button: tea.MouseWheelDown})
	m = askedMsgs(next.(Model), cmd)
	if len(p.requests()) != 1 {
		t.Fatal("the wheel down asked for older entries")
	}
}
