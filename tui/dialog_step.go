package tui

import (
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// stepDetail shows a checklist step whole.
func stepDetail(incidentID, itemID string) dialog {
	return newTextDialog("Step "+itemID, func(v *viewCtx, w int) []string {
		in := v.st.Incident(incidentID)
		if in == nil {
			return []string{"incident gone"}
		}
		for i := range in.Checklist {
			it := &in.Checklist[i]
			if it.ID != itemID {
				continue
			}
			zone, suffix := v.zone()
			lines := []string{field(v, "step", it.Label()), field(v, "id", it.ID)}
			if it.Due != nil {
				lines = append(lines, field(v, "due", protocol.FormatDuration(it.Due.Std())))
			}
			if it.Every != nil {
				lines = append(lines, field(v, "every", protocol.FormatDuration(it.Every.Std())))
			}
			if it.After != "" {
				lines = append(lines, field(v, "counts", "after "+it.After))
			}
			if it.Done() {
				by := ""
				if it.DoneBy != nil {
					by = " by " + *it.DoneBy
				}
				lines = append(lines, field(v, "done", it.DoneAt.In(zone).Format("2006-01-02 15:04:05")+suffix+by))
			}
			if it.ClaimedBy != nil && *it.ClaimedBy != "" {
				lines = append(lines, field(v, "claimed", *it.ClaimedBy+" is on it"))
			}
			lines = append(lines, "")
			return append(lines, wrap(it.Hint, w)...)
		}
		return []string{"step gone"}
	})
}
