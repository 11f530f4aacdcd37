package incident

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Deadline is when step it of inc first fell due. ok is false for a step
// without a deadline, or one whose deadline has not started (an
// after-resolution step of an open incident). declared says the
// deadline came before the incident was declared (a maintenance
// announced five days ahead when the step asks for a week): the step
// then counts from the declaration, since nobody could do it earlier.
func Deadline(inc *protocol.Incident, it *protocol.Item) (due time.Time, declared, ok bool) {
	var after time.Duration
	switch {
	case it.Due != nil:
		after = it.Due.Std()
	case it.Every != nil:
		after = it.Every.Std()
	default:
		return time.Time{}, false, false
	}
	from, active := base(inc, it)
	if !active {
		return time.Time{}, false, false
	}
	due = from.Add(after)
	if due.Before(inc.OpenedAt.Time) {
		return inc.OpenedAt.Time, true, true
	}
	return due, false, true
}

// Owed says whether a step not done was owed at all: a step of the
// incident itself that would have fallen due only after it was resolved
// never was.
func Owed(inc *protocol.Incident, it *protocol.Item, due time.Time) bool {
	resolved := inc.ResolvedAt != nil && !inc.ResolvedAt.IsZero()
	return it.After == protocol.AfterResolved || !resolved || due.Before(inc.ResolvedAt.Time)
}

var singular = strings.NewReplacer("minutes", "minute", "hours", "hour")

// rebootWords mark a timeline entry that restarted something: what a
// root cause should be found before, while the evidence is still there.
var rebootWords = []string{"reboot", "restart", "power cycle", "power-cycle"}

// debrief drafts the internal debrief from the journal: what went wrong
// and what went well, as facts with their times, for the team to edit.
func debrief(inc *protocol.Incident, env DraftEnv, zone *time.Location) string {
	f := findings{opened: inc.OpenedAt.Time, zone: zone}
	seen := readTimeline(inc.ID, env.Timeline)
	f.deadlines(inc, env.Now, seen.firstNotice)
	f.rootCauses(inc, seen)
	return f.render(inc)
}

// timelineFacts are what the debrief takes from the journal's entries.
type timelineFacts struct {
	firstNotice time.Time // the first publish that paged
	reboot      time.Time // the first note or tick that restarted something
	evidenceAt  time.Time // the first evidence captured
	evidence    int
}

// readTimeline gathers the facts of incident id and of the fleet around
// it (entries of no incident).
func readTimeline(id string, timeline []protocol.Entry) timelineFacts {
	var facts timelineFacts
	for _, e := range timeline {
		if e.Incident != "" && e.Incident != id {
			continue
		}
		switch {
		case e.Kind == protocol.EntryPublish && slices.Contains(e.Channels, "page"):
			facts.firstNotice = earliest(facts.firstNotice, e.At.Time)
		case e.Kind == protocol.EntryEvidence:
			facts.evidence++
			facts.evidenceAt = earliest(facts.evidenceAt, e.At.Time)
		case e.Kind == protocol.EntryNote || e.Kind == protocol.EntryCheck:
			if restarted(e.Text) {
				facts.reboot = earliest(facts.reboot, e.At.Time)
			}
		}
	}
	return facts
}

// earliest is the earlier of first (zero when there is none yet) and t.
func earliest(first, t time.Time) time.Time {
	if first.IsZero() || t.Before(first) {
		return t
	}
	return first
}

// restarted says whether a note or step's text tells of a restart, not
// of something done before one.
func restarted(text string) bool {
	low := strings.ToLower(text)
	for _, w := range rebootWords {
		if strings.Contains(low, w) && !strings.Contains(low, "before reboot") {
			return true
		}
	}
	return false
}

// findings are the debrief's facts, each a sentence, in the order found.
type findings struct {
	wrong, well []string
	opened      time.Time
	zone        *time.Location
}

func (f *findings) clock(t time.Time) string { return t.In(f.zone).Format(draftClock) }

func (f *findings) bad(format string, args ...any) {
	f.wrong = append(f.wrong, fmt.Sprintf(format, args...))
}

func (f *findings) good(format string, args ...any) {
	f.well = append(f.well, fmt.Sprintf(format, args...))
}

// deadlines judges each step that has a deadline; the steps done in time
// that say nothing of their own are listed together.
func (f *findings) deadlines(inc *protocol.Incident, now, firstNotice time.Time) {
	var onTime []string
	for i := range inc.Checklist {
		it := &inc.Checklist[i]
		due, declared, ok := Deadline(inc, it)
		if !ok {
			continue
		}
		// "the 15 minute deadline"
		deadline := singular.Replace(humanDuration(due.Sub(f.opened)))
		switch it.ID {
		case "status-page":
			f.statusPage(it, firstNotice, due, deadline)
		case "ack", "contain":
			f.ticked(it, due, deadline)
		default:
			if f.step(inc, it, now, due, declared) {
				onTime = append(onTime, it.Label())
			}
		}
	}
	if len(onTime) > 0 {
		f.well = append(f.well, "On time: "+strings.Join(onTime, "; ")+".")
	}
}

