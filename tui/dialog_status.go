package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func (m Model) statusPicker() (Model, tea.Cmd) {
	in := m.current()
	if in == nil {
		return m.notice("no incident: "+m.keyName(m.keys.Declare)+" declares one", true), nil
	}
	choices := []string{protocol.StatusInvestigating, protocol.StatusIdentified, protocol.StatusMonitoring, protocol.StatusResolved}
	cur := 0
	for i, c := range choices {
		if c == in.Status {
			cur = i
		}
	}
	id, feed, status := in.ID, in.Feed, in.Status
	return m.push(newPicker("Change status of "+id, choices, choices, cur, func(pick string) action {
		if pick == status {
			return noticeAct{text: id + " is already " + pick}
		}
		return sendAct{feed: feed, cmd: protocol.Command{Op: protocol.OpStatus, Incident: id, Status: pick}}
	})), nil
}
