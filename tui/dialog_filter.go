package tui

import (
	tea "charm.land/bubbletea/v2"
)

func (m Model) filterPrompt() (Model, tea.Cmd) {
	if m.focus != TimelinePane {
		m.focus = ServicesPane
	}
	value := m.svcs.filter
	if m.focus == TimelinePane {
		value = m.tl.filter
	}
	d, cmd := newPrompt("filter "+m.focus.String()+"> ", "text to match", value, m.width, true, func(v string) action {
		return filterAct{text: v, done: true}
	})
	return m.push(d), cmd
}

func (m *Model) setFilter(f string) {
	if m.focus == TimelinePane {
		m.tl.filter = f
		m.tl.follow = true
	} else {
		m.svcs.filter = f
		m.svcs.sel, m.svcs.offset = 0, 0
	}
}
