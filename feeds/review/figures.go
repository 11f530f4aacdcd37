// Package review turns a month of the journal into the figures a debrief
// needs: per incident the time to acknowledge, to first public notice
// and to resolve, each communication step's deadline met or missed and
// by how much; for the month MTTA, MTTR, first-notice percentiles, the
// steps that were late and availability against the plan's target.
//
// Times are the responders' times of action: the hub sets opened_at,
// done_at and resolved_at from a command's at, so the figures measure
// what people did, not when the hub heard of it.
package review

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/vigil-oncall/vigil/feeds/export"
	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Month is the review of one calendar month (UTC).
type Month struct {
	Month     string     `json:"month"`
	Incidents []Incident `json:"incidents"`
	// Means and percentiles in whole seconds; null where no incident of
	// the month has the figure.
	MTTA             *int64       `json:"mtta_s"`
	MTTR             *int64       `json:"mttr_s"`
	FirstNoticeP50   *int64       `json:"first_notice_p50_s"`
	FirstNoticeP90   *int64       `json:"first_notice_p90_s"`
	StepsLate        int          `json:"steps_late"`
	Availability     Availability `json:"availability"`
	CustomersPending bool         `json:"-"` // no customer data: affected and credits not computed
}

// Incident is one incident's figures.
type Incident struct {
	ID                string         `json:"id"`
	Title             string         `json:"title"`
	Kind              string         `json:"-"`
	OpenedAt          protocol.Time  `json:"opened_at"`
	ResolvedAt        *protocol.Time `json:"resolved_at"`
	TimeToAck         *int64         `json:"time_to_ack_s"`
	TimeToFirstNotice *int64         `json:"time_to_first_notice_s"`
	TimeToResolve     *int64         `json:"time_to_resolve_s"`
	// CustomersAffected and Credits come from the hub's customer data;
	// a journal without it gives 0 and none.
	CustomersAffected int      `json:"customers_affected"`
	Credits           []Credit `json:"credits"`
	Steps             []Step   `json:"steps"`
}

// Credit is what one customer is owed for an incident.
type Credit struct {
	Customer string  `json:"customer"`
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency,omitempty"`
}

// Step is a communication step with a deadline: when it was due, when
// it was done, and how late (null when met or not yet due; for a step
// never done, how far past its deadline the review was made).
type Step struct {
	ID     string         `json:"id"`
	DueAt  *protocol.Time `json:"due_at"`
	DoneAt *protocol.Time `json:"done_at"`
	Late   *int64         `json:"late_s"`
	// Declared is set where a maintenance was declared after the step's
	// deadline: the step counts from the declaration, not as late.
	Declared bool `json:"-"`
}

// Availability is the month's service time against the plan's target.
type Availability struct {
	TargetPct  float64 `json:"target_pct"`
	Pct        float64 `json:"pct"`
	DowntimeS  int64   `json:"downtime_s"`
	BudgetS    int64   `json:"budget_s"`
	BudgetLeft int64   `json:"budget_left_s"`
}

// Options say which month and how it is judged.
type Options struct {
	Month     time.Time  // any instant in the month (UTC)
	TargetPct float64    // the plan's availability target, e.g. 99.9
	Now       time.Time  // when the review is made: steps not yet done are judged against it
	Customers *Customers // nil: customers affected and credits are not known
}

// ParseMonth reads "2026-11".
func ParseMonth(s string) (time.Time, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("month %q: expected YYYY-MM, e.g. 2026-11", s)
	}
	return t, nil
}

// incidentTrack is what the journal says about one incident.
type incidentTrack struct {
	last        protocol.Incident
	firstDone   map[string]time.Time // a step's first done_at over the incident's frames
	firstNotice time.Time            // the first publish to the status page
}

