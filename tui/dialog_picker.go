package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// pickerDialog chooses one of a few (status, incident).
type pickerDialog struct {
	heading string
	choices []string
	ids     []string
	cursor  int
	scroll  scrollView
	pick    func(id string) action
	keys    struct{ Up, Down, Pick, Close key.Binding }
}

func newPicker(heading string, choices, ids []string, cursor int, pick func(string) action) *pickerDialog {
	d := &pickerDialog{heading: heading, choices: choices, ids: ids, cursor: cursor, pick: pick, scroll: newScrollView()}
	d.keys.Up = key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up"))
	d.keys.Down = key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down"))
	d.keys.Pick = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose"))
	d.keys.Close = key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "cancel"))
	return d
}

func (d *pickerDialog) title() string { return d.heading }

func (d *pickerDialog) ShortHelp() []key.Binding {
	return []key.Binding{d.keys.Up, d.keys.Down, d.keys.Pick, d.keys.Close}
}

func (d *pickerDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *pickerDialog) update(msg tea.Msg) (action, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, nil
	}
	switch {
	case key.Matches(k, d.keys.Close):
		return closeAct{}, nil
	case key.Matches(k, d.keys.Up):
		d.cursor = max(0, d.cursor-1)
	case key.Matches(k, d.keys.Down):
		d.cursor = min(len(d.choices)-1, d.cursor+1)
	case key.Matches(k, d.keys.Pick):
		if len(d.ids) == 0 {
			return closeAct{}, nil
		}
		return d.pick(d.ids[d.cursor]), nil
	}
	return nil, nil
}

func (d *pickerDialog) body(v *viewCtx, w, h int) []string {
	lines := make([]string, len(d.choices))
	for i, c := range d.choices {
		if i == d.cursor {
			lines[i] = v.styles.Selected.Render(fit("› "+c, w))
		} else {
			lines[i] = "  " + c
		}
	}
	// Keep the cursor in view.
	rows := max(1, h-1)
	if d.cursor < d.scroll.offset {
		d.scroll.offset = d.cursor
	} else if d.cursor >= d.scroll.offset+rows {
		d.scroll.offset = d.cursor - rows + 1
	}
	return d.scroll.window(lines, h)
}

func (d *pickerDialog) wheel(delta int) {
	d.cursor = max(0, min(len(d.choices)-1, d.cursor+delta))
}
