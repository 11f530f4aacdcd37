package incident

import (
	"fmt"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// OverrunStepID is the step a maintenance gains when it runs past its
// announced end: tell customers before they notice.
const OverrunStepID = "overrun-notice"

// OverrunTemplate is the overrun notice's draft.
const OverrunTemplate = `Maintenance update: {{.Title}}. The work is taking longer than announced{{if .Until}} (we said it would end by {{.Until}}){{end}}; new estimate: (fill in). {{if .Affected}}Still disrupted: {{.Affected}}. {{end}}{{.Support}}`

// OverrunGrace is how long past its announced end a maintenance may run
// before it asks for a notice: the one that says so is due then.
const OverrunGrace = 0

// Overrunning reports whether inc is a maintenance still in progress past
// its announced end, and by how much.
func Overrunning(inc *protocol.Incident, now time.Time) (time.Duration, bool) {
	if inc.Kind != "maintenance" || inc.Resolved() || inc.ScheduledEnd == nil || inc.ScheduledEnd.IsZero() {
		return 0, false
	}
	late := now.Sub(inc.ScheduledEnd.Time)
	return late, late > OverrunGrace
}

// HasStep reports whether inc's checklist holds step id.
func HasStep(inc *protocol.Incident, id string) bool {
	for i := range inc.Checklist {
		if inc.Checklist[i].ID == id {
			return true
		}
	}
	return false
}

// AddOverrunStep returns inc with the overrun-notice step, due at the
// announced end, and the entry that says why; ok is false when inc is not
// overrunning or already has the step (inc is not modified).
func AddOverrunStep(inc protocol.Incident, now time.Time) (protocol.Incident, protocol.Entry, bool) {
	_, over := Overrunning(&inc, now)
	if !over || HasStep(&inc, OverrunStepID) || len(inc.Checklist) >= protocol.MaxChecklist {
		return inc, protocol.Entry{}, false
	}
	from := inc.OpenedAt.Time
	if inc.ScheduledStart != nil && !inc.ScheduledStart.IsZero() {
		from = inc.ScheduledStart.Time
	}
	due := protocol.Duration(inc.ScheduledEnd.Sub(from) + OverrunGrace)
	next := inc.Clone()
	next.Checklist = append(next.Checklist, protocol.Item{
		ID: OverrunStepID, Title: "Tell customers the work is taking longer than announced",
		Hint: "Say so before they notice: what is still disrupted, and a new estimate.",
		Due:  &due, Template: OverrunTemplate,
	})
	text := fmt.Sprintf("maintenance still in progress past its announced end (%s): checklist gains %s",
		inc.ScheduledEnd.String(), OverrunStepID)
	return next, protocol.Entry{Incident: inc.ID, At: protocol.At(now), Actor: "vigil", Kind: protocol.EntrySystem, Text: text}, true
}
