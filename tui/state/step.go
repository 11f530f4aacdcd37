package state

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Tone is how a piece of a step's line is painted; the pane maps each to
// a style, so what a step says is decided here and tested without one.
type Tone int

const (
	Plain Tone = iota
	ToneWaiting
	ToneOverdue
	ToneDone
	ToneNotice
	ToneError
	TonePending
)

// Span is text in one tone.
type Span struct {
	Text string
	Tone Tone
}

// StepView is how one checklist step reads: its box, the tone of the
// whole line, and its status after the label, in order.
type StepView struct {
	Box     string
	BoxTone Tone
	Line    Tone // ToneWaiting greys the whole line; Plain leaves it
	Status  []Span
}

// StatusText is the status without its tones.
func (v StepView) StatusText() string {
	var b strings.Builder
	for _, s := range v.Status {
		b.WriteString(s.Text)
	}
	return b.String()
}

// StepFacts are what the dashboard knows of a step beyond the journal:
// a command of ours in flight or refused, and pages not delivered.
type StepFacts struct {
	Pending, Refused bool
	Failed, Retrying []string
}

// StepFacts gathers what PresentStep needs of the pending, refused and
// undelivered commands about a step.
func (s *State) StepFacts(incidentID, item string) StepFacts {
	f := StepFacts{Pending: s.PendingCheck(incidentID, item) != nil}
	_, f.Refused = s.RefusedCheck(incidentID, item)
	f.Failed, f.Retrying = s.UndeliveredChannels(incidentID, item)
	return f
}

// StepStatus is a step's state as the dashboard counts it: once an
// incident is resolved only its after-resolution steps have deadlines.
func StepStatus(in *Incident, it *protocol.Item, now time.Time) incident.Status {
	st := incident.StepStatus(&in.Incident, it, now)
	if in.Resolved() && it.After != protocol.AfterResolved && (st.State == incident.StepDueIn || st.State == incident.StepOverdue) {
		return incident.Status{State: incident.StepOpen}
	}
	return st
}

// NextDue is the step whose deadline comes first, by StepStatus.
func NextDue(in *Incident, now time.Time) (*protocol.Item, incident.Status, bool) {
	var best *protocol.Item
	var bestSt incident.Status
	for i := range in.Checklist {
		it := &in.Checklist[i]
		s := StepStatus(in, it, now)
		if s.DueAt.IsZero() || (s.State != incident.StepDueIn && s.State != incident.StepOverdue && !(s.State == incident.StepDone && it.Every != nil)) {
			continue
		}
		if best == nil || s.DueAt.Before(bestSt.DueAt) {
			best, bestSt = it, s
		}
	}
	return best, bestSt, best != nil
}

// PresentStep says what state a step is in and how it reads at now:
// due, overdue, done (by whom, how late), repeating, claimed, in flight,
// refused, not delivered. Times of day are written in zone.
func PresentStep(in *Incident, it *protocol.Item, now time.Time, zone *time.Location, f StepFacts) StepView {
	st := StepStatus(in, it, now)
	v := stateOf(in, it, st, now)
	if it.Done() && (st.State == incident.StepDone || it.Every != nil) {
		done := doneText(in, it, st, now, zone)
		if st.State == incident.StepOverdue {
			v.Status = append(v.Status, Span{Text: " " + done})
		} else {
			v.Status = []Span{{Text: done, Tone: ToneDone}}
		}
	}
	if it.Every != nil && st.State != incident.StepDone && !it.Done() {
		v.Status = append(v.Status, Span{Text: " (every " + protocol.FormatDuration(it.Every.Std()) + ")"})
	}
	if it.ClaimedBy != nil && *it.ClaimedBy != "" && st.State != incident.StepDone {
		v.Status = prepend(v.Status, Span{Text: *it.ClaimedBy + " is on it", Tone: ToneNotice}, Span{Text: " · "})
	}
	if len(f.Failed)+len(f.Retrying) > 0 {
		v.Status = prepend(v.Status, append(undelivered(f.Failed, f.Retrying), Span{Text: " · "})...)
	}
	switch {
	case f.Pending:
		v.Box, v.BoxTone = "[…]", TonePending
		v.Status = prepend(v.Status, Span{Text: "sending…", Tone: TonePending}, Span{Text: " "})
	case f.Refused:
		v.Box, v.BoxTone = "[✗]", ToneError
	}
	return v
}

