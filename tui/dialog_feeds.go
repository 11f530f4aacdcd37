package tui

import (
	"fmt"
)

// feedsDialog shows every feed's connection, counters and gaps, live.
func feedsDialog() dialog {
	return newTextDialog("Feeds", func(v *viewCtx, w int) []string {
		var lines []string
		for _, h := range v.st.Health() {
			line := h.Feed + "  " + h.State.String()
			if h.Server != "" {
				line += "  server " + h.Server
			}
			lines = append(lines, v.styles.Bold.Render(line))
			lines = append(lines, wrap("  "+h.URL, w)...)
			if h.Reason != "" {
				lines = append(lines, wrap("  why: "+h.Reason, w)...)
			}
			if !h.RetryAt.IsZero() && !h.State.Up() {
				lines = append(lines, "  next try in "+age(h.RetryAt.Sub(v.now)))
			}
			lines = append(lines, wrap(fmt.Sprintf("  journal %s seq %d · malformed %d · unknown %d · duplicates %d", h.Journal, h.Seq, h.Malformed, h.Unknown, h.Dupes), w)...)
		}
		for feed, since := range v.st.Gaps() {
			lines = append(lines, v.styles.Gap.Render(clip(fmt.Sprintf("gap: %s not seen live since %s", feed, since.Format("15:04:05")), w)))
		}
		if len(lines) == 0 {
			lines = []string{"no feeds configured"}
		}
		return lines
	})
}
