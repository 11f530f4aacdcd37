package tui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
)

func (m Model) jumpPrompt() (Model, tea.Cmd) {
	m.focus = TimelinePane
	d, cmd := newPrompt("jump to> ", "HH:MM or HH:MM:SS (shown zone), or YYYY-MM-DD HH:MM", "", m.width, false, func(v string) action {
		return jumpAct{value: v}
	})
	return m.push(d), cmd
}

// jumpTo scrolls the timeline to a time of day (today in the shown zone)
// or a full date and time.
func (m Model) jumpTo(value string) Model {
	zone := time.Local
	if m.opts.UTC {
		zone = time.UTC
	}
	var at time.Time
	var err error
	for _, layout := range []string{"15:04", "15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"} {
		var t time.Time
		if t, err = time.ParseInLocation(layout, value, zone); err == nil {
			if !strings.Contains(layout, "2006") {
				y, mo, d := m.now.In(zone).Date()
				t = time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), 0, zone)
			}
			at = t
			break
		}
	}
	if err != nil {
		return m.notice(fmt.Sprintf("jump: %q is not HH:MM, HH:MM:SS or YYYY-MM-DD HH:MM", value), true)
	}
	v := m.viewCtx()
	if !m.tl.jump(&v, at, m.paneRows()) {
		return m.notice("nothing in the timeline at or after "+at.Format("15:04:05 MST"), false)
	}
	return m
}
