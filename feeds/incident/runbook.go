// Package incident is the pure domain of incidents: runbooks (the default
// checklists from the seeds), applying responder commands to an incident,
// and when each step is due. It does no I/O and knows no transport.
package incident

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Step is one checklist step of a runbook.
type Step struct {
	ID       string
	Title    string
	Hint     string
	Due      *time.Duration // from opened_at, scheduled_start or resolved_at
	Every    *time.Duration // recurring: next due = last done + every
	After    string         // "resolved": counts only once resolved
	Template string         // optional message draft (text/template)
}

// Runbook is a named checklist an incident is declared from.
type Runbook struct {
	Kind  string
	Steps []Step
}

// Book holds the runbooks by kind.
type Book map[string]Runbook

// Kinds returns the runbook kinds, sorted.
func (b Book) Kinds() []string {
	kinds := make([]string, 0, len(b))
	for k := range b {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

func d(v time.Duration) *time.Duration { return &v }

const (
	minute = time.Minute
	hour   = time.Hour
)

var outageSteps = []Step{
	{ID: "ack", Title: "Acknowledge and take ownership", Due: d(5 * minute),
		Hint: "Say who owns this incident so everyone else knows who to talk to."},
	{ID: "status-page", Title: "First notice on the status page / website", Due: d(15 * minute),
		Hint: "Customers must hear it from you first, within minutes."},
	{ID: "email-customers", Title: "Email affected customers", Due: d(30 * minute),
		Hint: "What is down, since when, what you are doing, when the next update comes."},
	{ID: "social", Title: "Post on the social status channel", Due: d(30 * minute),
		Hint: "Bad news flies fast: be the first to say it."},
	{ID: "escalate", Title: "Escalate if not mitigated", Due: d(30 * minute),
		Hint: "Follow the escalation procedure; get professional help early."},
	{ID: "updates", Title: "Post a progress update", Every: d(30 * minute),
		Hint: "What is happening, what steps are being taken, when you expect a fix."},
	{ID: "answer-messages", Title: "Answer incoming tickets and messages", Every: d(60 * minute),
		Hint: "Emails, tweets and messages can't wait until later."},
	{ID: "resolved-notice", Title: "Send the resolution notice", After: protocol.AfterResolved, Due: d(30 * minute),
		Hint: "Confirm services are back and what customers may need to do."},
	{ID: "root-cause", Title: "Find the root cause from the logs before rebooting",
		Hint: "A reboot without logs leaves you never knowing why."},
	{ID: "postmortem", Title: "Publish a transparent post-mortem, no blame", After: protocol.AfterResolved, Due: d(72 * hour),
		Hint: "What went wrong, what you did, how you prevent it. Don't shift the blame."},
	{ID: "make-right", Title: "Make it right: credits for those affected", After: protocol.AfterResolved,
		Hint: "A refund, a credit or an extra service: show you understand the cost."},
	{ID: "debrief", Title: "Internal debrief: what went wrong and what went well", After: protocol.AfterResolved,
		Hint: "Record what went well too, for next time."},
}

var maintenanceSteps = []Step{
	{ID: "announce-week", Title: "Announce the maintenance a week ahead", Due: d(-168 * hour),
		Hint: "When, how long, what is disrupted, why, the benefit, how to reach support, alternatives."},
	{ID: "announce-day", Title: "Remind customers 24 hours ahead", Due: d(-24 * hour),
		Hint: "Repeat the essentials: when, how long, what is disrupted."},
	{ID: "channels", Title: "Post on website news, email, social and forum", Due: d(-24 * hour),
		Hint: "Reach customers where they look."},
	{ID: "start-notice", Title: "Announce the start of the maintenance", Due: d(0),
		Hint: "Say it has started and when it should end."},
	{ID: "complete-notice", Title: "Announce completion and confirm services", After: protocol.AfterResolved,
		Hint: "Confirm every disrupted service is back."},
	{ID: "follow-up", Title: "Follow up with affected customers", After: protocol.AfterResolved,
		Hint: "Ask if they need help, e.g. with DNS updates or troubleshooting."},
}

func securitySteps() []Step {
	steps := []Step{{ID: "contain", Title: "Contain the breach first", Due: d(15 * minute),
		Hint: "Stop the damage before anything else; keep the evidence."}}
	steps = append(steps, outageSteps...)
	steps = append(steps,
		Step{ID: "rotate-credentials", Title: "Rotate exposed credentials", Due: d(1 * hour),
			Hint: "Keys, passwords and tokens that may have been seen."},
		Step{ID: "legal-notice", Title: "Notify as the law and contracts require", Due: d(72 * hour),
			Hint: "Regulators, customers and partners, within the required time."},
	)
	return steps
}

// Defaults returns the built-in runbooks of DESIGN.md; step ids are part of
// the contract.
func Defaults() Book {
	b := Book{
		"outage":      {Kind: "outage", Steps: cloneSteps(outageSteps)},
		"maintenance": {Kind: "maintenance", Steps: cloneSteps(maintenanceSteps)},
		"security":    {Kind: "security", Steps: securitySteps()},
	}
	for kind, rb := range b {
		for i := range rb.Steps {
			rb.Steps[i].Template = defaultTemplates[kind+"/"+rb.Steps[i].ID]
			if rb.Steps[i].Template == "" {
				rb.Steps[i].Template = defaultTemplates["outage/"+rb.Steps[i].ID]
			}
		}
	}
	return b
}

func cloneSteps(s []Step) []Step { return append([]Step(nil), s...) }

// Merge applies configured runbooks on top of b: a runbook with Replace
// set replaces the one of its kind; otherwise its steps replace steps of
// the same id and the rest are appended. New kinds are added.
func (b Book) Merge(kind string, steps []Step, replace bool) error {
	if kind == "" {
		return fmt.Errorf("runbook without kind")
	}
	if err := checkSteps(kind, steps); err != nil {
		return err
	}
	if err := protocol.CheckID("kind", kind); err != nil {
		return fmt.Errorf("runbook %q: %v", kind, err)
	}
	existing, ok := b[kind]
	if !ok || replace {
		if len(steps) > protocol.MaxChecklist {
			return fmt.Errorf("runbook %q has %d steps; a checklist holds at most %d", kind, len(steps), protocol.MaxChecklist)
		}
		return b.set(Runbook{Kind: kind, Steps: cloneSteps(steps)})
	}
	merged := mergeSteps(existing.Steps, steps)
	if len(merged) > protocol.MaxChecklist {
		return fmt.Errorf("runbook %q would have %d steps; a checklist holds at most %d", kind, len(merged), protocol.MaxChecklist)
	}
	return b.set(Runbook{Kind: kind, Steps: merged})
}

// set stores rb unless its incidents could not be sent.
func (b Book) set(rb Runbook) error {
	if err := rb.checkSize(); err != nil {
		return err
	}
	b[rb.Kind] = rb
	return nil
}

// checkSteps refuses the first step of runbook kind that is not valid.
func checkSteps(kind string, steps []Step) error {
	seen := map[string]bool{}
	for _, s := range steps {
		if err := s.checkText(kind); err != nil {
			return err
		}
		if seen[s.ID] {
			return fmt.Errorf("runbook %q: step %q appears twice", kind, s.ID)
		}
		seen[s.ID] = true
		if s.After != "" && s.After != protocol.AfterResolved {
			return fmt.Errorf("runbook %q step %q: after must be %q", kind, s.ID, protocol.AfterResolved)
		}
		if s.Every != nil && *s.Every <= 0 {
			return fmt.Errorf("runbook %q step %q: every must be positive", kind, s.ID)
		}
	}
	return nil
}

// checkText checks the step's id and the texts a frame carries.
func (s Step) checkText(kind string) error {
	if s.ID == "" {
		return fmt.Errorf("runbook %q: a step has no id", kind)
	}
	if err := protocol.CheckID("step id", s.ID); err != nil {
		return fmt.Errorf("runbook %q: %v", kind, err)
	}
	for _, t := range []struct {
		name, text string
		max        int
	}{{"title", s.Title, protocol.MaxTitleBytes}, {"hint", s.Hint, protocol.MaxTextBytes}, {"template", s.Template, protocol.MaxTextBytes}} {
		if err := protocol.CheckText(t.name, t.text, t.max); err != nil {
			return fmt.Errorf("runbook %q step %q: %v", kind, s.ID, err)
		}
	}
	return nil
}

// mergeSteps replaces the steps of existing that have the id of one of
// steps and appends the others.
func mergeSteps(existing, steps []Step) []Step {
	merged := cloneSteps(existing)
	for _, s := range steps {
		replaced := false
		for i := range merged {
			if merged[i].ID == s.ID {
				merged[i] = s
				replaced = true
			}
		}
		if !replaced {
			merged = append(merged, s)
		}
	}
	return merged
}

// MaxChecklistBytes bounds a runbook's checklist as encoded: half a frame,
// so that an incident declared from it still fits one frame once its
// steps carry who did and claimed them, and when.
const MaxChecklistBytes = protocol.MaxFrameSize / 2

// checkSize refuses a runbook whose incidents could not be sent: every
// declare of it would be refused, so it is refused where it is configured.
func (rb Runbook) checkSize() error {
	frame, err := json.Marshal(rb.Checklist())
	if err != nil {
		return fmt.Errorf("runbook %q: %v", rb.Kind, err)
	}
	if len(frame) > MaxChecklistBytes {
		return fmt.Errorf("runbook %q: its checklist encodes to %d bytes; at most %d, so its incidents fit a frame (JSON writes <, > and & as six bytes each)", rb.Kind, len(frame), MaxChecklistBytes)
	}
	return nil
}

// Checklist builds the protocol checklist of a fresh incident from rb.
func (rb Runbook) Checklist() []protocol.Item {
	items := make([]protocol.Item, len(rb.Steps))
	for i, s := range rb.Steps {
		it := protocol.Item{ID: s.ID, Title: s.Title, Hint: s.Hint, After: s.After, Template: s.Template}
		if s.Due != nil {
			it.Due = protocol.DurationPtr(*s.Due)
		}
		if s.Every != nil {
			it.Every = protocol.DurationPtr(*s.Every)
		}
		items[i] = it
	}
	return items
}
