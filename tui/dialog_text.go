package tui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// textDialog is something to read (feed details, drafts, details of a row).
type textDialog struct {
	heading string
	draw    func(v *viewCtx, w int) []string
	lines   []string // the last drawing, and what it was drawn from
	drawKey string
	scroll  scrollView
	extra   []key.Binding
	onKey   func(k tea.KeyPressMsg) action // the extra bindings' actions
	keys    struct{ Close key.Binding }
}

func newTextDialog(heading string, draw func(v *viewCtx, w int) []string) *textDialog {
	d := &textDialog{heading: heading, draw: draw, scroll: newScrollView()}
	d.keys.Close = key.NewBinding(key.WithKeys("esc", "q", "enter"), key.WithHelp("esc", "close"))
	return d
}

func (d *textDialog) title() string { return d.heading }

func (d *textDialog) ShortHelp() []key.Binding {
	return append(append(append([]key.Binding{}, d.scroll.help()...), d.extra...), d.keys.Close)
}

func (d *textDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *textDialog) update(msg tea.Msg) (action, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, nil
	}
	if d.onKey != nil {
		if a := d.onKey(k); a != nil {
			return a, nil
		}
	}
	if key.Matches(k, d.keys.Close) {
		return closeAct{}, nil
	}
	d.scroll.handle(k)
	return nil, nil
}

// body draws again only when the state it reads or the width changed: an
// open detail view costs nothing on a frame that changed nothing.
func (d *textDialog) body(v *viewCtx, w, h int) []string {
	st := v.st
	key := fmt.Sprint(w, v.utc, v.now.Unix(), st.HostsVersion, st.ServicesVersion, st.IncidentsVersion, st.TimelineVersion, st.HealthVersion)
	if key != d.drawKey || d.lines == nil {
		d.lines, d.drawKey = d.draw(v, w), key
	}
	return d.scroll.window(d.lines, h)
}

func (d *textDialog) wheel(delta int) { d.scroll.wheelBy(delta) }