// statusPage judges the first public notice: the first page published,
// else when the step was ticked.
func (f *findings) statusPage(it *protocol.Item, firstNotice, due time.Time, deadline string) {
	at := firstNotice
	if at.IsZero() && it.Done() {
		at = it.DoneAt.Time
	}
	switch {
	case at.IsZero():
		f.bad("No notice on the status page; it was due within %s.", deadline)
	case at.After(due):
		f.bad("First public notice after %s (%s), %s past the %s deadline.", humanDuration(at.Sub(f.opened)), f.clock(at), humanDuration(at.Sub(due)), deadline)
	default:
		f.good("First public notice after %s (%s), within the %s deadline.", humanDuration(at.Sub(f.opened)), f.clock(at), deadline)
	}
}

// ticked judges a step whose time is worth a sentence either way.
func (f *findings) ticked(it *protocol.Item, due time.Time, deadline string) {
	switch {
	case !it.Done():
		f.bad("%s: never ticked.", it.Label())
	case it.DoneAt.After(due):
		f.bad("%s after %s (%s), %s past the %s deadline.", it.Label(), humanDuration(it.DoneAt.Sub(f.opened)), f.clock(it.DoneAt.Time), humanDuration(it.DoneAt.Sub(due)), deadline)
	default:
		f.good("%s after %s (%s), within the %s deadline.", it.Label(), humanDuration(it.DoneAt.Sub(f.opened)), f.clock(it.DoneAt.Time), deadline)
	}
}

// step judges any other step, reporting whether it was done on time.
func (f *findings) step(inc *protocol.Incident, it *protocol.Item, now, due time.Time, declared bool) (onTime bool) {
	switch {
	case !it.Done():
		if now.After(due) && Owed(inc, it, due) {
			f.bad("%s: not done; it was due at %s.", it.Label(), f.clock(due))
		}
		return false
	case it.Every == nil && it.DoneAt.After(due) && !declared:
		f.bad("%s: %s late (due %s, done %s).", it.Label(), humanDuration(it.DoneAt.Sub(due)), f.clock(due), f.clock(it.DoneAt.Time))
		return false
	case it.Every != nil && it.Count <= 1 && it.DoneAt.After(due):
		f.bad("%s: first one %s late (due %s, done %s).", it.Label(), humanDuration(it.DoneAt.Sub(due)), f.clock(due), f.clock(it.DoneAt.Time))
		return false
	}
	return true
}

// rootCauses judges each root-cause step against the reboots and evidence
// of the timeline: a restart before the cause is known may take the
// evidence with it.
func (f *findings) rootCauses(inc *protocol.Incident, seen timelineFacts) {
	for i := range inc.Checklist {
		if it := &inc.Checklist[i]; it.ID == "root-cause" {
			f.rootCause(it, seen)
		}
	}
}

func (f *findings) rootCause(it *protocol.Item, seen timelineFacts) {
	found := ""
	if seen.evidence > 0 && it.Done() && !seen.evidenceAt.After(it.DoneAt.Time) {
		found = fmt.Sprintf(" from the evidence (%d capture%s, the first at %s)", seen.evidence, plural(seen.evidence), f.clock(seen.evidenceAt))
	}
	reboot := seen.reboot
	switch {
	case !it.Done() && !reboot.IsZero():
		f.bad("Rebooted at %s with no root cause recorded.", f.clock(reboot))
	case !it.Done():
		f.bad("No root cause recorded.")
	case !reboot.IsZero() && reboot.Before(it.DoneAt.Time):
		f.bad("Rebooted at %s, before the root cause was found at %s: the evidence may have gone with it.", f.clock(reboot), f.clock(it.DoneAt.Time))
	case !reboot.IsZero():
		f.good("Root cause found%s at %s, before anything was rebooted (%s).", found, f.clock(it.DoneAt.Time), f.clock(reboot))
	default:
		f.good("Root cause found%s at %s, with nothing rebooted.", found, f.clock(it.DoneAt.Time))
	}
}

func (f *findings) render(inc *protocol.Incident) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Internal debrief: %s %s (%s)\n", inc.ID, inc.Title, inc.Severity)
	fmt.Fprintf(&b, "Opened %s", zoned(f.opened, f.zone))
	if inc.ResolvedAt != nil && !inc.ResolvedAt.IsZero() {
		fmt.Fprintf(&b, ", resolved %s (%s)", f.clock(inc.ResolvedAt.Time), humanDuration(inc.ResolvedAt.Sub(f.opened)))
	}
	b.WriteString(".\n\nWhat went wrong\n")
	list(&b, f.wrong, "Nothing the journal shows; add what the team saw.")
	b.WriteString("\nWhat went well\n")
	list(&b, f.well, "Nothing the journal shows; add what the team saw.")
	b.WriteString("\nWhat we change\n- (for the team to fill in)\n")
	return b.String()
}

func list(b *strings.Builder, items []string, none string) {
	if len(items) == 0 {
		items = []string{none}
	}
	for _, s := range items {
		b.WriteString("- " + s + "\n")
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
