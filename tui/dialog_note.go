package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func (m Model) notePrompt() (Model, tea.Cmd) {
	in := m.current()
	if in == nil {
		// The prompt takes what is typed next, so no letter of the note
		// runs as a command; nothing is sent.
		refusal := "no open incident to note on: " + m.keyName(m.keys.Declare) + " declares one; nothing was sent"
		d, cmd := newPrompt("note (no open incident)> ", "no incident to note on: esc, then "+m.keyName(m.keys.Declare)+" declares one", "", m.width, false, func(string) action {
			return noticeAct{text: refusal, err: true}
		})
		m = m.push(d)
		return m.notice("no open incident to note on: "+m.keyName(m.keys.Declare)+" declares one", true), cmd
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
