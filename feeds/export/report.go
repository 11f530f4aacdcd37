package export

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// communication steps: what customers and the team are told.
var communication = map[string]bool{
	"status-page": true, "email-customers": true, "social": true, "updates": true,
	"answer-messages": true, "resolved-notice": true, "postmortem": true,
	"announce-week": true, "announce-day": true, "channels": true, "start-notice": true,
	"complete-notice": true, "follow-up": true, "legal-notice": true,
}

// firstCustomerComm are the steps that count as first telling customers.
var firstCustomerComm = []string{"status-page", "email-customers", "social", "updates", "announce-week", "start-notice"}

// Step is a checklist step as it ended, with its journal history.
type Step struct {
	ID            string         `json:"id"`
	Title         string         `json:"title"`
	Communication bool           `json:"communication"`
	Due           *time.Time     `json:"due,omitempty"`
	Every         string         `json:"every,omitempty"`
	AfterResolved bool           `json:"after_resolved,omitempty"`
	Done          []Done         `json:"done"`
	Late          *time.Duration `json:"late_ns,omitempty"`
	LateText      string         `json:"late,omitempty"`
	NeverDone     bool           `json:"never_done"`
	NotYetDue     bool           `json:"not_yet_due,omitempty"`
	// DeclaredAhead is set for a step whose deadline had passed when the
	// incident was declared ("declared 2 days ahead"): never late.
	DeclaredAhead string `json:"declared_ahead,omitempty"`
}

// Done is one time a step was ticked.
type Done struct {
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
}

// Peak is a host's highest load within the incident window.
type Peak struct {
	Host    string    `json:"host"`
	Load1   float64   `json:"load1"`
	CPUs    int       `json:"cpus"`
	At      time.Time `json:"at"`
	Samples []float64 `json:"samples"`
	Spark   string    `json:"sparkline"`
}

// Report is everything the post-mortem draft says.
type Report struct {
	Source        string            `json:"source"`
	Incident      protocol.Incident `json:"incident"`
	WindowFrom    time.Time         `json:"window_from"`
	WindowTo      time.Time         `json:"window_to"`
	Ongoing       bool              `json:"ongoing"`
	Duration      string            `json:"duration"`
	TimeToAck     string            `json:"time_to_acknowledge,omitempty"`
	TimeToComm    string            `json:"time_to_first_customer_communication,omitempty"`
	TimeToResolve string            `json:"time_to_resolution,omitempty"`
	Steps         []Step            `json:"steps"`
	Timeline      []protocol.Entry  `json:"timeline"`
	// LateArrivals are the timeline's entries journaled after one that
	// happened later (a note made offline, sent on reconnecting): the
	// timeline is in time order, and these are marked.
	LateArrivals   []LateArrival    `json:"late_arrivals,omitempty"`
	ServiceChanges []protocol.Entry `json:"service_changes"`
	LoadPeaks      []Peak           `json:"load_peaks"`
	Evidence       []Evidence       `json:"evidence"`
	NoLoadHistory  bool             `json:"no_load_history"`
	TornLine       int              `json:"torn_line,omitempty"` // an incomplete last record skipped
	// Customers is who the incident affected and the credits they are
	// due for its month, when the customers file is at hand.
	Customers *CustomersPart `json:"customers,omitempty"`
}

// Build assembles the report of incident id from src.
func Build(src Source, id string) (*Report, error) {
	inc, err := findIncident(src, id)
	if err != nil {
		return nil, err
	}
	r := &Report{Source: src.Origin, Incident: *inc, WindowFrom: inc.OpenedAt.Time, TornLine: src.Torn.TornLine}
	last := lastEntryAt(src.Messages)
	r.window(inc, last)
	// The window the post-mortem looks at: from a little before the
	// incident was declared (what led to it) to its end.
	lead := 30 * time.Minute
	ticks := r.readEntries(src.Messages, id, lead)
	r.LateArrivals = lateArrivals(r.Timeline)
	sort.SliceStable(r.Timeline, func(i, j int) bool { return r.Timeline[i].At.Before(r.Timeline[j].At.Time) })
	for i := range inc.Checklist {
		r.Steps = append(r.Steps, buildStep(inc, &inc.Checklist[i], ticks[inc.Checklist[i].Title], last))
	}
	r.keyTimes(inc)
	r.peaks(src, lead)
	r.evidence(id)
	return r, nil
}

