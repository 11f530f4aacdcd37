package incident

import (
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Validate checks every field a command carries against the protocol's
// limits (PROTOCOL.md, Limits), whatever its op, before anything is
// applied: a server acknowledges only what it can replay, so nothing that
// would fail its own validation on the next start may reach the journal.
// What a field means for one op (a known runbook, a known step) is checked
// where the op is applied.
func Validate(cmd protocol.Command) *Refusal {
	for _, err := range []error{
		protocol.CheckID("command id", cmd.ID),
		checkName("actor", cmd.Actor),
		optional(cmd.Incident, func() error { return protocol.CheckID("incident", cmd.Incident) }),
		optional(cmd.Item, func() error { return protocol.CheckID("item", cmd.Item) }),
		optional(cmd.Host, func() error { return protocol.CheckID("host", cmd.Host) }),
		optional(cmd.Kind, func() error { return protocol.CheckID("kind", cmd.Kind) }),
		optional(cmd.Commander, func() error { return checkName("commander", cmd.Commander) }),
		protocol.CheckText("title", cmd.Title, protocol.MaxTitleBytes),
		protocol.CheckText("subject", cmd.Subject, protocol.MaxTitleBytes),
		protocol.CheckText("text", cmd.Text, protocol.MaxTextBytes),
		protocol.CheckTime("scheduled_start", cmd.ScheduledStart),
		protocol.CheckTime("scheduled_end", cmd.ScheduledEnd),
		protocol.CheckTime("at", cmd.At),
		checkIDs("components", cmd.Components),
		checkIDs("channels", cmd.Channels),
	} {
		if err != nil {
			return refuse(protocol.CodeInvalid, "%v", err)
		}
	}
	if cmd.Severity != "" && !protocol.ValidSeverity(cmd.Severity) {
		return refuse(protocol.CodeInvalid, "severity %q is not one of SEV1, SEV2, SEV3, SEV4", cmd.Severity)
	}
	if cmd.Status != "" && !protocol.ValidStatus(cmd.Status) {
		return refuse(protocol.CodeInvalid, "status %q is not one of investigating, identified, monitoring, resolved", cmd.Status)
	}
	return nil
}

func optional(v string, check func() error) error {
	if v == "" {
		return nil
	}
	return check()
}

func checkIDs(what string, ids []string) error {
	seen := make(map[string]bool, len(ids))
	for i, id := range ids {
		if err := protocol.CheckID(fmt.Sprintf("%s[%d]", what, i), id); err != nil {
			return err
		}
		if seen[id] {
			return fmt.Errorf("%s names %q twice", what, id)
		}
		seen[id] = true
	}
	return nil
}

// checkName checks a person's name (an actor, a commander): like an id it
// is bounded and printable, but it may hold spaces ("Alice Smith").
func checkName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty", what)
	case len(s) > protocol.MaxIDBytes:
		return fmt.Errorf("%s is %d bytes; at most %d", what, len(s), protocol.MaxIDBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%s %q holds an unprintable character", what, s)
		}
	}
	return nil
}

// Bounds on a command's at (PROTOCOL.md, Commands): a client clock may run
// a little ahead of the server's; an action older than a day is more
// likely a wrong clock than a tick kept through a day-long outage.
const (
	MaxClockSkew = time.Second
	MaxActionAge = 24 * time.Hour
)

// ActionTime is when a command's action happened: the responder's at
// where it is plausible (not in the future beyond MaxClockSkew, not older
// than MaxActionAge), else the server's now. received is set (to now)
// where at was used and differs from now by more than a second, so a
// reader sees both when the responder acted and when the server heard.
func ActionTime(at *protocol.Time, now time.Time) (when time.Time, received *protocol.Time) {
	if at == nil || at.IsZero() || at.After(now.Add(MaxClockSkew)) || at.Before(now.Add(-MaxActionAge)) {
		return now, nil
	}
	if d := now.Sub(at.Time); d > time.Second || d < -time.Second {
		return at.Time, protocol.TimePtr(now)
	}
	return at.Time, nil
}
