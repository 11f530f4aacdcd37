package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-oncall/vigil/tui/state"
)

// entryDetail shows one timeline entry whole, and its evidence as a table.
func entryDetail(e state.Entry) dialog {
	return newTextDialog(fmt.Sprintf("%s entry #%d", e.Kind, e.Seq), func(v *viewCtx, w int) []string {
		zone, suffix := v.zone()
		lines := []string{
			field(v, "at", e.At.In(zone).Format("2006-01-02 15:04:05")+suffix),
			field(v, "by", e.Actor),
			field(v, "kind", e.Kind),
		}
		if !e.Received.IsZero() {
			lines = append(lines, field(v, "received", e.Received.In(zone).Format("2006-01-02 15:04:05")+suffix))
		}
		if e.Incident != "" {
			lines = append(lines, field(v, "incident", e.Incident))
		}
		if e.Host != "" {
			lines = append(lines, field(v, "host", e.Host))
		}
		if e.Outcome != "" {
			lines = append(lines, field(v, "delivery", e.Outcome))
		}
		if e.Feed != "" {
			lines = append(lines, field(v, "feed", e.Feed))
		}
		lines = append(lines, "")
		lines = append(lines, wrap(e.Text, w)...)
		if e.Evidence != nil {
			lines = append(lines, "")
			lines = append(lines, evidenceLines(v, e.Evidence, w)...)
		}
		return lines
	})
}

// evidenceLines is an evidence capture as a reader wants it: the reason,
// the processes as a table, then each command's output.
func evidenceLines(v *viewCtx, ev *state.Evidence, w int) []string {
	var lines []string
	if ev.Reason != "" {
		lines = append(lines, field(v, "reason", ev.Reason))
	}
	if len(ev.Processes) > 0 {
		userW, cmdW := 4, 7
		for _, p := range ev.Processes {
			userW, cmdW = max(userW, ansi.StringWidth(p.User)), max(cmdW, ansi.StringWidth(p.Command))
		}
		const fixed = 1 + 6 + 1 + 7 + 1 + 10 + 1 + 8
		userW = min(userW, 16)
		cmdW = max(8, min(cmdW, w-fixed-userW-1))
		lines = append(lines, "", v.styles.Bold.Render(fmt.Sprintf("%s %s %6s %7s %10s %8s", fit("user", userW), fit("command", cmdW), "count", "CPU %", "memory", "pid")))
		for _, p := range ev.Processes {
			lines = append(lines, fmt.Sprintf("%s %s %6d %7.1f %10s %8d", fit(cutMiddle(p.User, userW), userW), fit(cutMiddle(p.Command, cmdW), cmdW), p.Count, p.CPUPct, mib(p.RSSKB), p.PID))
		}
	}
	for _, o := range ev.Outputs {
		head := fmt.Sprintf("── %s (exit %d)", o.Name, o.Exit)
		if o.Error != "" {
			head += " " + o.Error
		}
		if o.Truncated {
			head += " (cut to the size limit)"
		}
		lines = append(lines, "", v.styles.Bold.Render(clip(head+" "+strings.Repeat("─", max(0, w-ansi.StringWidth(head)-1)), w)))
		lines = append(lines, wrap(o.Text, w)...)
	}
	return lines
}
