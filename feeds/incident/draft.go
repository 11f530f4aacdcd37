package incident

import (
	"fmt"
	"sort"
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
	Affected []Affected
	Support  string         // how to reach support, from configuration
	Zone     *time.Location // the reader's zone
	Now      time.Time
}

type draftData struct {
	Title, Severity, Status, Commander   string
	StartedLocal, StartedUTC             string
	ScheduledLocal, ScheduledUTC, Window string
	ResolvedUTC, Duration, NextUpdate    string
	Affected, AffectedList, Support      string
}

const draftTime = "Mon 2 Jan 15:04 MST"

// Draft renders the message template of step it for inc. A step without a
// template yields ok=false.
func Draft(inc *protocol.Incident, it *protocol.Item, env DraftEnv) (text string, ok bool, err error) {
	if strings.TrimSpace(it.Template) == "" {
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
	data := draftData{
		Title: inc.Title, Severity: inc.Severity, Status: inc.Status, Commander: inc.Commander,
		StartedLocal: inc.OpenedAt.In(zone).Format(draftTime),
		StartedUTC:   inc.OpenedAt.UTC().Format(draftTime),
		Support:      env.Support,
	}
	if data.Support == "" {
		data.Support = "Reach our support team through the usual channels."
	}
	if inc.ScheduledStart != nil {
		data.ScheduledLocal = inc.ScheduledStart.In(zone).Format(draftTime)
		data.ScheduledUTC = inc.ScheduledStart.UTC().Format(draftTime)
	}
	if inc.ResolvedAt != nil {
		data.ResolvedUTC = inc.ResolvedAt.UTC().Format(draftTime)
		data.Duration = protocol.FormatDuration(inc.ResolvedAt.Sub(inc.OpenedAt.Time).Round(time.Minute))
	}
	data.NextUpdate = nextUpdate(inc, env.Now, zone)
	affected := append([]Affected(nil), env.Affected...)
	sort.Slice(affected, func(i, j int) bool { return affected[i].Since.Before(affected[j].Since) })
	var short, list []string
	for _, a := range affected {
		short = append(short, a.Service+" on "+a.Host)
		list = append(list, fmt.Sprintf("  - %s on %s, down since %s", a.Service, a.Host, a.Since.In(zone).Format("15:04 MST")))
	}
	data.Affected = strings.Join(short, ", ")
	data.AffectedList = strings.Join(list, "\n")
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		return "", true, fmt.Errorf("template of step %q: %w", it.ID, err)
	}
	return b.String(), true, nil
}

// nextUpdate is when the recurring update step is next due, or a default
// of 30 minutes from now.
func nextUpdate(inc *protocol.Incident, now time.Time, zone *time.Location) string {
	for i := range inc.Checklist {
		it := &inc.Checklist[i]
		if it.ID == "updates" {
			if st := StepStatus(inc, it, now); !st.DueAt.IsZero() && st.DueAt.After(now) {
				return st.DueAt.In(zone).Format("15:04 MST")
			}
		}
	}
	return now.Add(30 * time.Minute).In(zone).Format("15:04 MST")
}