// stateOf is the box and first words of a step by its state alone.
func stateOf(in *Incident, it *protocol.Item, st incident.Status, now time.Time) StepView {
	v := StepView{Box: "[ ]"}
	switch st.State {
	case incident.StepWaiting:
		v.Box, v.Line = "[-]", ToneWaiting
		v.Status = []Span{{Text: "after resolution"}}
	case incident.StepOpen:
		word := "to do"
		if in.Resolved() && it.After != protocol.AfterResolved && !it.Done() {
			word = "not done"
		}
		if st.PassedAtDeclare {
			// Its deadline was gone before anyone could meet it.
			word += " · " + declaredAhead(in)
		}
		v.Status = []Span{{Text: word}}
	case incident.StepDueIn:
		v.Status = []Span{{Text: "due in " + Countdown(st.Left(now))}}
	case incident.StepOverdue:
		v.Box = "[!]"
		v.Status = []Span{{Text: "OVERDUE +" + Countdown(st.Left(now)), Tone: ToneOverdue}}
	case incident.StepDone:
		v.Box, v.BoxTone = "[✓]", ToneDone
	}
	return v
}

// doneText says when and by whom a step was ticked, how late, and for a
// repeating step how many times and when it is next due.
func doneText(in *Incident, it *protocol.Item, st incident.Status, now time.Time, zone *time.Location) string {
	by := ""
	if it.DoneBy != nil {
		by = " " + *it.DoneBy
	}
	text := "✓ " + it.DoneAt.In(zone).Format("15:04") + by
	if late := incident.Lateness(&in.Incident, it); late > 0 && it.Every == nil {
		text += " (" + Countdown(late) + " late)"
	} else if it.Every == nil && incident.PassedAtDeclare(&in.Incident, it) {
		text += " (" + declaredAhead(in) + ")"
	}
	if it.Every != nil {
		text = fmt.Sprintf("#%d last %s", it.Count, text)
		if st.State == incident.StepDone && !st.DueAt.IsZero() {
			text += " · next in " + Countdown(st.Left(now))
		}
	}
	return text
}

func undelivered(failed, retrying []string) []Span {
	var out []Span
	if len(failed) > 0 {
		out = append(out, Span{Text: "✗ not delivered: " + strings.Join(failed, ", "), Tone: ToneError})
	}
	if len(retrying) > 0 {
		if len(out) > 0 {
			out = append(out, Span{Text: " "})
		}
		out = append(out, Span{Text: "retrying: " + strings.Join(retrying, ", "), Tone: TonePending})
	}
	return out
}

func prepend(spans []Span, head ...Span) []Span {
	return append(head, spans...)
}

// Countdown writes a time left or overdue: 04:59 under an hour, 2h05m,
// 3d04h from two days on.
func Countdown(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Truncate(time.Second)
	if d >= time.Hour {
		h := d / time.Hour
		m := (d % time.Hour) / time.Minute
		if h >= 48 {
			return fmt.Sprintf("%dd%02dh", h/24, h%24)
		}
		return fmt.Sprintf("%dh%02dm", h, m)
	}
	return fmt.Sprintf("%02d:%02d", d/time.Minute, (d%time.Minute)/time.Second)
}

// declaredAhead is how far ahead a maintenance was declared, for a step
// whose deadline had passed by then.
func declaredAhead(in *Incident) string {
	if a := incident.DeclaredAhead(&in.Incident); a != "" {
		return a
	}
	return "declared after its deadline"
}
