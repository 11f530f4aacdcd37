package paging

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// WriteOncall prints an oncall frame for a person: each rotation's person
// now and until when, then its handoffs, times in loc; then the silences.
func WriteOncall(w io.Writer, o protocol.Oncall, now time.Time, loc *time.Location) error {
	var b strings.Builder
	if len(o.Rotations) == 0 {
		b.WriteString("no rotations configured\n")
	}
	stamp := func(t time.Time) string { return t.In(loc).Format("Mon 2006-01-02 15:04 MST") }
	for _, r := range o.Rotations {
		fmt.Fprintf(&b, "%s: %s is on call", clean(r.Name), clean(r.Now))
		if r.Until != nil {
			fmt.Fprintf(&b, " until %s (in %s), then %s", stamp(r.Until.Time), roughly(r.Until.Sub(now)), clean(r.Next))
		}
		b.WriteString("\n")
		for _, h := range r.Handoffs {
			fmt.Fprintf(&b, "  %s  %s → %s\n", stamp(h.At.Time), clean(h.From), clean(h.To))
		}
	}
	for _, s := range o.Silences {
		fmt.Fprintf(&b, "silenced %s: hosts %s, services %s until %s by %s: %s\n", clean(s.ID), clean(strings.Join(s.Hosts, " ")),
			clean(strings.Join(s.Services, " ")), stamp(s.Until.Time), clean(s.By), clean(s.Reason))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// roughly is a duration as a person reads it: "3d4h", "2h5m", "40m".
func roughly(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
}

// clean strips control characters from a string a hub sent.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}
