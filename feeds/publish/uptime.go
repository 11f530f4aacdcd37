package publish

import (
	"math"
	"slices"
	"time"
)

// Span is a time the hub was running: uptime is only counted inside one.
type Span struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// UptimeRules say how component states count. The defaults: a major
// outage is down, a partial outage half down, degraded performance up,
// announced maintenance left out of the reckoning.
type UptimeRules struct {
	PartialWeight    float64 // share of partial-outage time counted down
	DegradedWeight   float64 // share of degraded time counted down
	CountMaintenance bool    // maintenance counts as up instead of left out
	Days             int     // bars on the page
}

// DefaultUptimeRules are the documented defaults.
func DefaultUptimeRules() UptimeRules { return UptimeRules{PartialWeight: 0.5, Days: 90} }

// UptimeDay is one UTC day of one component, in seconds per state.
type UptimeDay struct {
	Date         string   `json:"date"`
	Uptime       *float64 `json:"uptime"`
	MajorS       int64    `json:"major_s"`
	PartialS     int64    `json:"partial_s"`
	DegradedS    int64    `json:"degraded_s"`
	MaintenanceS int64    `json:"maintenance_s"`
	NoDataS      int64    `json:"no_data_s"`
	observed     time.Duration
	down         [4]time.Duration // major, partial, degraded, maintenance, unrounded
}

// UptimeMonth is the month so far.
type UptimeMonth struct {
	Month  string   `json:"month"`
	Uptime *float64 `json:"uptime"`
}

// ComponentUptimeJSON is one component of GET /status/uptime.json.
type ComponentUptimeJSON struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Uptime90d *float64    `json:"uptime_90d"`
	Month     UptimeMonth `json:"month"`
	Days      []UptimeDay `json:"days"`
	// Auto: the component's states come from its hosts while nobody
	// published (a key only a component with auto = true has).
	Auto bool `json:"auto,omitempty"`
}

// UptimeJSON is GET /status/uptime.json.
type UptimeJSON struct {
	Components []ComponentUptimeJSON `json:"components"`
}

// stateSpan is a component in a state over a time.
type stateSpan struct {
	from, to time.Time
	state    string
}

// componentSpans is each component's non-operational spans from the
// incidents that name it: an open incident at its severity's status, a
// maintenance in progress under maintenance.
func componentSpans(tracked []Tracked, now time.Time) map[string][]stateSpan {
	out := map[string][]stateSpan{}
	for _, t := range tracked {
		in := t.Incident
		var sp stateSpan
		if in.Kind == MaintenanceKind {
			if in.ScheduledStart == nil || in.ScheduledStart.IsZero() {
				continue
			}
			sp = stateSpan{from: in.ScheduledStart.Time, to: now, state: UnderMaintenance}
			if in.ScheduledEnd != nil && !in.ScheduledEnd.IsZero() {
				sp.to = in.ScheduledEnd.Time
			}
			if in.ResolvedAt != nil && !in.ResolvedAt.IsZero() && in.ResolvedAt.Before(sp.to) {
				sp.to = in.ResolvedAt.Time
			}
		} else {
			sp = stateSpan{from: in.OpenedAt.Time, to: now, state: severityStatus(in.Severity)}
			if in.ResolvedAt != nil && !in.ResolvedAt.IsZero() {
				sp.to = in.ResolvedAt.Time
			}
		}
		if !sp.to.After(sp.from) {
			continue
		}
		for _, id := range in.Components {
			out[id] = append(out[id], sp)
		}
	}
	return out
}

// StateSpan is a component set to a state from its hosts (auto = true):
// a zero To is still so.
type StateSpan struct {
	From, To time.Time
	State    string
}

// Uptime works out each public component's last rules.Days days (UTC) up
// to now: seconds in each state, where the worst state of any incident
// naming it counts at each moment, and no data where the hub was not
// running.
func Uptime(site Site, tracked []Tracked, running []Span, now time.Time, rules UptimeRules) UptimeJSON {
	return UptimeWithAuto(site, tracked, nil, running, now, rules)
}

// UptimeWithAuto is Uptime where the components in auto take their state
// from their hosts (the spans given) at the moments no incident names them.
func UptimeWithAuto(site Site, tracked []Tracked, auto map[string][]StateSpan, running []Span, now time.Time, rules UptimeRules) UptimeJSON {
	if rules.Days <= 0 {
		rules.Days = 90
	}
	now = now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := today.AddDate(0, 0, -(rules.Days - 1))
	spans := componentSpans(tracked, now)
	out := UptimeJSON{Components: []ComponentUptimeJSON{}}
	month := now.Format("2006-01")
	for _, c := range site.Components {
		cu := ComponentUptimeJSON{ID: c.ID, Name: c.Name, Month: UptimeMonth{Month: month}}
		autoSpans, isAuto := auto[c.ID]
		cu.Auto = isAuto
		var fromHosts []stateSpan
		for _, a := range autoSpans {
			sp := stateSpan{from: a.From, to: a.To, state: a.State}
			if sp.to.IsZero() {
				sp.to = now
			}
			fromHosts = append(fromHosts, sp)
		}
		var total, monthTotal UptimeDay
		for d := first; !d.After(today); d = d.AddDate(0, 0, 1) {
			end := d.Add(24 * time.Hour)
			if end.After(now) {
				end = now
			}
			day := measureDay(d, end, spans[c.ID], fromHosts, running)
			day.Uptime = rules.percent(day)
			cu.Days = append(cu.Days, day)
			total = total.add(day)
			if d.Format("2006-01") == month {
				monthTotal = monthTotal.add(day)
			}
		}
		cu.Uptime90d = rules.percent(total)
		cu.Month.Uptime = rules.percent(monthTotal)
		out.Components = append(out.Components, cu)
	}
	return out
}