// findIncident is the last state of incident id in src; the error names
// the incidents src holds instead.
func findIncident(src Source, id string) (*protocol.Incident, error) {
	var inc *protocol.Incident
	var ids []string
	seen := map[string]bool{}
	for _, m := range src.Messages {
		im, ok := m.(*protocol.IncidentMsg)
		if !ok {
			continue
		}
		if !seen[im.Incident.ID] {
			seen[im.Incident.ID] = true
			ids = append(ids, im.Incident.ID)
		}
		if im.Incident.ID == id {
			c := im.Incident.Clone()
			inc = &c
		}
	}
	if inc == nil {
		known := "it holds no incidents"
		if len(ids) > 0 {
			known = "it holds " + strings.Join(ids, ", ")
		}
		return nil, fmt.Errorf("%w: %s is not in %s (%s)", ErrUnknownIncident, id, src.Origin, known)
	}
	return inc, nil
}

// lastEntryAt is the time of the newest journal entry.
func lastEntryAt(msgs []protocol.Message) time.Time {
	var last time.Time
	for _, m := range msgs {
		if e, ok := m.(*protocol.Entry); ok && e.At.After(last) {
			last = e.At.Time
		}
	}
	return last
}

// window sets the incident's window and durations: to its resolution, or
// while ongoing to the newest entry.
func (r *Report) window(inc *protocol.Incident, last time.Time) {
	if inc.ResolvedAt != nil {
		r.WindowTo = inc.ResolvedAt.Time
	} else {
		r.Ongoing, r.WindowTo = true, last
	}
	if r.WindowTo.Before(r.WindowFrom) {
		r.WindowTo = r.WindowFrom
	}
	r.Duration = round(r.WindowTo.Sub(r.WindowFrom))
	if r.Ongoing {
		r.Duration += " so far (not resolved)"
	} else {
		r.TimeToResolve = round(r.WindowTo.Sub(r.WindowFrom))
	}
}

// readEntries takes into the timeline the incident's entries and the
// fleet's within the window, starting lead before it; it returns when
// each step was ticked, by title, an untick taking back the last tick.
func (r *Report) readEntries(msgs []protocol.Message, id string, lead time.Duration) map[string][]Done {
	ticks := map[string][]Done{}
	for _, m := range msgs {
		e, ok := m.(*protocol.Entry)
		if !ok {
			continue
		}
		inWindow := !e.At.Before(r.WindowFrom.Add(-lead)) && !e.At.After(r.WindowTo.Add(time.Minute))
		switch {
		case e.Incident == id:
			r.Timeline = append(r.Timeline, *e)
			if e.Kind == protocol.EntryCheck {
				tick(ticks, e)
			}
		case e.Incident == "" && inWindow:
			r.Timeline = append(r.Timeline, *e)
			if strings.Contains(e.Text, " → ") && !strings.HasPrefix(e.Text, "load on ") {
				r.ServiceChanges = append(r.ServiceChanges, *e)
			}
		}
	}
	return ticks
}

// tick records a check entry: "ticked: TITLE" or "ticked: TITLE (#N)" of
// a recurring step, or "unticked: TITLE".
func tick(ticks map[string][]Done, e *protocol.Entry) {
	if title, ok := strings.CutPrefix(e.Text, "ticked: "); ok {
		if i := strings.LastIndex(title, " (#"); i >= 0 {
			title = title[:i]
		}
		ticks[title] = append(ticks[title], Done{At: e.At.Time, Actor: e.Actor})
	}
	if title, ok := strings.CutPrefix(e.Text, "unticked: "); ok {
		if n := len(ticks[title]); n > 0 {
			ticks[title] = ticks[title][:n-1]
		}
	}
}

