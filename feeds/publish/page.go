package publish

import (
	"sort"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Component statuses, with Atlassian Statuspage's names.
const (
	Operational         = "operational"
	UnderMaintenance    = "under_maintenance"
	DegradedPerformance = "degraded_performance"
	PartialOutage       = "partial_outage"
	MajorOutage         = "major_outage"
)

// componentRank orders component statuses: the worst one wins.
var componentRank = map[string]int{Operational: 0, UnderMaintenance: 1, DegradedPerformance: 2, PartialOutage: 3, MajorOutage: 4}

// Impacts and page indicators, with Statuspage's names.
const (
	ImpactNone     = "none"
	ImpactMinor    = "minor"
	ImpactMajor    = "major"
	ImpactCritical = "critical"
)

var impactRank = map[string]int{ImpactNone: 0, ImpactMinor: 1, ImpactMajor: 2, ImpactCritical: 3}

// Maintenance statuses, with Statuspage's names.
const (
	MaintenanceScheduled  = "scheduled"
	MaintenanceInProgress = "in_progress"
	MaintenanceCompleted  = "completed"
)

// MaintenanceKind is the runbook kind whose incidents are maintenance
// windows rather than incidents.
const MaintenanceKind = "maintenance"

// ComponentState is one public component as the page shows it.
type ComponentState struct {
	ID, Name, Status string
	Updated          time.Time // zero: nothing ever touched it
	// Auto: the status was set from the component's hosts, no responder
	// having posted about it.
	Auto bool
}

// Label is the status in words, so state never depends on colour.
func (c ComponentState) Label() string { return statusLabel[c.Status] }

var statusLabel = map[string]string{
	Operational: "Operational", UnderMaintenance: "Under maintenance", DegradedPerformance: "Degraded performance",
	PartialOutage: "Partial outage", MajorOutage: "Major outage",
	protocol.StatusInvestigating: "Investigating", protocol.StatusIdentified: "Identified",
	protocol.StatusMonitoring: "Monitoring", protocol.StatusResolved: "Resolved",
	MaintenanceScheduled: "Scheduled", MaintenanceInProgress: "In progress", MaintenanceCompleted: "Completed",
}

// Label returns a status word for a component, incident or maintenance
// status.
func Label(status string) string {
	if l, ok := statusLabel[status]; ok {
		return l
	}
	return status
}

// Notice is an incident or a maintenance window as the page shows it: only
// its public name, status, components and published updates.
type Notice struct {
	ID, Name, Status string
	Maintenance      bool
	Impact           string // incidents only
	Created, Updated time.Time
	Resolved         *time.Time
	ScheduledFor     *time.Time // maintenance only
	ScheduledUntil   *time.Time
	Components       []string // public component ids
	ComponentNames   []string
	Updates          []PageUpdate // newest first
}

// PageUpdate is one published update with its status at the time.
type PageUpdate struct {
	Ref, Status, Body string
	At                time.Time
}

// Page is the whole status page, built by BuildPage.
type Page struct {
	Name, URL              string
	Updated                time.Time
	Indicator, Description string
	Components             []ComponentState
	Active                 []Notice // unresolved incidents, newest first
	Maintenance            []Notice // scheduled and in progress, soonest first
	Past                   []Notice // resolved incidents and completed maintenance within the history, newest first

	// Subscribe offers the email sign-up form; Uptime the 90-day bars.
	Subscribe bool
	Uptime    []ComponentUptime
}

// BuildPage builds the page at now from the board's incidents: the
// components' states from every open incident and maintenance in progress
// that names them; the lists from incidents something was published to
// the page about. Nothing else of an incident (hosts, checks, notes)
// reaches the page.
func BuildPage(site Site, tracked []Tracked, now time.Time) Page {
	b := newPageBuilder(site, now)
	for _, t := range tracked {
		b.add(t)
	}
	return b.page()
}

// pageBuilder is a page being built, one tracked incident at a time.
type pageBuilder struct {
	p              Page
	site           Site
	now, cut       time.Time // cut: the oldest resolution still listed
	names          map[string]string
	states         map[string]*ComponentState
	maintenanceNow bool
}

func newPageBuilder(site Site, now time.Time) *pageBuilder {
	b := &pageBuilder{p: Page{Name: site.Name, URL: site.URL, Indicator: ImpactNone}, site: site, now: now, cut: now.Add(-site.history()),
		names: map[string]string{}, states: map[string]*ComponentState{}}
	for _, c := range site.Components {
		b.names[c.ID] = c.Name
		b.states[c.ID] = &ComponentState{ID: c.ID, Name: c.Name, Status: Operational}
		b.p.Components = append(b.p.Components, ComponentState{})
	}
	return b
}

func (b *pageBuilder) add(t Tracked) {
	in := t.Incident
	if t.Updated.After(b.p.Updated) {
		b.p.Updated = t.Updated
	}
	maint := in.Kind == MaintenanceKind
	status := in.Status
	if maint {
		status = maintenanceStatus(in, b.now)
	}
	published := len(t.Updates) > 0
	b.touchComponents(t, maint, status)
	if !maint && !in.Resolved() && (published || len(in.Components) > 0) {
		if imp := impact(in.Severity); impactRank[imp] > impactRank[b.p.Indicator] {
			b.p.Indicator = imp
		}
	}
	if published {
		b.list(b.notice(t, maint, status), !in.Resolved())
	}
}

// touchComponents applies the incident to the components it names: the
// truth of every incident naming them.
func (b *pageBuilder) touchComponents(t Tracked, maint bool, status string) {
	in := t.Incident
	inProgress := maint && status == MaintenanceInProgress
	compStatus := ""
	switch {
	case inProgress:
		compStatus = UnderMaintenance
		b.maintenanceNow = true
	case !maint && !in.Resolved():
		compStatus = severityStatus(in.Severity)
	}
	touched := t.Updated // when this incident last changed what it does to its components
	if inProgress && in.ScheduledStart != nil && in.ScheduledStart.After(touched) {
		touched = in.ScheduledStart.Time
	}
	for _, id := range in.Components {
		st := b.states[id]
		if st == nil {
			continue // a component no longer configured
		}
		if compStatus != "" && componentRank[compStatus] > componentRank[st.Status] {
			st.Status = compStatus
		}
		if (compStatus != "" || in.Resolved()) && touched.After(st.Updated) {
			st.Updated = touched
		}
	}
}

// notice is the incident as the page lists it.
func (b *pageBuilder) notice(t Tracked, maint bool, status string) Notice {
	in := t.Incident
	n := Notice{ID: in.ID, Status: status, Maintenance: maint,
		Created: in.OpenedAt.Time, Updated: t.Updated,
		Resolved: timeOf(in.ResolvedAt), ScheduledFor: timeOf(in.ScheduledStart), ScheduledUntil: timeOf(in.ScheduledEnd)}
	if !maint {
		n.Impact = impact(in.Severity)
	}
	for _, id := range in.Components {
		if name, ok := b.names[id]; ok {
			n.Components = append(n.Components, id)
			n.ComponentNames = append(n.ComponentNames, name)
		}
	}
	n.Name = publicName(in, t.Updates, n.ComponentNames)
	for i := len(t.Updates) - 1; i >= 0; i-- {
		u := t.Updates[i]
		st := u.Status
		if maint {
			st = maintenanceStatusAt(in, u)
		}
		n.Updates = append(n.Updates, PageUpdate{Ref: u.Ref, Status: st, Body: u.Body, At: u.At})
		if u.At.After(n.Updated) {
			n.Updated = u.At
		}
	}
	return n
}

// timeOf is a copy of t, so a notice never aliases an incident.
func timeOf(t *protocol.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.Time
	return &v
}

// list puts the notice of an open or resolved incident in its list,
// unless it is past the history.
func (b *pageBuilder) list(n Notice, open bool) {
	if n.Updated.After(b.p.Updated) {
		b.p.Updated = n.Updated
	}
	switch {
	case n.Maintenance && n.Status != MaintenanceCompleted:
		b.p.Maintenance = append(b.p.Maintenance, n)
	case !n.Maintenance && open:
		b.p.Active = append(b.p.Active, n)
	case n.Resolved != nil && n.Resolved.Before(b.cut):
		// past the history window
	default:
		b.p.Past = append(b.p.Past, n)
	}
}

// page is the page built: the components in the site's order, each list
// in its own.
func (b *pageBuilder) page() Page {
	p := b.p
	for i, c := range b.site.Components {
		p.Components[i] = *b.states[c.ID]
	}
	sort.SliceStable(p.Active, func(i, j int) bool { return p.Active[i].Created.After(p.Active[j].Created) })
	sort.SliceStable(p.Maintenance, func(i, j int) bool { return soonest(p.Maintenance[i]).Before(soonest(p.Maintenance[j])) })
	sort.SliceStable(p.Past, func(i, j int) bool { return pastAt(p.Past[i]).After(pastAt(p.Past[j])) })
	p.Description = description(p.Indicator, b.maintenanceNow)
	return p
}

// publicName is what the page calls an incident: the newest subject a
// responder published with, else its components. Never the incident's own
// title, which was written for responders ("load 12.9 on 8 CPUs on web-3")
// and was never published.
func publicName(in protocol.Incident, updates []Update, components []string) string {
	for i := len(updates) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(updates[i].Subject); s != "" {
			return s
		}
	}
	if in.Kind == MaintenanceKind {
		if len(components) > 0 {
			return "Scheduled maintenance: " + strings.Join(components, ", ")
		}
		return "Scheduled maintenance"
	}
	if len(components) > 0 {
		return "Disruption to " + strings.Join(components, ", ")
	}
	return "Service disruption"
}

