package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

var severities = []string{"SEV1", "SEV2", "SEV3", "SEV4"}

// maintenanceKind is the runbook whose checklist counts from the start of
// a scheduled window (feeds/incident measures its dues from it).
const maintenanceKind = "maintenance"

// The declare form's fields, in order.
const (
	declareTitle = iota
	declareSeverity
	declareRunbook
	declareStarts
	declareEnds
	declareComponents
)

// newDeclareDialog asks for what a declare command needs: for a
// maintenance the window (start and end) too, and for any kind the public
// components it affects, from those the feed's hub offers.
func newDeclareDialog(kinds []string, feed string, components []protocol.Component, now func() time.Time) (*formDialog, tea.Cmd) {
	names, ids := componentOptions(components)
	example := exampleStart(now())
	fields := []formField{
		textField("title", "what is wrong, in a few words", ""),
		{label: "severity", options: severities, choice: 1},
		{label: "runbook", options: kinds},
		textField("starts", "+168h from now, or "+example.Format(formTime)+" (UTC)", ""),
		textField("ends", "+2h after the start, or "+example.Add(2*time.Hour).Format(formTime)+" (UTC)", ""),
		setField("affects", names, ids, func(string) bool { return false }),
	}
	var d *formDialog
	maintenance := func() bool { return d.value(declareRunbook) == maintenanceKind }
	fields[declareStarts].shown = maintenance
	fields[declareEnds].shown = maintenance
	fields[declareComponents].shown = func() bool { return len(ids) > 0 }
	d, cmd := newForm("Declare an incident", fields, func(d *formDialog) (action, error) {
		title := d.value(declareTitle)
		if title == "" {
			return nil, fmt.Errorf("title: a few words saying what is wrong")
		}
		if err := protocol.CheckText("title", title, protocol.MaxTitleBytes); err != nil {
			return nil, err
		}
		c := protocol.Command{Op: protocol.OpDeclare, Title: title, Severity: d.value(declareSeverity), Kind: d.value(declareRunbook),
			Components: d.fields[declareComponents].tickedIDs()}
		notice := fmt.Sprintf("declaring %s %s: %s", c.Severity, c.Kind, c.Title)
		if c.Kind == maintenanceKind {
			start, end, err := parseWindow(d.value(declareStarts), d.value(declareEnds), now())
			if err != nil {
				return nil, err
			}
			if len(ids) > 0 && len(c.Components) == 0 {
				return nil, fmt.Errorf("affects: tick the components the maintenance disrupts (←/→, space): the status page shows them to customers")
			}
			c.ScheduledStart, c.ScheduledEnd = protocol.TimePtr(start), protocol.TimePtr(end)
			notice += ", " + windowText(start, end)
		}
		return sendAct{feed: feed, cmd: c, notice: notice}, nil
	})
	d.preview = func(d *formDialog) string {
		if !maintenance() {
			return ""
		}
		if d.value(declareStarts) == "" && d.value(declareEnds) == "" {
			return ""
		}
		at := now()
		start, end, err := parseWindow(d.value(declareStarts), d.value(declareEnds), at)
		if err != nil {
			return err.Error()
		}
		return "window: " + windowText(start, end) + ", starts in " + age(start.Sub(at).Round(time.Minute))
	}
	d.hint = d.preview(d)
	return d, cmd
}

// componentOptions are a hub's components as a set field's names and ids.
func componentOptions(cs []protocol.Component) (names, ids []string) {
	for _, c := range cs {
		name := c.Name
		if strings.TrimSpace(name) == "" {
			name = c.ID
		}
		names, ids = append(names, name), append(ids, c.ID)
	}
	return names, ids
}

// The edit form's fields, in order.
const (
	editTitle = iota
	editSeverity
	editCommander
	editComponents
	editEnds
)

// newEditDialog edits an incident's title and severity, its components
// and a maintenance's end, and hands it off (a new commander): the
// protocol's update op, with only what changed.
func newEditDialog(in *state.Incident, components []protocol.Component) (*formDialog, tea.Cmd) {
	sev := 1
	for i, s := range severities {
		if s == in.Severity {
			sev = i
		}
	}
	names, ids := componentOptions(components)
	var start time.Time
	endValue := ""
	if in.ScheduledStart != nil && !in.ScheduledStart.IsZero() {
		start = in.ScheduledStart.Time
	}
	if in.ScheduledEnd != nil && !in.ScheduledEnd.IsZero() {
		endValue = formValue(in.ScheduledEnd.Time)
	}
	example := start.Add(2 * time.Hour).UTC().Truncate(time.Minute)
	fields := []formField{
		textField("title", "what is wrong, in a few words", in.Title),
		{label: "severity", options: severities, choice: sev},
		textField("commander", "who leads the response now", in.Commander),
		setField("affects", names, ids, func(id string) bool { return slices.Contains(in.Components, id) }),
		textField("ends", "+2h after the start, or "+example.Format(formTime)+" (UTC)", endValue),
	}
	fields[editComponents].shown = func() bool { return len(ids) > 0 }
	fields[editEnds].shown = func() bool { return !start.IsZero() }
	before := editBefore{id: in.ID, feed: in.Feed, title: in.Title, severity: in.Severity, commander: in.Commander,
		components: slices.Clone(in.Components), offered: components, ids: ids, start: start, endValue: endValue}
	d, cmd := newForm("Edit "+in.ID+" / hand off", fields, before.submit)
	d.preview = func(d *formDialog) string {
		if start.IsZero() {
			return ""
		}
		end, err := parseEnd(d.value(editEnds), start)
		if err != nil {
			return err.Error()
		}
		return "window: " + windowText(start, end)
	}
	d.hint = d.preview(d)
	return d, cmd
}

