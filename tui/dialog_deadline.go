package tui

import (
	"strings"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/tui/state"
)

// deadlineDetail shows one deadline whole: its date, where it comes from,
// and the check's output or the step's hint.
func deadlineDetail(d state.Deadline) dialog {
	heading := strings.ToUpper(d.Kind[:1]) + d.Kind[1:] + ": " + d.Title
	if d.Incident != "" {
		heading = strings.ToUpper(d.Kind[:1]) + d.Kind[1:] + ": " + d.Incident + " " + d.Title
	}
	return newTextDialog(heading, func(v *viewCtx, w int) []string {
		zone, suffix := v.zone()
		lines := []string{field(v, "state", deadlineState(v.styles, d.State, len(d.State)))}
		if !d.Due.IsZero() {
			when := d.Due.In(zone).Format("2006-01-02 15:04") + suffix
			left := d.Left(v.now)
			label := "due"
			switch {
			case d.Settled():
				label, when = "done", when+" ("+age(-left)+" ago)"
			case d.Bound:
				when = "at the latest " + when + " (within " + state.Countdown(max(left, 0)) + ")"
			case left < 0:
				when += " (" + state.Countdown(left) + " ago)"
			default:
				when += " (in " + state.Countdown(left) + ")"
			}
			lines = append(lines, field(v, label, when))
		}
		if d.Incident != "" {
			lines = append(lines, field(v, "incident", d.Incident))
			if d.Item != "" {
				lines = append(lines, field(v, "step", d.Item+""))
			}
		} else {
			lines = append(lines, field(v, "check", d.Service+" on "+d.Host), field(v, "since", d.Since.In(zone).Format("2006-01-02 15:04")+suffix+" ("+age(v.now.Sub(d.Since))+")"))
		}
		lines = append(lines, field(v, "feed", d.Feed))
		if d.Detail != "" {
			lines = append(lines, "", v.styles.Bold.Render("detail"))
			lines = append(lines, wrap(d.Detail, w)...)
		}
		if d.State == state.DueOverrun {
			lines = append(lines, "")
			lines = append(lines, wrap("Still in progress past its announced end: tell customers before they notice (its checklist's "+incident.OverrunStepID+" step).", w)...)
		}
		if d.Bound {
			lines = append(lines, "")
			for _, l := range wrap("The feed sends the check's state, not the date; the state bounds it (the date is in the detail above).", w) {
				lines = append(lines, v.styles.Dim.Render(l))
			}
		}
		return lines
	})
}
