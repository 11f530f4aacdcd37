package incident

// Message drafts for the communication steps, rendered from an incident by
// Draft. They follow what the seeds say customers must be told, in the
// customers' terms: public components (never hosts or checks), the
// incident's actual status, each time with its zone once, and never a
// claim the hub knows to be false. .Title is the public title, named
// after the components; the responders' title never reaches a draft.
var defaultTemplates = map[string]string{
	"outage/status-page": `{{.Title}}
{{.StatusLine}}{{if .Affected}} Affected: {{.Affected}}.{{end}}
Started {{.Started}}. Next update by {{.NextUpdate}}.
{{.Support}}`,
	"outage/email-customers": `Subject: {{.Title}}

Hello,

Since {{.Started}} {{if .Affected}}these services are not working as they should:
{{.AffectedList}}{{else}}some of our services are not working as they should.{{end}}

What we are doing: {{.StatusLine}}
When you will hear from us next: by {{.NextUpdate}}, or sooner if it is fixed.

{{.Support}}

We are sorry for the disruption.`,
	"outage/social": `{{.Title}}: {{.StatusLine}} Since {{.Started}}. Next update by {{.NextUpdate}}.`,
	"outage/updates": `Update on {{.Title}}: {{.StatusLine}}
{{if .Affected}}Affected: {{.Affected}}.
{{end}}Next update by {{.NextUpdate}}.
{{.Support}}`,
	"outage/resolved-notice": `Resolved: {{.Title}}
{{if .Affected}}{{.Affected}}: {{end}}from {{.Started}} to {{.Resolved}} ({{.Duration}}).
{{if .StillDown}}Service is restored for most customers; we are still checking the rest and will confirm when everything is back.{{else}}All services are confirmed working.{{end}} A post-mortem will follow.
{{.Support}}`,
	"maintenance/announce-week": `Subject: Scheduled maintenance on {{.ScheduledLocal}}

Hello,

When: {{.Scheduled}}{{if .Until}} until {{.Until}}{{end}}.
How long: {{if .Window}}{{.Window}}{{else}}(fill in: down to the minute){{end}}.
What will be disrupted: {{if .Affected}}{{.Affected}}{{else}}(fill in: web, mail, ...){{end}}.
Why: (fill in: the reason, in your customers' words).
The benefit to you: (fill in).
How to reach support during the maintenance: {{.Support}}
Alternatives while it lasts: (fill in, if any).

We will remind you 24 hours before.`,
	"maintenance/announce-day": `Reminder: scheduled maintenance tomorrow, {{.Scheduled}}{{if .Until}} until {{.Until}}{{end}}.
{{if .Affected}}Disrupted: {{.Affected}}. {{end}}{{.Support}}`,
	"maintenance/start-notice":    `{{.Title}} has started.{{if .Until}} It should end by {{.Until}}.{{end}}{{if .Affected}} Disrupted: {{.Affected}}.{{end}} {{.Support}}`,
	"maintenance/complete-notice": `{{.Title}} is complete. {{if .StillDown}}We are still checking that every service is back and will confirm when it is.{{else}}All services are confirmed working.{{end}} {{.Support}}`,
}
