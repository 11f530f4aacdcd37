package tui

import (
	"strings"
)

// serviceDetail shows a service: its full output, since when, and its
// recent transitions from the timeline.
func serviceDetail(host, name string) dialog {
	return newTextDialog("Service "+name+" on "+host, func(v *viewCtx, w int) []string {
		s := v.st.Service(host, name)
		if s == nil {
			return []string{"no longer reported"}
		}
		zone, suffix := v.zone()
		word, paint := stateWord(v.styles, s.State)
		if v.st.ServiceStale(s, v.now) {
			word += "  (stale: its host or feed stopped reporting)"
		}
		lines := []string{
			field(v, "state", paint(word)),
			field(v, "since", s.Since.In(zone).Format("2006-01-02 15:04:05")+suffix+" ("+age(v.now.Sub(s.Since))+")"),
			field(v, "feed", s.Feed),
			"", v.styles.Bold.Render("output"),
		}
		lines = append(lines, wrap(s.Detail, w)...)
		lines = append(lines, "", v.styles.Bold.Render("recent transitions"))
		trans := v.st.Transitions(host, name, 20)
		if len(trans) == 0 {
			lines = append(lines, v.styles.Dim.Render("none in the timeline held"))
		}
		for _, e := range trans {
			lines = append(lines, wrap(e.At.In(zone).Format("01-02 15:04:05")+suffix+"  "+e.Text, w)...)
		}
		if len(s.Changes) > 0 {
			var seen []string
			for _, c := range s.Changes {
				seen = append(seen, c.In(zone).Format("15:04:05"))
			}
			lines = append(lines, "", field(v, "changes", "seen live at "+strings.Join(seen, ", ")))
		}
		return lines
	})
}
