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
	clock := func(t time.Time) string { return t.In(zone).Format(draftClock) }
	var wrong, well []string
	opened := inc.OpenedAt.Time

	var firstNotice time.Time
	var reboot, evidenceAt time.Time
	var evidence int
	for _, e := range env.Timeline {
		if e.Incident != "" && e.Incident != inc.ID {
			continue
		}
		switch {
		case e.Kind == protocol.EntryPublish && slices.Contains(e.Channels, "page"):
			if firstNotice.IsZero() || e.At.Before(firstNotice) {
				firstNotice = e.At.Time
			}
		case e.Kind == protocol.EntryEvidence:
			evidence++
			if evidenceAt.IsZero() || e.At.Before(evidenceAt) {
				evidenceAt = e.At.Time
			}
		case e.Kind == protocol.EntryNote || e.Kind == protocol.EntryCheck:
			low := strings.ToLower(e.Text)
			for _, w := range rebootWords {
				if strings.Contains(low, w) && !strings.Contains(low, "before reboot") && (reboot.IsZero() || e.At.Before(reboot)) {
					reboot = e.At.Time
				}
			}
		}
	}

	var onTime []string
	for i := range inc.Checklist {
		it := &inc.Checklist[i]
		due, declared, ok := Deadline(inc, it)
		if !ok {
			continue
		}
		// "the 15 minute deadline"
		deadline := singular.Replace(humanDuration(due.Sub(opened)))
		switch {
		case it.ID == "status-page":
			at := firstNotice
			if at.IsZero() && it.Done() {
				at = it.DoneAt.Time
			}
			switch {
			case at.IsZero():
				wrong = append(wrong, fmt.Sprintf("No notice on the status page; it was due within %s.", deadline))
			case at.After(due):
				wrong = append(wrong, fmt.Sprintf("First public notice after %s (%s), %s past the %s deadline.", humanDuration(at.Sub(opened)), clock(at), humanDuration(at.Sub(due)), deadline))
			default:
				well = append(well, fmt.Sprintf("First public notice after %s (%s), within the %s deadline.", humanDuration(at.Sub(opened)), clock(at), deadline))
			}
		case it.ID == "ack" || it.ID == "contain":
			switch {
			case !it.Done():
				wrong = append(wrong, fmt.Sprintf("%s: never ticked.", it.Label()))
			case it.DoneAt.After(due):
				wrong = append(wrong, fmt.Sprintf("%s after %s (%s), %s past the %s deadline.", it.Label(), humanDuration(it.DoneAt.Sub(opened)), clock(it.DoneAt.Time), humanDuration(it.DoneAt.Sub(due)), deadline))
			default:
				well = append(well, fmt.Sprintf("%s after %s (%s), within the %s deadline.", it.Label(), humanDuration(it.DoneAt.Sub(opened)), clock(it.DoneAt.Time), deadline))
			}
		case !it.Done():
			if env.Now.After(due) && Owed(inc, it, due) {
				wrong = append(wrong, fmt.Sprintf("%s: not done; it was due at %s.", it.Label(), clock(due)))
			}
		case it.Every == nil && it.DoneAt.After(due) && !declared:
			wrong = append(wrong, fmt.Sprintf("%s: %s late (due %s, done %s).", it.Label(), humanDuration(it.DoneAt.Sub(due)), clock(due), clock(it.DoneAt.Time)))
		case it.Every != nil && it.Count <= 1 && it.DoneAt.After(due):
			wrong = append(wrong, fmt.Sprintf("%s: first one %s late (due %s, done %s).", it.Label(), humanDuration(it.DoneAt.Sub(due)), clock(due), clock(it.DoneAt.Time)))
		default:
			onTime = append(onTime, it.Label())
		}
	}
	if len(onTime) > 0 {
		well = append(well, "On time: "+strings.Join(onTime, "; ")+".")
	}

	for i := range inc.Checklist {
		it := &inc.Checklist[i]
		if it.ID != "root-cause" {
			continue
		}
		found := ""
		if evidence > 0 && it.Done() && !evidenceAt.After(it.DoneAt.Time) {
			found = fmt.Sprintf(" from the evidence (%d capture%s, the first at %s)", evidence, plural(evidence), clock(evidenceAt))
		}
		switch {
		case !it.Done() && !reboot.IsZero():
			wrong = append(wrong, fmt.Sprintf("Rebooted at %s with no root cause recorded.", clock(reboot)))
		case !it.Done():
			wrong = append(wrong, "No root cause recorded.")
		case !reboot.IsZero() && reboot.Before(it.DoneAt.Time):
			wrong = append(wrong, fmt.Sprintf("Rebooted at %s, before the root cause was found at %s: the evidence may have gone with it.", clock(reboot), clock(it.DoneAt.Time)))
		case !reboot.IsZero():
			well = append(well, fmt.Sprintf("Root cause found%s at %s, before anything was rebooted (%s).", found, clock(it.DoneAt.Time), clock(reboot)))
		default:
			well = append(well, fmt.Sprintf("Root cause found%s at %s, with nothing rebooted.", found, clock(it.DoneAt.Time)))
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "Internal debrief: %s %s (%s)\n", inc.ID, inc.Title, inc.Severity)
	fmt.Fprintf(&b, "Opened %s", zoned(opened, zone))
	if inc.ResolvedAt != nil && !inc.ResolvedAt.IsZero() {
		fmt.Fprintf(&b, ", resolved %s (%s)", clock(inc.ResolvedAt.Time), humanDuration(inc.ResolvedAt.Sub(opened)))
	}
	b.WriteString(".\n\nWhat went wrong\n")
	list(&b, wrong, "Nothing the journal shows; add what the team saw.")
	b.WriteString("\nWhat went well\n")
	list(&b, well, "Nothing the journal shows; add what the team saw.")
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
