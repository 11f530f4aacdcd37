package incident

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Refusal is why a command was not applied; Code is a protocol nack code.
type Refusal struct {
	Code string
	Msg  string
}

func (r *Refusal) Error() string { return r.Code + ": " + r.Msg }

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Declare opens incident id from a declare command. The returned entries
// have no seq yet.
func (b Book) Declare(id string, cmd protocol.Command, now time.Time) (protocol.Incident, []protocol.Entry, *Refusal) {
	title := strings.TrimSpace(cmd.Title)
	if title == "" {
		return protocol.Incident{}, nil, refuse(protocol.CodeInvalid, "declare needs a title")
	}
	if !protocol.ValidSeverity(cmd.Severity) {
		return protocol.Incident{}, nil, refuse(protocol.CodeInvalid, "severity %q is not one of SEV1, SEV2, SEV3, SEV4", cmd.Severity)
	}
	rb, ok := b[cmd.Kind]
	if !ok {
		return protocol.Incident{}, nil, refuse(protocol.CodeInvalid, "no runbook %q (have: %s)", cmd.Kind, strings.Join(b.Kinds(), ", "))
	}
	if len(rb.Steps) > protocol.MaxChecklist {
		return protocol.Incident{}, nil, refuse(protocol.CodeInvalid, "runbook %q has %d steps; a checklist holds at most %d", cmd.Kind, len(rb.Steps), protocol.MaxChecklist)
	}
	inc := protocol.Incident{
		ID: id, Title: title, Severity: cmd.Severity, Kind: cmd.Kind,
		Status: protocol.StatusInvestigating, Commander: cmd.Actor,
		OpenedAt: protocol.At(now), Checklist: rb.Checklist(),
	}
	if cmd.ScheduledStart != nil && !cmd.ScheduledStart.IsZero() {
		inc.ScheduledStart = protocol.TimePtr(cmd.ScheduledStart.Time)
	}
	text := fmt.Sprintf("declared %s %s: %s", cmd.Severity, cmd.Kind, title)
	if inc.ScheduledStart != nil {
		text += ", scheduled for " + inc.ScheduledStart.String()
	}
	return inc, []protocol.Entry{entry(id, now, cmd.Actor, protocol.EntryStatus, text)}, nil
}

func entry(id string, now time.Time, actor, kind, text string) protocol.Entry {
	return protocol.Entry{Incident: id, At: protocol.At(now), Actor: actor, Kind: kind, Text: text}
}

// Apply applies a status, note, check or update command to inc. It returns
// the new incident (inc itself is not modified), whether the incident
// changed, and the entries the command yields (without seq).
func Apply(inc protocol.Incident, cmd protocol.Command, now time.Time) (protocol.Incident, bool, []protocol.Entry, *Refusal) {
	switch cmd.Op {
	case protocol.OpNote:
		return applyNote(inc, cmd, now)
	case protocol.OpStatus:
		return applyStatus(inc, cmd, now)
	case protocol.OpCheck:
		return applyCheck(inc, cmd, now)
	case protocol.OpUpdate:
		return applyUpdate(inc, cmd, now)
	}
	return inc, false, nil, refuse(protocol.CodeInvalid, "unknown op %q", cmd.Op)
}

func applyNote(inc protocol.Incident, cmd protocol.Command, now time.Time) (protocol.Incident, bool, []protocol.Entry, *Refusal) {
	text := strings.TrimSpace(cmd.Text)
	if text == "" {
		return inc, false, nil, refuse(protocol.CodeInvalid, "note needs text")
	}
	return inc, false, []protocol.Entry{entry(inc.ID, now, cmd.Actor, protocol.EntryNote, text)}, nil
}

