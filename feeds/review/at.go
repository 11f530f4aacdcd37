package review

import (
	"fmt"
	"strings"
	"time"
)

// localForms are the times a person types, in their own zone.
var localForms = []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

// ParseAt reads the moment a rewind goes to: "2026-11-22 02:13" (in
// zone), any RFC 3339 time, or a duration back from now ("-3h",
// "-90m", "-1h30m"). A moment after now is refused: there is nothing
// to rewind to.
func ParseAt(s string, now time.Time, zone *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if zone == nil {
		zone = time.Local
	}
	if strings.HasPrefix(s, "-") {
		d, err := time.ParseDuration(s[1:])
		if err != nil || d <= 0 || strings.HasPrefix(s[1:], "-") || strings.HasPrefix(s[1:], "+") {
			return time.Time{}, fmt.Errorf("at %q: a time back from now is written like -3h, -90m or -1h30m", s)
		}
		return now.Add(-d), nil
	}
	var t time.Time
	var err error
	if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
		ok := false
		for _, form := range localForms {
			if t, err = time.ParseInLocation(form, s, zone); err == nil {
				ok = true
				break
			}
		}
		if !ok {
			return time.Time{}, fmt.Errorf("at %q: expected \"2026-11-22 02:13\" (your zone, %s), an RFC 3339 time, or -3h", s, zone)
		}
	}
	if t.After(now) {
		return time.Time{}, fmt.Errorf("at %q: that is after now (%s); rewind goes back", s, now.In(zone).Format("2006-01-02 15:04:05"))
	}
	return t, nil
}