// buildStep judges a step as of asOf, the newest journal entry: a step
// whose deadline is still ahead then is open, not missed.
func buildStep(inc *protocol.Incident, it *protocol.Item, done []Done, asOf time.Time) Step {
	s := Step{ID: it.ID, Title: it.Title, Communication: IsCommunication(it), Done: stepDone(it, done), AfterResolved: it.After == protocol.AfterResolved}
	if it.Every != nil {
		s.Every = protocol.FormatDuration(it.Every.Std())
	}
	// A step counted from the resolution has no deadline before it.
	waiting := it.After == protocol.AfterResolved && inc.ResolvedAt == nil
	if it.Due != nil || it.Every != nil {
		s.judgeFirst(inc, it, waiting)
	}
	s.NeverDone = len(s.Done) == 0 && !waiting && s.DeclaredAhead == ""
	if s.NeverDone && s.Due != nil && s.Due.After(asOf) {
		s.NeverDone, s.NotYetDue = false, true
	}
	return s
}

// stepDone is when the step was ticked, from the journal, else from the
// checklist itself.
func stepDone(it *protocol.Item, done []Done) []Done {
	if len(done) == 0 && it.Done() {
		by := ""
		if it.DoneBy != nil {
			by = *it.DoneBy
		}
		return []Done{{At: it.DoneAt.Time, Actor: by}}
	}
	if done == nil {
		return []Done{}
	}
	return done
}

// judgeFirst judges the step's first occurrence against its deadline.
func (s *Step) judgeFirst(inc *protocol.Incident, it *protocol.Item, waiting bool) {
	due := firstDue(inc, it)
	passed := it.Due != nil && incident.PassedAtDeclare(inc, it)
	if passed {
		s.DeclaredAhead = incident.DeclaredAhead(inc)
		if s.DeclaredAhead == "" {
			s.DeclaredAhead = "declared after its deadline"
		}
	}
	if waiting {
		return
	}
	s.Due = &due
	if len(s.Done) > 0 && s.Done[0].At.After(due) && !passed {
		late := s.Done[0].At.Sub(due)
		s.Late, s.LateText = &late, round(late)
	}
}

// firstDue is when the step first fell due: counted from the resolution
// for a step after it, from the scheduled start for a maintenance, else
// from the declaration.
func firstDue(inc *protocol.Incident, it *protocol.Item) time.Time {
	base := inc.OpenedAt.Time
	if it.After == protocol.AfterResolved && inc.ResolvedAt != nil {
		base = inc.ResolvedAt.Time
	} else if inc.Kind == "maintenance" && inc.ScheduledStart != nil {
		base = inc.ScheduledStart.Time
	}
	if it.Due != nil {
		return base.Add(it.Due.Std())
	}
	return base.Add(it.Every.Std())
}

func (r *Report) keyTimes(inc *protocol.Incident) {
	first := func(ids ...string) (time.Time, bool) {
		var best time.Time
		for _, s := range r.Steps {
			for _, id := range ids {
				if s.ID == id && len(s.Done) > 0 && (best.IsZero() || s.Done[0].At.Before(best)) {
					best = s.Done[0].At
				}
			}
		}
		return best, !best.IsZero()
	}
	if t, ok := first("ack", "contain"); ok {
		r.TimeToAck = round(t.Sub(inc.OpenedAt.Time))
	}
	if t, ok := first(firstCustomerComm...); ok {
		r.TimeToComm = round(t.Sub(inc.OpenedAt.Time))
	}
}

