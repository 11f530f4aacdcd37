package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"
)

func (m Model) quit() (Model, tea.Cmd) {
	if m.feed.Pending() > 0 || m.st.PendingCount() > 0 {
		return m.push(m.quitDialog()), nil
	}
	return m, tea.Quit
}

func (m Model) quitDialog() dialog {
	f, st := m.feed, m.st
	return newConfirm("Quit?", func(*viewCtx) string {
		n := max(f.Pending(), st.PendingCount())
		return fmt.Sprintf("%d command(s) not yet acknowledged by the feed.\nThey stay on disk and are sent next time vigil starts.\n\nQuit anyway? y/n", n)
	}, quitAct{})
}
