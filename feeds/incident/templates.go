package incident

// Message drafts for the communication steps, rendered from an incident by
// Draft. They follow what the seeds say customers must be told.
var defaultTemplates = map[string]string{
	"outage/status-page": `[{{.Severity}}] {{.Title}}
Investigating since {{.StartedLocal}} ({{.StartedUTC}}).
{{if .Affected}}Affected: {{.Affected}}.
{{end}}Status: {{.Status}}. Next update by {{.NextUpdate}}.
{{.Support}}`,
	"outage/email-customers": `Subject: [{{.Status}}] {{.Title}}

Hello,

Since {{.StartedLocal}} ({{.StartedUTC}}) some of our services are not working as they should.
{{if .Affected}}
What is affected:
{{.AffectedList}}
{{end}}
What we are doing: our engineers are working on it now (status: {{.Status}}).
When you will hear from us next: by {{.NextUpdate}}, or sooner if it is fixed.

{{.Support}}

We are sorry for the disruption.`,
	"outage/social": `We're aware of a problem: {{.Title}}. Since {{.StartedUTC}}. We're on it and will update by {{.NextUpdate}}.`,
	"outage/updates": `Update on {{.Title}} ({{.Status}}):
{{if .Affected}}Still affected: {{.Affected}}.
{{else}}No service is currently reported down.
{{end}}Next update by {{.NextUpdate}}.
{{.Support}}`,
	"outage/resolved-notice": `Resolved: {{.Title}}
Started {{.StartedUTC}}, resolved {{.ResolvedUTC}} ({{.Duration}}).
All services are confirmed working. A post-mortem will follow.
{{.Support}}`,
	"maintenance/announce-week": `Subject: Scheduled maintenance on {{.ScheduledLocal}}

Hello,

When: {{.ScheduledLocal}} ({{.ScheduledUTC}}).
How long: {{if .Window}}{{.Window}}{{else}}(fill in: down to the minute){{end}}.
What will be disrupted: {{if .Affected}}{{.Affected}}{{else}}(fill in: web, mail, ...){{end}}.
Why: {{.Title}}.
The benefit to you: (fill in).
How to reach support during the maintenance: {{.Support}}
Alternatives while it lasts: (fill in, if any).

We will remind you 24 hours before.`,
	"maintenance/announce-day": `Reminder: scheduled maintenance tomorrow, {{.ScheduledLocal}} ({{.ScheduledUTC}}).
Reason: {{.Title}}. {{.Support}}`,
	"maintenance/start-notice":    `Maintenance has started: {{.Title}} ({{.ScheduledUTC}}). {{.Support}}`,
	"maintenance/complete-notice": `Maintenance complete: {{.Title}}. All services are confirmed working. {{.Support}}`,
}