func (r *Report) peaks(src Source, lead time.Duration) {
	if src.History != nil {
		// The hub's history holds every sample of the window, whatever
		// the load log kept.
		if loads, err := src.History.Loads(context.Background(), r.WindowFrom.Add(-lead), r.WindowTo); err == nil && len(loads) > 0 {
			src.Loads = loads
		}
	}
	if len(src.Loads) == 0 {
		r.NoLoadHistory = true
		return
	}
	by := map[string]*Peak{}
	for _, p := range src.Loads {
		if p.At.Before(r.WindowFrom.Add(-lead)) || p.At.After(r.WindowTo) {
			continue
		}
		pk := by[p.Host]
		if pk == nil {
			pk = &Peak{Host: p.Host}
			by[p.Host] = pk
		}
		pk.Samples = append(pk.Samples, p.Load1)
		if p.Load1 >= pk.Load1 {
			pk.Load1, pk.CPUs, pk.At = p.Load1, p.CPUs, p.At.Time
		}
	}
	for _, pk := range by {
		pk.Spark = spark(pk.Samples, 40, float64(max(pk.CPUs, 1)))
		r.LoadPeaks = append(r.LoadPeaks, *pk)
	}
	sort.Slice(r.LoadPeaks, func(i, j int) bool {
		a, b := r.LoadPeaks[i], r.LoadPeaks[j]
		pa, pb := a.Load1/float64(max(a.CPUs, 1)), b.Load1/float64(max(b.CPUs, 1))
		if pa != pb {
			return pa > pb
		}
		return a.Host < b.Host
	})
}

// spark draws values scaled to the larger of their peak and floor (the
// host's CPU count), so a quiet host looks quiet.
func spark(values []float64, w int, floor float64) string {
	chars := []rune("▁▂▃▄▅▆▇█")
	if len(values) > w { // keep the shape: the max of each bucket
		out := make([]float64, w)
		for i, v := range values {
			b := i * w / len(values)
			out[b] = max(out[b], v)
		}
		values = out
	}
	top := floor
	for _, v := range values {
		top = max(top, v)
	}
	var b strings.Builder
	for _, v := range values {
		idx := 0
		if top > 0 {
			idx = int(v / top * float64(len(chars)-1))
		}
		b.WriteRune(chars[idx])
	}
	return b.String()
}

func round(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	return protocol.FormatDuration(d.Round(time.Minute))
}

// JSON writes the report for tools.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// LateArrival is an entry journaled after one that happened later.
type LateArrival struct {
	Seq uint64 `json:"seq"`
	// After is the time of the latest entry journaled before it.
	After time.Time `json:"journaled_after"`
}

// lateArrivals finds, in journal order, the responders' entries whose
// time lies before that of one journaled ahead of them. Only theirs: a
// command's time is the responder's (PROTOCOL: a command's at sets the
// times it sets), while alerts carry the times of the agents' clocks.
func lateArrivals(entries []protocol.Entry) []LateArrival {
	var bySeq []protocol.Entry
	for _, e := range entries {
		if responderKinds[e.Kind] {
			bySeq = append(bySeq, e)
		}
	}
	sort.SliceStable(bySeq, func(i, j int) bool { return bySeq[i].Seq < bySeq[j].Seq })
	var out []LateArrival
	var latest time.Time
	for _, e := range bySeq {
		if e.At.Before(latest) {
			out = append(out, LateArrival{Seq: e.Seq, After: latest})
		}
		if e.At.After(latest) {
			latest = e.At.Time
		}
	}
	return out
}

var responderKinds = map[string]bool{protocol.EntryNote: true, protocol.EntryStatus: true, protocol.EntryCheck: true,
	protocol.EntryPublish: true, protocol.EntryClaim: true}

// lateAfter is when the entry of seq was journaled after, if it arrived late.
func (r *Report) lateAfter(seq uint64) (time.Time, bool) {
	for _, l := range r.LateArrivals {
		if l.Seq == seq {
			return l.After, true
		}
	}
	return time.Time{}, false
}

// IsCommunication says whether step it tells customers or the team
// something: the steps whose deadlines a review measures.
func IsCommunication(it *protocol.Item) bool { return communication[it.ID] || it.Template != "" }
