package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// fit truncates or pads plain (unstyled) s to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}

// clip truncates s (which may be styled) to w cells without padding.
func clip(s string, w int) string {
	if ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	return s
}

// pad pads styled s with spaces to w cells, truncating if wider.
func pad(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}

// block makes lines into exactly h lines of exactly w cells.
func block(lines []string, w, h int) string {
	var b strings.Builder
	for i := 0; i < h; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i < len(lines) {
			b.WriteString(pad(lines[i], w))
		} else {
			b.WriteString(strings.Repeat(" ", w))
		}
	}
	return b.String()
}

var sparkChars = []rune("▁▂▃▄▅▆▇█")

// sparkline draws the last w values scaled to top (values above top clip).
func sparkline(values []float64, w int, top float64) string {
	if len(values) > w {
		values = values[len(values)-w:]
	}
	var b strings.Builder
	for i := len(values); i < w; i++ {
		b.WriteByte(' ')
	}
	for _, v := range values {
		idx := 0
		if top > 0 {
			idx = int(v / top * float64(len(sparkChars)-1))
		}
		idx = max(0, min(idx, len(sparkChars)-1))
		b.WriteRune(sparkChars[idx])
	}
	return b.String()
}

// age writes a duration briefly: 45s, 12m, 3h, 2d.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// cutMiddle shortens plain s to w cells by cutting its middle, so names
// that share a prefix (shared-db-1, shared-db-2) stay distinguishable.
func cutMiddle(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	if w < 3 {
		return ansi.Truncate(s, w, "")
	}
	r := []rune(s)
	tail := (w - 1) / 2
	head := w - 1 - tail
	for ansi.StringWidth(string(r[:head])) > head && head > 0 {
		head--
	}
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}
