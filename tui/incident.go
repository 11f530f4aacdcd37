package tui

import (
	"github.com/vigil-oncall/vigil/tui/state"
)

// chooseIncident shows the most severe open incident unless the reader
// picked one.
func (m *Model) chooseIncident() {
	if m.pinned && (m.selected == "" || m.st.Incident(m.selected) != nil) {
		return
	}
	open := m.st.OpenIncidents()
	switch {
	case len(open) > 0:
		if m.selected != open[0].ID {
			m.selected = open[0].ID
			m.cl.sel = 0
		}
	case m.st.Incident(m.selected) == nil:
		m.selected = ""
		if all := m.st.Incidents(); len(all) > 0 {
			m.selected = all[len(all)-1].ID
		}
	}
}

func (m Model) current() *state.Incident {
	if m.selected == "" {
		return nil
	}
	return m.st.Incident(m.selected)
}
