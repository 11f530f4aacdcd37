package tui

import (
	"fmt"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

// pagingSegments are the header's open pages ("PG-12 paging alice · bob
// in 3m", never cut while one is triggered: a tired person must see it)
// and who is on call.
func (m Model) pagingSegments() []segment {
	s := m.styles
	var segs []segment
	if open := m.st.OpenPages(); len(open) > 0 {
		p := open[0]
		more := ""
		if len(open) > 1 {
			more = fmt.Sprintf(" (+%d)", len(open)-1)
		}
		style, prio := s.Dim, prioOtherOpen
		if p.Status == protocol.PageTriggered {
			style, prio = s.Overdue, prioTrouble
		}
		segs = append(segs, segment{variants: []string{style.Render(p.Paging(m.now) + more), style.Render(p.ID + more)}, prio: prio})
	}
	rots, _ := m.st.OnCall()
	if line := state.OncallLine(rots); line != "" {
		segs = append(segs, segment{variants: []string{s.Dim.Render(line), ""}, prio: prioPresence})
	}
	return segs
}
