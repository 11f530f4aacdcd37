package tui

import (
	"github.com/vigil-oncall/vigil/feeds/incident"
)

// overrunSegments flag each maintenance still in progress past its
// announced end, whichever incident is shown: until its overrun notice
// is out, customers are waiting on a promise already broken.
func (m Model) overrunSegments() []segment {
	s := m.styles
	var segs []segment
	for _, in := range m.st.Overruns(m.now) {
		late, _ := incident.Overrunning(&in.Incident, m.now)
		text := "OVERRUN " + in.ID + " +" + age(late)
		sent := false
		for i := range in.Checklist {
			if it := &in.Checklist[i]; it.ID == incident.OverrunStepID && it.Done() {
				sent = true
			}
		}
		if sent {
			segs = append(segs, segment{variants: []string{s.Warn.Render(text + " (notice sent)"), s.Warn.Render(text)}, prio: prioTrouble})
			continue
		}
		segs = append(segs, segment{variants: []string{s.Overdue.Render(text + ": send " + incident.OverrunStepID), s.Overdue.Render(text)}, prio: prioTrouble})
	}
	return segs
}