// editBefore is an incident as the edit form opened on it: a submit
// sends only what differs from it.
type editBefore struct {
	id, feed                   string
	title, severity, commander string
	endValue                   string
	components                 []string
	offered                    []protocol.Component
	ids                        []string // the components offered, by id
	start                      time.Time
}

func (b editBefore) submit(d *formDialog) (action, error) {
	c := protocol.Command{Op: protocol.OpUpdate, Incident: b.id}
	what, err := b.whoAndWhat(d, &c)
	if err != nil {
		return nil, err
	}
	scope, err := b.scope(d, &c)
	if err != nil {
		return nil, err
	}
	what = append(what, scope...)
	if len(what) == 0 {
		return closeAct{}, nil
	}
	return sendAct{feed: b.feed, cmd: c, notice: b.id + ": " + strings.Join(what, ", ")}, nil
}

// whoAndWhat sets the title, severity and commander that changed.
func (b editBefore) whoAndWhat(d *formDialog, c *protocol.Command) ([]string, error) {
	var what []string
	if t := d.value(editTitle); t != b.title {
		if t == "" {
			return nil, fmt.Errorf("title: a few words saying what is wrong")
		}
		c.Title = t
		what = append(what, "title")
	}
	if s := d.value(editSeverity); s != b.severity {
		c.Severity = s
		what = append(what, "severity "+s)
	}
	if who := d.value(editCommander); who != b.commander {
		if who == "" || strings.ContainsAny(who, " \t") {
			return nil, fmt.Errorf("commander: a name without spaces")
		}
		c.Commander = who
		what = append(what, "handed off to "+who)
	}
	return what, nil
}

// scope sets the components and the maintenance's end that changed.
func (b editBefore) scope(d *formDialog, c *protocol.Command) ([]string, error) {
	var what []string
	if comps := d.fields[editComponents].tickedIDs(); len(b.ids) > 0 && !sameSet(comps, b.components) {
		if len(comps) == 0 {
			// An empty list is omitted on the wire: the hub would read "unchanged".
			return nil, fmt.Errorf("affects: keep at least one component ticked; an update cannot clear them all")
		}
		c.Components = comps
		what = append(what, "components "+strings.Join(namesOf(comps, b.offered), ", "))
	}
	if !b.start.IsZero() {
		if v := d.value(editEnds); v != b.endValue {
			end, err := parseEnd(v, b.start)
			if err != nil {
				return nil, err
			}
			c.ScheduledEnd = protocol.TimePtr(end)
			what = append(what, "ends "+end.UTC().Format(formTime)+" UTC")
		}
	}
	return what, nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func namesOf(ids []string, cs []protocol.Component) []string {
	names, all := componentOptions(cs)
	var out []string
	for _, id := range ids {
		if i := slices.Index(all, id); i >= 0 {
			out = append(out, names[i])
		}
	}
	return out
}

// formTime is how the forms write a time, always in UTC.
const formTime = "2006-01-02 15:04"

// formValue writes t for a form to read back exactly: to the minute
// where it has no seconds, else with them (and their fraction), so that
// an edit leaves a window declared as "+48h" to "+1h" one hour long.
func formValue(t time.Time) string {
	t = t.UTC()
	switch {
	case t.Equal(t.Truncate(time.Minute)):
		return t.Format(formTime)
	case t.Equal(t.Truncate(time.Second)):
		return t.Format(formTime + ":05")
	}
	return t.Format(formTime + ":05.999999999")
}

// exampleStart is the date the declare form offers as an example: a week
// from now at 02:00 UTC, always ahead of now.
func exampleStart(now time.Time) time.Time {
	y, m, d := now.UTC().AddDate(0, 0, 7).Date()
	return time.Date(y, m, d, 2, 0, 0, 0, time.UTC)
}

// minWindow is the shortest maintenance window: shorter is a typo (and
// below a millisecond the protocol's times could not tell end from start).
const minWindow = time.Minute

// startSlack is how far in the past a start may lie: the seconds between
// typing "+0m" and pressing enter.
const startSlack = time.Minute

// parseWindow reads a maintenance window from the declare form: the start
// ("+168h" from now, or a date and time in UTC) and the end ("+2h" after
// the start, or a date and time in UTC). The end must come after the
// start, and the start must not have passed.
func parseWindow(startS, endS string, now time.Time) (start, end time.Time, err error) {
	start, err = parseStart(startS, now)
	if err != nil {
		return start, end, err
	}
	if start.Before(now.Add(-startSlack)) {
		return start, end, fmt.Errorf("starts: %s is in the past; declare a maintenance ahead of it (+0m for one starting now)", start.UTC().Format(formTime+" UTC"))
	}
	end, err = parseEnd(endS, start)
	return start, end, err
}

// parseStart reads "+168h" (from now) or "2006-01-02 15:04" (UTC).
func parseStart(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("starts: when? +168h (a week from now) or YYYY-MM-DD HH:MM (UTC)")
	}
	t, err := parseWhen(s, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("starts: %q is neither +DURATION (from now, like +168h) nor YYYY-MM-DD HH:MM (UTC)", s)
	}
	return t, checkFormTime("starts", t)
}