// Review computes the figures of opts.Month from msgs (incident and entry
// messages in seq order).
func Review(msgs []protocol.Message, opts Options) Month {
	from := time.Date(opts.Month.Year(), opts.Month.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	tracks, order := readTracks(msgs)
	out := Month{Month: from.Format("2006-01"), Incidents: []Incident{}, CustomersPending: true}
	var down []span
	end := to
	if opts.Now.Before(to) {
		end = opts.Now
	}
	for _, id := range order {
		tr := tracks[id]
		if s, ok := outage(&tr.last, from, end); ok {
			down = append(down, s)
		}
		if opened := tr.last.OpenedAt; !opened.Before(from) && opened.Before(to) {
			out.Incidents = append(out.Incidents, judge(tr, opts.Now))
		}
	}
	out.setFigures()
	out.Availability = availability(down, to.Sub(from), opts.TargetPct)
	out.addCustomers(msgs, opts.Customers, from, to, opts.Now)
	return out
}

// readTracks follows each incident through msgs; order is the incidents'
// ids in the order they first appear.
func readTracks(msgs []protocol.Message) (tracks map[string]*incidentTrack, order []string) {
	tracks = map[string]*incidentTrack{}
	for _, m := range msgs {
		switch v := m.(type) {
		case *protocol.IncidentMsg:
			tr := tracks[v.Incident.ID]
			if tr == nil {
				tr = &incidentTrack{firstDone: map[string]time.Time{}}
				tracks[v.Incident.ID] = tr
				order = append(order, v.Incident.ID)
			}
			tr.follow(v.Incident)
		case *protocol.Entry:
			if tr := tracks[v.Incident]; tr != nil && v.Kind == protocol.EntryPublish && slices.Contains(v.Channels, "page") {
				tr.firstNotice = earliest(tr.firstNotice, v.At.Time)
			}
		}
	}
	return tracks, order
}

// follow takes the incident's newest state, keeping each step's first
// done_at.
func (tr *incidentTrack) follow(inc protocol.Incident) {
	tr.last = inc
	for _, it := range inc.Checklist {
		if _, seen := tr.firstDone[it.ID]; !seen && it.Done() {
			tr.firstDone[it.ID] = it.DoneAt.Time
		}
	}
}

// earliest is the earlier of first (zero when there is none yet) and t.
func earliest(first, t time.Time) time.Time {
	if first.IsZero() || t.Before(first) {
		return t
	}
	return first
}

// outage is the part of the month [from, end) an outage ran in: it
// counts against every month it ran in. A maintenance is no outage.
func outage(inc *protocol.Incident, from, end time.Time) (span, bool) {
	if inc.Kind == "maintenance" {
		return span{}, false
	}
	stop := end
	if inc.ResolvedAt != nil {
		stop = minTime(inc.ResolvedAt.Time, end)
	}
	start := maxTime(inc.OpenedAt.Time, from)
	return span{start, stop}, stop.After(start)
}

// setFigures sets the month's means, percentiles and late steps from its
// incidents.
func (m *Month) setFigures() {
	var acks, resolves, notices []int64
	for _, r := range m.Incidents {
		if r.TimeToAck != nil {
			acks = append(acks, *r.TimeToAck)
		}
		if r.TimeToFirstNotice != nil {
			notices = append(notices, *r.TimeToFirstNotice)
		}
		if r.Kind != "maintenance" && r.TimeToResolve != nil {
			resolves = append(resolves, *r.TimeToResolve)
		}
		for _, s := range r.Steps {
			if s.Late != nil && *s.Late > 0 {
				m.StepsLate++
			}
		}
	}
	m.MTTA, m.MTTR = mean(acks), mean(resolves)
	m.FirstNoticeP50, m.FirstNoticeP90 = percentile(notices, 50), percentile(notices, 90)
}

func judge(tr *incidentTrack, now time.Time) Incident {
	inc := &tr.last
	r := Incident{ID: inc.ID, Title: inc.Title, Kind: inc.Kind, OpenedAt: inc.OpenedAt, ResolvedAt: inc.ResolvedAt, Credits: []Credit{}, Steps: []Step{}}
	opened := inc.OpenedAt.Time
	for _, it := range inc.Checklist {
		if it.ID == "ack" && it.Done() {
			r.TimeToAck = seconds(it.DoneAt.Sub(opened))
		}
	}
	if !tr.firstNotice.IsZero() {
		r.TimeToFirstNotice = seconds(tr.firstNotice.Sub(opened))
	}
	if inc.ResolvedAt != nil && !inc.ResolvedAt.IsZero() {
		r.TimeToResolve = seconds(inc.ResolvedAt.Sub(opened))
	}
	for i := range inc.Checklist {
		it := &inc.Checklist[i]
		if !export.IsCommunication(it) {
			continue
		}
		if s, ok := judgeStep(inc, it, tr.firstDone, now); ok {
			r.Steps = append(r.Steps, s)
		}
	}
	return r
}

// judgeStep measures a step with a deadline; ok is false for a step
// without one, one whose deadline has not started (an after-resolution
// step of an open incident), or one never owed.
func judgeStep(inc *protocol.Incident, it *protocol.Item, firstDone map[string]time.Time, now time.Time) (Step, bool) {
	due, declared, ok := incident.Deadline(inc, it)
	if !ok {
		return Step{}, false
	}
	s := Step{ID: it.ID, DueAt: protocol.TimePtr(due), Declared: declared}
	done, isDone := firstDone[it.ID]
	if it.Every == nil && it.Done() {
		done, isDone = it.DoneAt.Time, true // the tick that stands, after any untick
	}
	switch {
	case isDone:
		s.DoneAt = protocol.TimePtr(done)
		if done.After(due) && !declared {
			s.Late = seconds(done.Sub(due))
		}
	case !incident.Owed(inc, it, due):
		return Step{}, false
	case now.After(due):
		s.Late = seconds(now.Sub(due))
	}
	return s, true
}

type span struct{ from, to time.Time }

// availability is the share of the month outside any outage (overlapping
// incidents count once) against the target, with the error budget left.
func availability(down []span, month time.Duration, target float64) Availability {
	sort.Slice(down, func(i, j int) bool { return down[i].from.Before(down[j].from) })
	var total time.Duration
	var cur span
	for i, s := range down {
		switch {
		case i == 0:
			cur = s
		case !s.from.After(cur.to):
			cur.to = maxTime(cur.to, s.to)
		default:
			total += cur.to.Sub(cur.from)
			cur = s
		}
	}
	if len(down) > 0 {
		total += cur.to.Sub(cur.from)
	}
	budget := time.Duration(float64(month) * (100 - target) / 100)
	return Availability{
		TargetPct:  target,
		Pct:        math.Round((1-float64(total)/float64(month))*100*1000) / 1000,
		DowntimeS:  int64(total.Round(time.Second) / time.Second),
		BudgetS:    int64(budget.Round(time.Second) / time.Second),
		BudgetLeft: int64((budget - total).Round(time.Second) / time.Second),
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func seconds(d time.Duration) *int64 {
	s := int64(d.Round(time.Second) / time.Second)
	return &s
}

func mean(xs []int64) *int64 {
	if len(xs) == 0 {
		return nil
	}
	var sum int64
	for _, x := range xs {
		sum += x
	}
	m := int64(math.Round(float64(sum) / float64(len(xs))))
	return &m
}

// percentile is the nearest-rank percentile: a value some incident
// actually had.
func percentile(xs []int64, p int) *int64 {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(float64(p) / 100 * float64(len(s))))
	v := s[max(rank, 1)-1]
	return &v
}
