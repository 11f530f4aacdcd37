package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

// pagesDialog is the Pages view: every page, open ones first, and the
// selected one's events and who was told how and when; a acknowledges,
// R resolves, D declares an incident from it (its events become the
// incident's first entries), S summons someone by hand.
type pagesDialog struct {
	shown  []*state.Page // as last drawn: what the keys act on
	cursor int
	scroll scrollView
	keys   struct{ Up, Down, Ack, Resolve, Declare, Summon, Close key.Binding }
}

func newPagesDialog(pages []*state.Page) *pagesDialog {
	d := &pagesDialog{shown: pages, scroll: newScrollView()}
	d.keys.Up = key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up"))
	d.keys.Down = key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down"))
	d.keys.Ack = key.NewBinding(key.WithKeys("a", "enter"), key.WithHelp("a", "acknowledge"))
	d.keys.Resolve = key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "resolve"))
	d.keys.Declare = key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "declare incident"))
	d.keys.Summon = key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "summon"))
	d.keys.Close = key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "close"))
	return d
}

func (m Model) pagesView() (Model, tea.Cmd) { return m.push(newPagesDialog(m.st.Pages())), nil }

func (d *pagesDialog) title() string { return "Pages" }

func (d *pagesDialog) ShortHelp() []key.Binding {
	return []key.Binding{d.keys.Up, d.keys.Down, d.keys.Ack, d.keys.Resolve, d.keys.Declare, d.keys.Summon, d.keys.Close}
}

func (d *pagesDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *pagesDialog) selected() *state.Page {
	if d.cursor < 0 || d.cursor >= len(d.shown) {
		return nil
	}
	return d.shown[d.cursor]
}

func (d *pagesDialog) update(msg tea.Msg) (action, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, nil
	}
	p := d.selected()
	switch {
	case key.Matches(k, d.keys.Close):
		return closeAct{}, nil
	case key.Matches(k, d.keys.Up):
		d.cursor = max(0, d.cursor-1)
	case key.Matches(k, d.keys.Down):
		d.cursor = min(len(d.shown)-1, d.cursor+1)
	case key.Matches(k, d.keys.Summon):
		return pushAct{d: summonPrompt(d.feedFor(p))}, nil
	case p == nil:
		return nil, nil
	case !p.Open() && (key.Matches(k, d.keys.Ack) || key.Matches(k, d.keys.Resolve)):
		return noticeAct{text: p.ID + " is resolved", err: true}, nil
	case key.Matches(k, d.keys.Ack):
		return sendAct{feed: p.Feed, cmd: protocol.Command{Op: protocol.OpAck, Page: p.ID}, notice: "acknowledging " + p.ID}, nil
	case key.Matches(k, d.keys.Resolve):
		return sendAct{feed: p.Feed, cmd: protocol.Command{Op: protocol.OpResolve, Page: p.ID}, notice: "resolving " + p.ID}, nil
	case key.Matches(k, d.keys.Declare):
		if p.Incident != nil {
			return noticeAct{text: fmt.Sprintf("%s is already part of %s", p.ID, *p.Incident), err: true}, nil
		}
		return sendAct{feed: p.Feed, cmd: protocol.Command{Op: protocol.OpDeclare, Title: p.Title, Severity: "SEV2", Kind: "outage", Page: p.ID},
			notice: "declaring an incident from " + p.ID}, nil
	}
	return nil, nil
}

// feedFor is the feed to summon through: the selected page's, else the
// first feed that has pages.
func (d *pagesDialog) feedFor(p *state.Page) string {
	if p != nil {
		return p.Feed
	}
	if len(d.shown) > 0 {
		return d.shown[0].Feed
	}
	return ""
}

// summonPrompt asks whom to page and why: "person:dana the DB is on fire".
func summonPrompt(feed string) dialog {
	d, _ := newPrompt("summon> ", "person:NAME or rotation:NAME, then why", "", 80, false, func(v string) action {
		who, text, _ := strings.Cut(strings.TrimSpace(v), " ")
		if who == "" {
			return closeAct{}
		}
		if !strings.HasPrefix(who, "person:") && !strings.HasPrefix(who, "rotation:") {
			return noticeAct{text: "summon: start with person:NAME or rotation:NAME", err: true}
		}
		return sendAct{feed: feed, cmd: protocol.Command{Op: protocol.OpSummon, Who: who, Text: strings.TrimSpace(text)}, notice: "summoning " + who, closeAll: true}
	})
	return d
}

func (d *pagesDialog) body(v *viewCtx, w, h int) []string {
	d.shown = v.st.Pages()
	d.cursor = max(0, min(d.cursor, len(d.shown)-1))
	loc, _ := v.zone()
	clock := func(t protocol.Time) string { return t.In(loc).Format("15:04:05") }
	var lines []string
	rots, silences := v.st.OnCall()
	if line := state.OncallLine(rots); line != "" {
		lines = append(lines, fit(line, w))
	}
	for _, s := range silences {
		lines = append(lines, fit(fmt.Sprintf("silenced %s: %s / %s until %s (%s)", s.ID, strings.Join(s.Hosts, " "), strings.Join(s.Services, " "), clock(s.Until), s.Reason), w))
	}
	if len(d.shown) == 0 {
		return append(lines, "no pages")
	}
	lines = append(lines, "")
	for i, p := range d.shown {
		row := fmt.Sprintf("%-12s %s  %s", p.Status, p.Paging(v.now), p.Title)
		if i == d.cursor {
			lines = append(lines, v.styles.Selected.Render(fit("› "+row, w)))
		} else {
			lines = append(lines, fit("  "+row, w))
		}
	}
	p := d.selected()
	lines = append(lines, "", fit(fmt.Sprintf("%s opened %s, escalation %s, level %d round %d", p.ID, clock(p.OpenedAt), p.Escalation, p.Level, p.Round+1), w))
	if p.Text != "" {
		lines = append(lines, fit("  "+p.Text, w))
	}
	for _, ev := range p.Events {
		cleared := ""
		if ev.ClearedAt != nil {
			cleared = " (cleared " + clock(*ev.ClearedAt) + ")"
		}
		lines = append(lines, fit(fmt.Sprintf("  %s %s %s %s: %s%s", clock(ev.At), ev.Host, ev.Service, ev.What, ev.Text, cleared), w))
	}
	if p.MoreEvents > 0 {
		lines = append(lines, fmt.Sprintf("  … and %d more events", p.MoreEvents))
	}
	for _, n := range p.Notified {
		lines = append(lines, fit(fmt.Sprintf("  told %s by %s at %s: %s (level %d)", n.Person, n.Via, clock(n.At), n.Outcome, n.Level), w))
	}
	return d.scroll.window(lines, h)
}
