package tui

import (
	"fmt"

	"github.com/vigil-oncall/vigil/tui/state"
)

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
