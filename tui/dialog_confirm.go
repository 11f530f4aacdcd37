package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// confirmDialog is a question, y or n.
type confirmDialog struct {
	heading  string
	question func(v *viewCtx) string
	yes      action
	keys     struct{ Yes, No key.Binding }
}

func newConfirm(heading string, question func(v *viewCtx) string, yes action) *confirmDialog {
	d := &confirmDialog{heading: heading, question: question, yes: yes}
	d.keys.Yes = key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes"))
	d.keys.No = key.NewBinding(key.WithKeys("n", "N", "esc", "q"), key.WithHelp("n/esc", "no"))
	return d
}

func (d *confirmDialog) title() string { return d.heading }

func (d *confirmDialog) ShortHelp() []key.Binding { return []key.Binding{d.keys.Yes, d.keys.No} }

func (d *confirmDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *confirmDialog) update(msg tea.Msg) (action, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, nil
	}
	switch {
	case key.Matches(k, d.keys.Yes):
		return d.yes, nil
	case key.Matches(k, d.keys.No):
		return closeAct{}, nil
	}
	return nil, nil
}

func (d *confirmDialog) body(v *viewCtx, w, h int) []string {
	return wrap(d.question(v), w)
}
