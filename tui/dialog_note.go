package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func (m Model) notePrompt() (Model, tea.Cmd) {
	in := m.current()
	if in == nil {
		return m.notice("no incident to note on: "+m.keyName(m.keys.Declare)+" declares one", true), nil
	}
	id, feed := in.ID, in.Feed
	d, cmd := newPrompt("note> ", "what happened, what you did, what you saw", "", m.width, false, func(v string) action {
		if v == "" {
			return closeAct{}
		}
		return sendAct{feed: feed, cmd: protocol.Command{Op: protocol.OpNote, Incident: id, Text: v}}
	})
	return m.push(d), cmd
}
