package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"
)

func (m Model) incidentPicker() (Model, tea.Cmd) {
	all := m.st.Incidents()
	choices := []string{"the whole timeline, fleet alerts included (no incident)"}
	ids := []string{""}
	cur := 0
	for i := len(all) - 1; i >= 0; i-- {
		in := all[i]
		choices = append(choices, fmt.Sprintf("%s  %s  %-13s %s  (%s)", in.ID, in.Severity, in.Status, in.Title, in.Feed))
		ids = append(ids, in.ID)
		if in.ID == m.selected {
			cur = len(ids) - 1
		}
	}
	return m.push(newPicker("Pick an incident", choices, ids, cur, func(id string) action { return pickAct{id: id} })), nil
}
