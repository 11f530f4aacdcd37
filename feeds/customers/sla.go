package customers

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// Tier is one step of a plan's credits: availability below Below earns
// Percent of the monthly fee.
type Tier struct {
	Below   float64
	Percent float64
}

// Plan is one [[serve.sla]]: the availability promised per calendar month
// (UTC) and the credits owed when it is missed.
type Plan struct {
	Name               string
	Target             float64
	Credits            []Tier
	ExcludeMaintenance bool
}

// Tier is the credit percent availability earns: the largest of the
// tiers it falls below, 0 when none.
func (p Plan) Tier(availability float64) float64 {
	pct := 0.0
	for _, t := range p.Credits {
		if availability < t.Below && t.Percent > pct {
			pct = t.Percent
		}
	}
	return pct
}

// Month is one calendar month in UTC: [Start, End).
type Month struct{ Start, End time.Time }

// ParseMonth reads "2026-11".
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Month{}, fmt.Errorf("expected a month like 2026-11, got %q", s)
	}
	return MonthOf(t), nil
}

// MonthOf is the UTC calendar month holding t, whatever t's zone.
func MonthOf(t time.Time) Month {
	t = t.UTC()
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return Month{start, start.AddDate(0, 1, 0)}
}

func (m Month) String() string { return m.Start.Format("2006-01") }

// Credit is one customer's month: how long they were down, their
// availability, the tier it earns and what that comes to, and the
// incidents open while they were down.
type Credit struct {
	Customer      Customer
	DownMinutes   float64
	Availability  float64 // percent of the whole month
	CreditPercent float64
	Credit        float64 // in the currency of monthly_fee, to the cent
	Incidents     []string
}

// Credits works out the month for every customer with any downtime, in
// file order. Downtime is the union of their hosts' outages within the
// month (up to now), less announced maintenance of theirs when their plan
// excludes it. A customer whose plan is unknown gets no credit but their
// downtime is still shown.
func Credits(l *List, f *Facts, plans map[string]Plan, m Month, now time.Time) []Credit {
	var out []Credit
	if l == nil {
		return nil
	}
	to := m.End
	if now.Before(to) {
		to = now
	}
	var maint []maintWindow
	for _, in := range f.Incidents() {
		if w, ok := maintenanceWindow(in); ok {
			maint = append(maint, maintWindow{w, in.Components})
		}
	}
	total := m.End.Sub(m.Start)
	for _, c := range l.customers {
		var spans []Interval
		for _, h := range c.Hosts {
			spans = append(spans, f.Outages(h, m.Start, to, now)...)
		}
		if len(spans) == 0 {
			continue
		}
		spans = union(spans)
		plan, known := plans[c.Plan]
		if plan.ExcludeMaintenance {
			for _, mw := range maint {
				if len(mw.components) == 0 || overlapsAny(mw.components, c.Components) {
					spans = subtract(spans, mw.window.From, mw.window.end(now))
				}
			}
		}
		var down time.Duration
		for _, s := range spans {
			down += s.To.Sub(s.From)
		}
		if down <= 0 {
			continue
		}
		cr := Credit{Customer: c, DownMinutes: round(down.Minutes(), 1)}
		cr.Availability = round(100*(1-float64(down)/float64(total)), 3)
		if known {
			cr.CreditPercent = plan.Tier(100 * (1 - float64(down)/float64(total)))
			cr.Credit = round(c.MonthlyFee*cr.CreditPercent/100, 2)
		}
		cr.Incidents = f.incidentsDuring(spans, now)
		out = append(out, cr)
	}
	return out
}

type maintWindow struct {
	window     Interval
	components []string
}

func overlapsAny(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// incidentsDuring is the ids of the incidents (not maintenance) open
// during any of spans.
func (f *Facts) incidentsDuring(spans []Interval, now time.Time) []string {
	var ids []string
	for _, id := range f.order {
		in := f.incidents[id]
		if in.Kind == Maintenance {
			continue
		}
		w := window(in)
		for _, s := range spans {
			if _, ok := w.clip(s.From, s.To, now); ok {
				ids = append(ids, id)
				break
			}
		}
	}
	return ids
}

// union merges overlapping or touching spans, in time order.
func union(spans []Interval) []Interval {
	sort.Slice(spans, func(i, j int) bool { return spans[i].From.Before(spans[j].From) })
	out := spans[:0:0]
	for _, s := range spans {
		if n := len(out); n > 0 && !s.From.After(out[n-1].To) {
			if s.To.After(out[n-1].To) {
				out[n-1].To = s.To
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

// subtract removes [from, to) from closed spans.
func subtract(spans []Interval, from, to time.Time) []Interval {
	var out []Interval
	for _, s := range spans {
		if !s.From.Before(to) || !s.To.After(from) {
			out = append(out, s)
			continue
		}
		if s.From.Before(from) {
			out = append(out, Interval{s.From, from})
		}
		if s.To.After(to) {
			out = append(out, Interval{to, s.To})
		}
	}
	return out
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// Due is the make-right summary: how many customers earn each credit
// percent and what that comes to, largest percent first.
type Due struct {
	Percent   float64
	Customers int
	Amount    float64
}

// Summarize totals credits by percent, leaving out those that earn none.
func Summarize(credits []Credit) []Due {
	by := map[float64]*Due{}
	for _, c := range credits {
		if c.CreditPercent <= 0 {
			continue
		}
		d := by[c.CreditPercent]
		if d == nil {
			d = &Due{Percent: c.CreditPercent}
			by[c.CreditPercent] = d
		}
		d.Customers++
		d.Amount = round(d.Amount+c.Credit, 2)
	}
	out := make([]Due, 0, len(by))
	for _, d := range by {
		out = append(out, *d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Percent > out[j].Percent })
	return out
}
