package tui

import (
	"fmt"

	"github.com/vigil-oncall/vigil/tui/state"
)

// loadHistoryLines draw a host's load1 at full width: the last 48 hours
// its hub kept where the hub answered, else what this dashboard saw.
func loadHistoryLines(v *viewCtx, h *state.Host, w int) []string {
	crit := v.st.Thresholds.CritPerCPU * float64(max(h.CPUs, 1))
	values, what := h.History, "load1 history, oldest left"
	if hub := v.st.HubLoad(h.Name); hub != nil && hub.Error == "" && len(hub.Load1) > 0 {
		// A hub that keeps no history says so with a nack: then what this
		// dashboard saw is all there is, as before.
		values = hub.Load1
		zone, suffix := v.zone()
		what = fmt.Sprintf("load1, last 48 h from the hub, %s%s to %s%s", hub.From.In(zone).Format("Jan 2 15:04"), suffix, hub.Last.In(zone).Format("Jan 2 15:04"), suffix)
		if !hub.Complete {
			what += " (more coming)"
		}
	}
	top, peak := crit, 0.0
	for _, x := range values {
		top, peak = max(top, x), max(peak, x)
	}
	return []string{
		fmt.Sprintf("%s (peak %.2f, crit at %.2f):", what, peak, crit),
		sparkline(values, w, top),
	}
}