func soonest(n Notice) time.Time {
	if n.ScheduledFor != nil {
		return *n.ScheduledFor
	}
	return n.Created
}

func pastAt(n Notice) time.Time {
	if n.Resolved != nil {
		return *n.Resolved
	}
	return n.Updated
}

// severityStatus is what an open incident of a severity does to the
// components it names.
func severityStatus(sev string) string {
	switch sev {
	case "SEV1":
		return MajorOutage
	case "SEV2":
		return PartialOutage
	default:
		return DegradedPerformance
	}
}

func impact(sev string) string {
	switch sev {
	case "SEV1":
		return ImpactCritical
	case "SEV2":
		return ImpactMajor
	default:
		return ImpactMinor
	}
}

func description(indicator string, maintenance bool) string {
	switch indicator {
	case ImpactCritical:
		return "Major outage"
	case ImpactMajor:
		return "Partial outage"
	case ImpactMinor:
		return "Minor service disruption"
	}
	if maintenance {
		return "Maintenance in progress"
	}
	return "All systems operational"
}

// maintenanceStatus: scheduled before its start, in progress from its
// start until a responder resolves it (an overrun stays in progress: the
// page must not claim it is over), completed once resolved.
func maintenanceStatus(in protocol.Incident, now time.Time) string {
	switch {
	case in.Resolved():
		return MaintenanceCompleted
	case in.ScheduledStart != nil && now.Before(in.ScheduledStart.Time):
		return MaintenanceScheduled
	default:
		return MaintenanceInProgress
	}
}

func maintenanceStatusAt(in protocol.Incident, u Update) string {
	switch {
	case u.Status == protocol.StatusResolved:
		return MaintenanceCompleted
	case in.ScheduledStart != nil && u.At.Before(in.ScheduledStart.Time):
		return MaintenanceScheduled
	default:
		return MaintenanceInProgress
	}
}
