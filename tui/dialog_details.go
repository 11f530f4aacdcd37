package tui

import (
	"fmt"
)

// Detail views: enter on a row shows it whole, whatever a pane had to cut.
// They draw from the state each frame, so an open view stays live.

func field(v *viewCtx, name, value string) string {
	return v.styles.Dim.Render(fmt.Sprintf("%-10s", name)) + " " + value
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