func applyStatus(inc protocol.Incident, cmd protocol.Command, now time.Time) (protocol.Incident, bool, []protocol.Entry, *Refusal) {
	if !protocol.ValidStatus(cmd.Status) {
		return inc, false, nil, refuse(protocol.CodeInvalid, "status %q is not one of investigating, identified, monitoring, resolved", cmd.Status)
	}
	if cmd.Status == inc.Status {
		return inc, false, nil, refuse(protocol.CodeConflict, "%s is already %s", inc.ID, inc.Status)
	}
	next := inc.Clone()
	next.Status = cmd.Status
	if cmd.Status == protocol.StatusResolved {
		next.ResolvedAt = protocol.TimePtr(now)
	} else {
		next.ResolvedAt = nil
	}
	text := fmt.Sprintf("status: %s → %s", inc.Status, cmd.Status)
	return next, true, []protocol.Entry{entry(inc.ID, now, cmd.Actor, protocol.EntryStatus, text)}, nil
}

func applyCheck(inc protocol.Incident, cmd protocol.Command, now time.Time) (protocol.Incident, bool, []protocol.Entry, *Refusal) {
	if cmd.Done == nil {
		return inc, false, nil, refuse(protocol.CodeInvalid, "check needs done true or false")
	}
	next := inc.Clone()
	idx := -1
	for i := range next.Checklist {
		if next.Checklist[i].ID == cmd.Item {
			idx = i
		}
	}
	if idx < 0 {
		return inc, false, nil, refuse(protocol.CodeNotFound, "%s has no checklist step %q", inc.ID, cmd.Item)
	}
	var text string
	var no *Refusal
	if *cmd.Done {
		text, no = tick(&next.Checklist[idx], cmd.Actor, now)
	} else {
		text, no = untick(&next.Checklist[idx])
	}
	if no != nil {
		return inc, false, nil, no
	}
	return next, true, []protocol.Entry{entry(inc.ID, now, cmd.Actor, protocol.EntryCheck, text)}, nil
}

// tick marks the step done by actor; a recurring step is done once more.
func tick(it *protocol.Item, actor string, now time.Time) (text string, no *Refusal) {
	recurring := it.Every != nil
	if it.Done() && !recurring {
		return "", refuse(protocol.CodeConflict, "%q was already done by %s at %s", it.ID, deref(it.DoneBy), it.DoneAt)
	}
	it.DoneAt = protocol.TimePtr(now)
	it.DoneBy = &actor
	if recurring {
		it.Count++
		return fmt.Sprintf("ticked: %s (#%d)", it.Title, it.Count), nil
	}
	return "ticked: " + it.Title, nil
}

// untick takes back the step's last tick.
func untick(it *protocol.Item) (text string, no *Refusal) {
	if !it.Done() {
		return "", refuse(protocol.CodeConflict, "%q is not done", it.ID)
	}
	it.DoneAt, it.DoneBy = nil, nil
	if it.Count > 0 {
		it.Count--
	}
	return "unticked: " + it.Title, nil
}

func applyUpdate(inc protocol.Incident, cmd protocol.Command, now time.Time) (protocol.Incident, bool, []protocol.Entry, *Refusal) {
	next := inc.Clone()
	var changes []string
	if t := strings.TrimSpace(cmd.Title); t != "" && t != inc.Title {
		changes = append(changes, fmt.Sprintf("title %q → %q", inc.Title, t))
		next.Title = t
	}
	if cmd.Severity != "" && cmd.Severity != inc.Severity {
		if !protocol.ValidSeverity(cmd.Severity) {
			return inc, false, nil, refuse(protocol.CodeInvalid, "severity %q is not one of SEV1, SEV2, SEV3, SEV4", cmd.Severity)
		}
		changes = append(changes, fmt.Sprintf("severity %s → %s", inc.Severity, cmd.Severity))
		next.Severity = cmd.Severity
	}
	if c := strings.TrimSpace(cmd.Commander); c != "" && c != inc.Commander {
		changes = append(changes, fmt.Sprintf("commander %s → %s", inc.Commander, c))
		next.Commander = c
	}
	if len(changes) == 0 {
		return inc, false, nil, refuse(protocol.CodeInvalid, "update changes nothing: give a new title, severity or commander")
	}
	text := "updated " + strings.Join(changes, ", ")
	return next, true, []protocol.Entry{entry(inc.ID, now, cmd.Actor, protocol.EntryStatus, text)}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
