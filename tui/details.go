package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

// Detail views: enter on a row shows it whole, whatever a pane had to cut.
// They draw from the state each frame, so an open view stays live.

func field(v *viewCtx, name, value string) string {
	return v.styles.Dim.Render(fmt.Sprintf("%-10s", name)) + " " + value
}

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

func mib(kb int64) string {
	switch {
	case kb >= 1<<20:
		return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
	case kb >= 1<<10:
		return fmt.Sprintf("%.1f MiB", float64(kb)/(1<<10))
	}
	return fmt.Sprintf("%d KiB", kb)
}

// hostDetail shows a host: its load history at full width, its services,
// and the latest evidence captured on it.
func hostDetail(name string) dialog {
	return newTextDialog("Host "+name, func(v *viewCtx, w int) []string {
		h := v.st.Host(name)
		if h == nil {
			return []string{"no longer reported"}
		}
		word := "ok"
		switch h.Level {
		case state.Crit:
			word = "crit"
		case state.Warn:
			word = "warn"
		}
		if v.st.HostStale(h, v.now) {
			word = "stale: last report " + age(h.Age(v.now)) + " ago"
		}
		lines := []string{
			field(v, "level", word),
			field(v, "load", fmt.Sprintf("%.2f %.2f %.2f (1, 5, 15 min) on %d CPUs, %.2f per CPU", h.Load1, h.Load5, h.Load15, h.CPUs, h.PerCPU())),
		}
		if h.MemUsedPct != nil {
			lines = append(lines, field(v, "memory", fmt.Sprintf("%.0f%% used", *h.MemUsedPct)))
		}
		lines = append(lines, field(v, "feed", h.Feed), "")
		lines = append(lines, loadHistoryLines(v, h, w)...)
		lines = append(lines, "", v.styles.Bold.Render("services"))
		svcs := v.st.ServicesOf(name)
		if len(svcs) == 0 {
			lines = append(lines, v.styles.Dim.Render("none reported"))
		}
		for _, s := range svcs {
			word, paint := stateWord(v.styles, s.State)
			lines = append(lines, paint(fit(word, 9))+" "+s.Name+"  "+age(v.now.Sub(s.Since))+"  "+v.styles.Dim.Render(s.Detail))
		}
		if e := v.st.LatestEvidence(name); e != nil {
			zone, suffix := v.zone()
			lines = append(lines, "", v.styles.Bold.Render("latest evidence, "+e.At.In(zone).Format("15:04:05")+suffix))
			lines = append(lines, evidenceLines(v, e.Evidence, w)...)
		} else {
			lines = append(lines, "", v.styles.Dim.Render("no evidence captured yet: "+v.keys.Collect.Help().Key+" on the host collects some"))
		}
		return lines
	})
}

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
