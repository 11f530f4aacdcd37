package config

import (
	"net"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// sampleIncidents are what a runbook template is executed against when
// the file is read: an open outage and a resolved, scheduled maintenance,
// so that every field a draft can show is set once. A template that would
// fail when a responder presses p fails here instead.
func sampleIncidents() []protocol.Incident {
	opened := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	start, end, resolved := protocol.At(opened.Add(time.Hour)), protocol.At(opened.Add(3*time.Hour)), protocol.At(opened.Add(4*time.Hour))
	return []protocol.Incident{
		{ID: "INC-1", Title: "Mail delayed", Severity: "SEV2", Kind: "outage", Status: protocol.StatusInvestigating,
			Commander: "alice", OpenedAt: protocol.At(opened), Components: []string{"mail"}},
		{ID: "INC-2", Title: "Mail upgrade", Severity: "SEV3", Kind: "maintenance", Status: protocol.StatusResolved,
			Commander: "bob", OpenedAt: protocol.At(opened), ScheduledStart: &start, ScheduledEnd: &end, ResolvedAt: &resolved,
			Components: []string{"mail"}},
	}
}

// checkTemplate parses and executes step's template against the sample
// incidents; it returns the first error.
func checkTemplate(s Step, components []protocol.Component) error {
	if s.Template == "" {
		return nil
	}
	item := protocol.Item{ID: s.ID, Title: s.Title, Template: s.Template}
	env := incident.DraftEnv{Components: components, Zone: time.UTC, Now: time.Date(2026, 1, 2, 3, 30, 0, 0, time.UTC),
		Affected: []incident.Affected{{Host: "web-1", Service: "mysql", Since: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)}}}
	for _, inc := range sampleIncidents() {
		if _, _, err := incident.Draft(&inc, &item, env); err != nil {
			return err
		}
	}
	return nil
}

// checkPort reports whether addr (host:port) has a port a listener or a
// dial can use: a number from 0 to 65535 or a service name.
func checkPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	_, err = net.LookupPort("tcp", port)
	return err
}