func (d UptimeDay) add(o UptimeDay) UptimeDay {
	d.MajorS += o.MajorS
	d.PartialS += o.PartialS
	d.DegradedS += o.DegradedS
	d.MaintenanceS += o.MaintenanceS
	d.NoDataS += o.NoDataS
	d.observed += o.observed
	for i := range d.down {
		d.down[i] += o.down[i]
	}
	return d
}

// percent is a day's (or a sum's) uptime under the rules; nil without
// any observed time to count.
func (r UptimeRules) percent(d UptimeDay) *float64 {
	base := d.observed.Seconds()
	if !r.CountMaintenance {
		base -= d.down[3].Seconds()
	}
	if base <= 0 {
		return nil
	}
	down := d.down[0].Seconds() + r.PartialWeight*d.down[1].Seconds() + r.DegradedWeight*d.down[2].Seconds()
	v := math.Round(100000*(1-down/base)) / 1000
	return &v
}

// measureDay splits [from, to) into the component's states, inside the
// running spans; the rest is no data.
func measureDay(from, to time.Time, states, fromHosts []stateSpan, running []Span) UptimeDay {
	day := UptimeDay{Date: from.Format("2006-01-02")}
	if !to.After(from) {
		return day
	}
	cuts := dayCuts(from, to, states, fromHosts, running)
	var noData time.Duration
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		span := b.Sub(a)
		if !inAny(a, running) {
			noData += span
			continue
		}
		day.observed += span
		switch worstAt(a, states, fromHosts) {
		case MajorOutage:
			day.down[0] += span
		case PartialOutage:
			day.down[1] += span
		case DegradedPerformance:
			day.down[2] += span
		case UnderMaintenance:
			day.down[3] += span
		}
	}
	secs := func(d time.Duration) int64 { return int64(d.Round(time.Second) / time.Second) }
	day.MajorS, day.PartialS, day.DegradedS, day.MaintenanceS, day.NoDataS = secs(day.down[0]), secs(day.down[1]), secs(day.down[2]), secs(day.down[3]), secs(noData)
	return day
}

// dayCuts are from, to and every boundary of a span between them, sorted
// and each once: between two cuts nothing changes.
func dayCuts(from, to time.Time, states, fromHosts []stateSpan, running []Span) []time.Time {
	cuts := []time.Time{from, to}
	add := func(t time.Time) {
		if t.After(from) && t.Before(to) {
			cuts = append(cuts, t)
		}
	}
	for _, s := range append(slices.Clip(states), fromHosts...) {
		add(s.from)
		add(s.to)
	}
	for _, r := range running {
		add(r.From)
		add(r.To)
	}
	slices.SortFunc(cuts, func(a, b time.Time) int { return a.Compare(b) })
	return slices.Compact(cuts)
}

// worstAt is the component's worst state at t: from the incidents naming
// it, else from its hosts.
func worstAt(t time.Time, states, fromHosts []stateSpan) string {
	worst, named := Operational, false
	for _, s := range states {
		if !t.Before(s.from) && t.Before(s.to) {
			named = true
			if componentRank[s.state] > componentRank[worst] {
				worst = s.state
			}
		}
	}
	if named {
		return worst
	}
	for _, s := range fromHosts {
		if !t.Before(s.from) && t.Before(s.to) && componentRank[s.state] > componentRank[worst] {
			worst = s.state
		}
	}
	return worst
}

func inAny(t time.Time, spans []Span) bool {
	for _, s := range spans {
		if !t.Before(s.From) && t.Before(s.To) {
			return true
		}
	}
	return false
}

// Bars is the page's view of uptime.
func (u UptimeJSON) Bars() []ComponentUptime {
	var out []ComponentUptime
	for _, c := range u.Components {
		cu := ComponentUptime{ID: c.ID, Name: c.Name, Percent: c.Uptime90d, Auto: c.Auto}
		for _, d := range c.Days {
			worst := Operational
			switch {
			case d.Uptime == nil:
				worst = "no_data"
			case d.MajorS > 0:
				worst = MajorOutage
			case d.PartialS > 0:
				worst = PartialOutage
			case d.DegradedS > 0:
				worst = DegradedPerformance
			case d.MaintenanceS > 0:
				worst = UnderMaintenance
			}
			cu.Days = append(cu.Days, DayUptime{Date: d.Date, Percent: d.Uptime, Worst: worst})
		}
		out = append(out, cu)
	}
	return out
}