// parseEnd reads "+2h" (after start) or "2006-01-02 15:04" (UTC), and
// wants it after start.
func parseEnd(s string, start time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("ends: when? +2h (after the start) or YYYY-MM-DD HH:MM (UTC)")
	}
	end, err := parseWhen(s, start)
	if err != nil {
		return time.Time{}, fmt.Errorf("ends: %q is neither +DURATION (after the start, like +2h) nor YYYY-MM-DD HH:MM (UTC)", s)
	}
	if err := checkFormTime("ends", end); err != nil {
		return time.Time{}, err
	}
	if !end.After(start) {
		return time.Time{}, fmt.Errorf("ends: %s UTC is not after the start, %s UTC", end.UTC().Format(formTime), start.UTC().Format(formTime))
	}
	if end.Sub(start) < minWindow {
		return time.Time{}, fmt.Errorf("ends: %s after the start; a window is at least a minute", end.Sub(start))
	}
	return end, nil
}

// parseWhen reads a duration after base ("+2h", "2h") or a time in UTC.
func parseWhen(s string, base time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "+")); err == nil {
		return base.Add(d), nil
	}
	for _, layout := range []string{formTime, "2006-01-02T15:04", "2006-01-02 15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a time")
}

func checkFormTime(what string, t time.Time) error {
	if !protocol.InRange(t) {
		return fmt.Errorf("%s: %s is outside the years %04d-%04d", what, t.UTC().Format(formTime), protocol.MinYear, protocol.MaxYear)
	}
	return nil
}

// windowText is a window in words, in UTC and, where the reader's zone
// differs, in theirs too: "Sun 29 Nov 02:00 – 04:00 UTC (2h00m)".
func windowText(start, end time.Time) string {
	text := span(start.UTC(), end.UTC()) + " (" + age(end.Sub(start)) + ")"
	if _, off := start.In(time.Local).Zone(); off != 0 {
		text += ", " + span(start.In(time.Local), end.In(time.Local))
	}
	return text
}

func span(start, end time.Time) string {
	const day, clock = "Mon 2 Jan 15:04", "15:04"
	zone := start.Format(" MST")
	y1, m1, d1 := start.Date()
	if y2, m2, d2 := end.Date(); y1 == y2 && m1 == m2 && d1 == d2 {
		return start.Format(day) + " – " + end.Format(clock) + zone
	}
	return start.Format(day) + " – " + end.Format(day) + zone
}

// windowLabel is an incident's maintenance window in zone, "Sun 29 Nov
// 02:00 – 04:00 UTC", or "" where it has none.
func windowLabel(in *protocol.Incident, zone *time.Location) string {
	if in.ScheduledStart == nil || in.ScheduledStart.IsZero() {
		return ""
	}
	start := in.ScheduledStart.In(zone)
	if in.ScheduledEnd == nil || !in.ScheduledEnd.After(start) {
		return "from " + start.Format("Mon 2 Jan 15:04 MST")
	}
	return span(start, in.ScheduledEnd.In(zone))
}

// outageFirst orders runbook kinds for the declare form: an unscheduled
// outage is what someone declares at 2am, so it is the default.
func outageFirst(kinds []string) []string {
	if len(kinds) == 0 {
		return []string{"outage", "maintenance", "security"}
	}
	out := []string{}
	for _, k := range kinds {
		if k == "outage" {
			out = append(out, k)
		}
	}
	for _, k := range kinds {
		if k != "outage" {
			out = append(out, k)
		}
	}
	return out
}

func (m Model) declare() (Model, tea.Cmd) {
	d, cmd := newDeclareDialog(m.opts.Kinds, m.opts.DeclareFeed, m.components(m.opts.DeclareFeed), m.opts.Now)
	return m.push(d), cmd
}

func (m Model) edit() (Model, tea.Cmd) {
	in := m.current()
	if in == nil {
		return m.notice("no incident: "+m.keyName(m.keys.Declare)+" declares one", true), nil
	}
	d, cmd := newEditDialog(in, m.components(in.Feed))
	return m.push(d), cmd
}
