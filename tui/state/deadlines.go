package state

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// ExpiryWatch names a check that watches an expiry (a certificate, a
// domain's registration) and its thresholds. A service frame carries a
// state and a detail, not an expiry date nor the kind of check, so the
// dashboard learns which services are expiries, and how near warn and
// down mean, from the configuration that declares those checks.
type ExpiryWatch struct {
	Service            string // the check's name
	Kind               string // DeadlineCertificate or DeadlineDomain
	WarnDays, CritDays int
}

// Deadline kinds.
const (
	DeadlineCertificate  = "certificate"
	DeadlineDomain       = "domain"
	DeadlineMaintenance  = "maintenance"
	DeadlineAnnouncement = "announcement"
	DeadlineStep         = "step"
	DeadlineFollowUp     = "follow-up"
	DeadlineRecurring    = "recurring"
)

// Deadline states.
const (
	DueScheduled  = "scheduled"   // a maintenance window ahead
	DueInProgress = "in progress" // a maintenance window now
	DueOverrun    = "overrun"     // still in progress past its announced end
	DueAhead      = "due"         // a step to do, its deadline ahead
	DueOverdue    = "overdue"     // a step to do, its deadline passed
	DueAnnounced  = "announced"   // an announcement that went out
	DueDone       = "done"        // any other step, done
	DueWaiting    = "after"       // a follow-up, counted once the work ends
	DueOK         = "ok"          // an expiry outside warn_days
	DueExpiring   = "expiring"    // inside warn_days
	DueCritical   = "crit"        // inside crit_days, expired, or not verifying
	DueRenewed    = "renewed"     // was expiring, now outside warn_days
	DueUnknown    = "unknown"     // the check cannot tell
)

// Deadline is one dated obligation on the deadlines view.
type Deadline struct {
	Kind  string
	State string
	Title string
	// Due is when it is due; for an expiry, whose date the wire does not
	// carry, the latest it can be (Bound set): a check down since T found
	// it inside crit_days at T, so it expires before T + crit_days (warn:
	// warn_days). Zero: no date.
	Due   time.Time
	Bound bool
	// Where it comes from: a service (Feed, Host, Service) or an
	// incident's step (Feed, Incident, Item; Item empty for the window).
	Feed, Host, Service string
	Incident, Item      string
	Detail              string    // the check's detail or the step's hint, sanitised
	Since               time.Time // the service's state since
}

// Key identifies a deadline across recomputations, for the view's cursor.
func (d Deadline) Key() string {
	if d.Incident != "" {
		return "i\x00" + d.Incident + "\x00" + d.Item
	}
	return "s\x00" + d.Host + "\x00" + d.Service
}

// Left is the time until Due (negative when past); meaningless when Due
// is zero.
func (d Deadline) Left(now time.Time) time.Duration { return d.Due.Sub(now) }

// RenewedFor is how long a renewed expiry stays on the list.
const RenewedFor = 7 * 24 * time.Hour

// Deadlines lists what is due, soonest first: expiries of the watched
// services, maintenance windows with their steps, recurring steps and
// follow-ups of every incident. Undated rows come last.
func (s *State) Deadlines(now time.Time, watches []ExpiryWatch) []Deadline {
	var out []Deadline
	byName := map[string]ExpiryWatch{}
	for _, w := range watches {
		byName[w.Service] = w
	}
	for _, sv := range s.Services() {
		w, ok := byName[sv.Name]
		if !ok {
			continue
		}
		if d, ok := expiryDeadline(sv, w, now); ok {
			out = append(out, d)
		}
	}
	for _, in := range s.Incidents() {
		out = append(out, incidentDeadlines(in, now)...)
	}
	SortDeadlines(out)
	return out
}

