package incident

import (
	"fmt"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// StepState is where a checklist step stands at a moment.
type StepState int

const (
	StepWaiting StepState = iota // an after-resolution step of an open incident
	StepOpen                     // to do, no deadline
	StepDueIn                    // to do, deadline ahead
	StepOverdue                  // to do, deadline passed
	StepDone                     // done (a recurring step: done and not yet due again)
)

// Status is a step's state with its deadline, if any.
type Status struct {
	State StepState
	DueAt time.Time // zero when the step has no deadline
	// PassedAtDeclare says the step's deadline had passed before the
	// incident was declared (a maintenance declared two days ahead has
	// no week-ahead notice to be late with): open, never overdue.
	PassedAtDeclare bool
}

// Left is the time until DueAt (negative when overdue).
func (s Status) Left(now time.Time) time.Duration { return s.DueAt.Sub(now) }

// base is the moment an item's due is measured from.
func base(inc *protocol.Incident, it *protocol.Item) (time.Time, bool) {
	if it.After == protocol.AfterResolved {
		if inc.ResolvedAt == nil || inc.ResolvedAt.IsZero() {
			return time.Time{}, false
		}
		return inc.ResolvedAt.Time, true
	}
	if inc.Kind == "maintenance" && inc.ScheduledStart != nil && !inc.ScheduledStart.IsZero() {
		return inc.ScheduledStart.Time, true
	}
	return inc.OpenedAt.Time, true
}

// StepStatus says where step it of inc stands at now.
func StepStatus(inc *protocol.Incident, it *protocol.Item, now time.Time) Status {
	from, active := base(inc, it)
	if !active {
		return Status{State: StepWaiting}
	}
	var dueAt time.Time
	switch {
	case it.Every != nil:
		if inc.Resolved() && it.After == "" {
			// Progress updates stop once resolved; the last one stands.
			if it.Done() {
				return Status{State: StepDone}
			}
			return Status{State: StepOpen}
		}
		if it.Done() {
			dueAt = it.DoneAt.Add(it.Every.Std())
		} else if it.Due != nil {
			dueAt = from.Add(it.Due.Std())
		} else {
			dueAt = from.Add(it.Every.Std())
		}
	case it.Done():
		return Status{State: StepDone}
	case it.Due != nil:
		dueAt = from.Add(it.Due.Std())
	default:
		return Status{State: StepOpen}
	}
	if !it.Done() && passedAt(inc, dueAt) {
		return Status{State: StepOpen, PassedAtDeclare: true}
	}
	if now.After(dueAt) {
		return Status{State: StepOverdue, DueAt: dueAt}
	}
	if it.Every != nil && it.Done() {
		return Status{State: StepDone, DueAt: dueAt}
	}
	return Status{State: StepDueIn, DueAt: dueAt}
}

// Lateness is how late a done step was done: zero when on time or without
// a deadline. For recurring steps only the first occurrence is judged.
func Lateness(inc *protocol.Incident, it *protocol.Item) time.Duration {
	if !it.Done() || it.Due == nil {
		return 0
	}
	from, ok := base(inc, it)
	if !ok {
		return 0
	}
	due := from.Add(it.Due.Std())
	if passedAt(inc, due) {
		return 0 // it was past before anyone could do it
	}
	late := it.DoneAt.Sub(due)
	if late < 0 {
		return 0
	}
	return late
}

// NextDue returns the open step with the earliest deadline (overdue ones
// first, as they have the earliest deadlines), or ok=false when nothing has
// a deadline.
func NextDue(inc *protocol.Incident, now time.Time) (item *protocol.Item, st Status, ok bool) {
	for i := range inc.Checklist {
		it := &inc.Checklist[i]
		s := StepStatus(inc, it, now)
		if s.DueAt.IsZero() || (s.State != StepDueIn && s.State != StepOverdue && !(s.State == StepDone && it.Every != nil)) {
			continue
		}
		if !ok || s.DueAt.Before(st.DueAt) {
			item, st, ok = it, s, true
		}
	}
	return item, st, ok
}

// Progress counts the steps that count now and how many of them are done.
func Progress(inc *protocol.Incident) (done, total int) {
	for i := range inc.Checklist {
		it := &inc.Checklist[i]
		if it.After == protocol.AfterResolved && !inc.Resolved() {
			continue
		}
		total++
		if it.Done() {
			done++
		}
	}
	return done, total
}

// PassedAtDeclare reports whether step it's first deadline had passed
// when inc was declared: no one could have done it in time.
func PassedAtDeclare(inc *protocol.Incident, it *protocol.Item) bool {
	if it.Due == nil {
		return false
	}
	from, ok := base(inc, it)
	return ok && passedAt(inc, from.Add(it.Due.Std()))
}

// declareSlack is how long before the declare a deadline may lie and
// still be the declarer's to meet: a maintenance declared "+168h" has its
// week-ahead notice due as it is declared (the form's clock ran a moment
// before the hub's), not passed.
const declareSlack = time.Minute

// passedAt says due had passed when inc was declared.
func passedAt(inc *protocol.Incident, due time.Time) bool {
	return due.Before(inc.OpenedAt.Add(-declareSlack))
}

// DeclaredAhead is how long before its scheduled start a maintenance was
// declared, in a reader's words ("declared 2 days ahead"); "" for an
// incident that is not scheduled or was declared after its start.
func DeclaredAhead(inc *protocol.Incident) string {
	if inc.ScheduledStart == nil || !inc.ScheduledStart.After(inc.OpenedAt.Time) {
		return ""
	}
	ahead := inc.ScheduledStart.Sub(inc.OpenedAt.Time)
	if ahead >= 24*time.Hour {
		days := int((ahead + 12*time.Hour) / (24 * time.Hour))
		if days == 1 {
			return "declared 1 day ahead"
		}
		return fmt.Sprintf("declared %d days ahead", days)
	}
	return "declared " + humanDuration(ahead) + " ahead"
}
