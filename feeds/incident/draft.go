package incident

import (
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Affected is a service that is down, for message drafts.
type Affected struct {
	Host, Service string
	Since         time.Time
}

// DraftEnv is what a draft needs beyond the incident itself.
type DraftEnv struct {
	// Affected are the services the hub reports down: never named to
	// customers, but a draft never claims all is well while one is.
	Affected []Affected
	// Components are the hub's public components (hello's components):
	// what a draft names as affected, from the incident's component ids.
	Components []protocol.Component
	Support    string         // how to reach support, from configuration
	Zone       *time.Location // the reader's zone
	Now        time.Time
	// Timeline is the journal's entries of the incident (and the fleet's
	// around it): the facts the debrief draft is made of.
	Timeline []protocol.Entry
}

// draftData is what a template sees. Times named once: Started and
// Scheduled carry the reader's zone and, where it is not UTC, UTC in
// brackets; NextUpdate and Until carry no zone, the sentence before
// named it.
type draftData struct {
	// Title is the public title (PublicTitle), never the incident's own.
	Title, Severity, Status, Commander   string
	StatusLine                           string // what the status means, in a customer's words
	Started, Scheduled, Until, Resolved  string
	StartedLocal, StartedUTC             string
	ScheduledLocal, ScheduledUTC, Window string
	ResolvedUTC, Duration, NextUpdate    string
	Affected, AffectedList, Support      string
	// StillDown says the hub knows a service is still down: a draft must
	// not claim every service works.
	StillDown bool
}

const (
	draftTime  = "Mon 2 Jan 15:04 MST"
	draftClock = "15:04"
)

var statusLines = map[string]string{
	protocol.StatusInvestigating: "We are investigating the problem.",
	protocol.StatusIdentified:    "We have identified the cause and are working on a fix.",
	protocol.StatusMonitoring:    "A fix is in place and we are watching that it holds.",
	protocol.StatusResolved:      "This is resolved.",
}

// Draft renders the message template of step it for inc. A step without a
// template yields ok=false.
func Draft(inc *protocol.Incident, it *protocol.Item, env DraftEnv) (text string, ok bool, err error) {
	if strings.TrimSpace(it.Template) == "" {
		if it.ID == "debrief" {
			zone := env.Zone
			if zone == nil {
				zone = time.Local
			}
			return debrief(inc, env, zone), true, nil
		}
		return "", false, nil
	}
	tmpl, err := template.New(it.ID).Option("missingkey=error").Parse(it.Template)
	if err != nil {
		return "", true, fmt.Errorf("template of step %q: %w", it.ID, err)
	}
	zone := env.Zone
	if zone == nil {
		zone = time.Local
	}
	names := componentNames(inc, env.Components)
	data := draftData{
		Title: PublicTitle(inc.Kind, names), Severity: inc.Severity, Status: inc.Status, Commander: inc.Commander,
		StatusLine:   statusLines[inc.Status],
		Started:      zoned(inc.OpenedAt.Time, zone),
		StartedLocal: inc.OpenedAt.In(zone).Format(draftTime),
		StartedUTC:   inc.OpenedAt.UTC().Format(draftTime),
		Support:      env.Support,
		StillDown:    len(env.Affected) > 0,
	}
	if data.Support == "" {
		data.Support = "Reach our support team through the usual channels."
	}
	if inc.ScheduledStart != nil {
		data.Scheduled = zoned(inc.ScheduledStart.Time, zone)
		data.ScheduledLocal = inc.ScheduledStart.In(zone).Format(draftTime)
		data.ScheduledUTC = inc.ScheduledStart.UTC().Format(draftTime)
		if inc.ScheduledEnd != nil && inc.ScheduledEnd.After(inc.ScheduledStart.Time) {
			data.Until = inc.ScheduledEnd.In(zone).Format(draftClock)
			if inc.ScheduledEnd.Sub(inc.ScheduledStart.Time) >= 24*time.Hour {
				data.Until = inc.ScheduledEnd.In(zone).Format("Mon 2 Jan 15:04")
			}
			data.Window = humanDuration(inc.ScheduledEnd.Sub(inc.ScheduledStart.Time))
		}
	}
	if inc.ResolvedAt != nil {
		data.Resolved = inc.ResolvedAt.In(zone).Format(draftClock)
		data.ResolvedUTC = inc.ResolvedAt.UTC().Format(draftTime)
		data.Duration = humanDuration(inc.ResolvedAt.Sub(inc.OpenedAt.Time).Round(time.Minute))
	}
	data.NextUpdate = nextUpdate(inc, env.Now, zone)
	data.Affected = strings.Join(names, ", ")
	var list []string
	for _, n := range names {
		list = append(list, "  - "+n)
	}
	data.AffectedList = strings.Join(list, "\n")
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		return "", true, fmt.Errorf("template of step %q: %w", it.ID, err)
	}
	return b.String(), true, nil
}

// zoned writes t in zone, and in UTC too where zone is not UTC: a time
// named once, with its zone once.
func zoned(t time.Time, zone *time.Location) string {
	local := t.In(zone)
	if _, off := local.Zone(); off == 0 {
		return t.UTC().Format(draftTime)
	}
	return local.Format(draftTime) + " (" + t.UTC().Format("15:04 MST") + ")"
}

// humanDuration writes a duration the way a customer reads it: "2 hours",
// "1 hour 30 minutes", "45 minutes".
func humanDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case h > 0 && m > 0:
		return plural(h, "hour") + " " + plural(m, "minute")
	case h > 0:
		return plural(h, "hour")
	default:
		return plural(m, "minute")
	}
}

// componentNames are the public names of the components inc names, in the
// incident's order; ids the hub does not know are left out rather than
// shown raw.
func componentNames(inc *protocol.Incident, comps []protocol.Component) []string {
	var out []string
	for _, id := range inc.Components {
		for _, c := range comps {
			if c.ID == id {
				out = append(out, c.Name)
			}
		}
	}
	return out
}

// PublicTitle is what customers read as an incident's title: named
// after the public components it affects, never from the responders'
// title, which names hosts, checks and guesses ("MySQL down on web-1").
// A title worth more than that is the responder's to write, in the
// subject or the text, where they read it before it goes anywhere.
func PublicTitle(kind string, components []string) string {
	if kind == "maintenance" {
		if len(components) == 0 {
			return "Scheduled maintenance"
		}
		return "Scheduled maintenance of " + joinAnd(components)
	}
	if len(components) == 0 {
		return "Service disruption"
	}
	return "Disruption to " + joinAnd(components)
}

func joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// nextUpdate is when the recurring update step is next due, or a default
// of 30 minutes from now, as a clock time in the reader's zone.
func nextUpdate(inc *protocol.Incident, now time.Time, zone *time.Location) string {
	for i := range inc.Checklist {
		it := &inc.Checklist[i]
		if it.ID == "updates" {
			if st := StepStatus(inc, it, now); !st.DueAt.IsZero() && st.DueAt.After(now) {
				return st.DueAt.In(zone).Format(draftClock)
			}
		}
	}
	return now.Add(30 * time.Minute).In(zone).Format(draftClock)
}