func expiryDeadline(sv *Service, w ExpiryWatch, now time.Time) (Deadline, bool) {
	d := Deadline{Kind: w.Kind, Title: sv.Name + " on " + sv.Host, Feed: sv.Feed, Host: sv.Host, Service: sv.Name, Detail: sv.Detail, Since: sv.Since}
	// Inside n days since the state began, so expiring at the latest n
	// days after that (and after now: a since ahead of this clock is skew).
	days := func(n int) time.Time {
		span := time.Duration(n) * 24 * time.Hour
		return minTime(sv.Since.Add(span), now.Add(span))
	}
	switch sv.State {
	case protocol.StateDown:
		d.State, d.Due, d.Bound = DueCritical, days(w.CritDays), true
	case protocol.StateWarn:
		d.State, d.Due, d.Bound = DueExpiring, days(w.WarnDays), true
	case protocol.StateOK:
		d.State = DueOK
		if (sv.Previous == protocol.StateWarn || sv.Previous == protocol.StateDown) && now.Sub(sv.Since) < RenewedFor {
			d.State = DueRenewed
		}
	default:
		d.State = DueUnknown
	}
	return d, true
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// incidentDeadlines are an incident's dated rows: a maintenance's window
// and announcement steps, and any incident's recurring steps and
// follow-ups. A resolved incident keeps only its follow-ups still to do.
func incidentDeadlines(in *Incident, now time.Time) []Deadline {
	inc := &in.Incident
	maint := inc.Kind == "maintenance"
	resolved := inc.Resolved()
	var out []Deadline
	base := Deadline{Feed: in.Feed, Incident: inc.ID}
	if maint && !resolved && inc.ScheduledStart != nil && !inc.ScheduledStart.IsZero() {
		d := base
		d.Kind, d.Title, d.Due = DeadlineMaintenance, inc.Title, inc.ScheduledStart.Time
		d.State = DueScheduled
		if !now.Before(inc.ScheduledStart.Time) {
			d.State = DueInProgress
			if inc.ScheduledEnd != nil && !inc.ScheduledEnd.IsZero() {
				d.Due = inc.ScheduledEnd.Time // the end is the next thing due
			}
		}
		if _, over := incident.Overrunning(inc, now); over {
			d.State = DueOverrun
		}
		out = append(out, d)
	}
	for i := range inc.Checklist {
		it := &inc.Checklist[i]
		kind := stepKind(inc, it)
		if kind == "" {
			continue
		}
		st := incident.StepStatus(inc, it, now)
		if resolved && (kind != DeadlineFollowUp || it.Done()) {
			continue
		}
		d := base
		d.Kind, d.Item, d.Title, d.Due, d.Detail = kind, it.ID, Sanitize(it.Label()), st.DueAt, Sanitize(it.Hint)
		switch st.State {
		case incident.StepWaiting:
			d.State = DueWaiting
		case incident.StepOverdue:
			d.State = DueOverdue
		case incident.StepDone:
			d.State = DueDone
			if kind == DeadlineAnnouncement {
				d.State = DueAnnounced
			}
			if it.Every == nil {
				d.Due = it.DoneAt.Time
			}
		default:
			d.State = DueAhead
		}
		out = append(out, d)
	}
	return out
}

// stepKind says which deadline a step is, or "" for a step that is not
// one (an undated step of an outage: the checklist shows those).
func stepKind(inc *protocol.Incident, it *protocol.Item) string {
	switch {
	case it.After == protocol.AfterResolved:
		return DeadlineFollowUp
	case it.Every != nil:
		return DeadlineRecurring
	case inc.Kind != "maintenance":
		return ""
	case it.Due != nil && it.Due.Std() < 0, strings.HasPrefix(it.ID, "announce"):
		return DeadlineAnnouncement
	}
	return DeadlineStep
}

// Settled reports whether the row asks nothing more: done, announced,
// renewed, or an expiry that is far.
func (d Deadline) Settled() bool {
	switch d.State {
	case DueDone, DueAnnounced, DueRenewed, DueOK:
		return true
	}
	return false
}

// SortDeadlines orders what is still to come soonest first, rows without
// a date after those, and what is settled last (the newest first); the
// worst first among rows due together; rows alike keep their order (a
// checklist's own).
func SortDeadlines(ds []Deadline) {
	// Indices are sorted, not the rows: a row is some two hundred bytes,
	// and a stable sort of them moves each many times.
	idx := make([]int, len(ds))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		return cmp.Or(compareDeadlines(&ds[i], &ds[j]), cmp.Compare(i, j))
	})
	sorted := make([]Deadline, len(ds))
	for to, from := range idx {
		sorted[to] = ds[from]
	}
	copy(ds, sorted)
}

func compareDeadlines(a, b *Deadline) int {
	if a.Settled() != b.Settled() {
		if a.Settled() {
			return 1
		}
		return -1
	}
	if a.Settled() {
		return b.Due.Compare(a.Due)
	}
	if a.Due.IsZero() != b.Due.IsZero() {
		if a.Due.IsZero() {
			return 1
		}
		return -1
	}
	if c := a.Due.Compare(b.Due); c != 0 {
		return c
	}
	return cmp.Compare(dueRank(a.State), dueRank(b.State))
}

func dueRank(s string) int {
	switch s {
	case DueOverrun, DueOverdue, DueCritical:
		return 0
	case DueExpiring, DueUnknown:
		return 1
	case DueInProgress, DueAhead, DueScheduled:
		return 2
	case DueWaiting:
		return 3
	}
	return 4
}

// Overruns are the maintenances still in progress past their announced
// end: the header says so until a notice is out or the work ends.
func (s *State) Overruns(now time.Time) []*Incident {
	var out []*Incident
	for _, in := range s.Incidents() {
		if _, over := incident.Overrunning(&in.Incident, now); over {
			out = append(out, in)
		}
	}
	return out
}
