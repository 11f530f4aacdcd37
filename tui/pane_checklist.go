package tui

import (
	tea "charm.land/bubbletea/v2"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

type checklistPane struct {
	cursor
	cache *cached
}

func (p *checklistPane) view(v *viewCtx, r Rect, focused bool) string {
	id := ""
	if v.incident != nil {
		id = v.incident.ID
	}
	key := fmt.Sprint(v.st.IncidentsVersion, id, v.now.Unix(), r, focused, p.sel, v.utc)
	return p.cache.get(key, func() string { return p.draw(v, r, focused) })
}

func (p *checklistPane) items(v *viewCtx) int {
	if v.incident == nil {
		return 0
	}
	return len(v.incident.Checklist)
}

func (p *checklistPane) move(v *viewCtx, delta, rows int) {
	p.sel = max(0, min(p.sel+delta, p.items(v)-1))
}

func (p *checklistPane) click(v *viewCtx, row, rows int) {
	p.sel = max(0, min(p.offset+row, p.items(v)-1))
}

// step returns the selected step.
func (p *checklistPane) step(v *viewCtx) *protocol.Item {
	if n := p.items(v); n > 0 {
		return &v.incident.Checklist[max(0, min(p.sel, n-1))]
	}
	return nil
}

func (p *checklistPane) open(v *viewCtx) dialog {
	if it := p.step(v); it != nil {
		return stepDetail(v.incident.ID, it.ID)
	}
	return nil
}

// stepStatus is a step's state as the dashboard counts it: once an
// incident is resolved only its after-resolution steps have deadlines.
func stepStatus(in *state.Incident, it *protocol.Item, now time.Time) incident.Status {
	st := incident.StepStatus(&in.Incident, it, now)
	if in.Resolved() && it.After != protocol.AfterResolved && (st.State == incident.StepDueIn || st.State == incident.StepOverdue) {
		return incident.Status{State: incident.StepOpen}
	}
	return st
}

// nextDue is the step whose deadline comes first, by stepStatus.
func nextDue(in *state.Incident, now time.Time) (*protocol.Item, incident.Status, bool) {
	var best *protocol.Item
	var bestSt incident.Status
	for i := range in.Checklist {
		it := &in.Checklist[i]
		s := stepStatus(in, it, now)
		if s.DueAt.IsZero() || (s.State != incident.StepDueIn && s.State != incident.StepOverdue && !(s.State == incident.StepDone && it.Every != nil)) {
			continue
		}
		if best == nil || s.DueAt.Before(bestSt.DueAt) {
			best, bestSt = it, s
		}
	}
	return best, bestSt, best != nil
}

func (p *checklistPane) draw(v *viewCtx, r Rect, focused bool) string {
	in := v.incident
	if in == nil {
		return block([]string{v.title("Checklist", r.W, focused),
			v.styles.Dim.Render(fit(" no active incident — "+v.keys.Declare.Help().Key+" declares one", r.W))}, r.W, r.H)
	}
	done, total := incident.Progress(&in.Incident)
	zone, _ := v.zone()
	kind := in.Kind + " runbook"
	if w := windowLabel(&in.Incident, zone); w != "" {
		kind = in.Kind + " " + w
	}
	lines := []string{v.title(fmt.Sprintf("Checklist %s  %d/%d done  (%s)", in.ID, done, total, kind), r.W, focused)}
	items := in.Checklist
	rows := r.H - 3 // title, and two lines for the selected step's detail
	p.clamp(len(items), rows)
	for i := p.offset; i < len(items) && i < p.offset+rows; i++ {
		it := &items[i]
		lines = append(lines, p.itemLine(v, in, it, i == p.sel && focused, r.W, zone))
	}
	for len(lines) < r.H-2 {
		lines = append(lines, "")
	}
	if len(items) > 0 {
		it := &items[p.sel]
		detail := it.Hint
		if it.ClaimedBy != nil && *it.ClaimedBy != "" {
			detail = *it.ClaimedBy + " is on it · " + detail
		}
		if ref, ok := v.st.RefusedCheck(in.ID, it.ID); ok {
			detail = v.styles.Error.Render(fmt.Sprintf("refused (%s): %s", ref.Code, ref.Error))
		}
		lines = append(lines, v.styles.Dim.Render(clip(" "+strings.Repeat("─", max(0, r.W-2)), r.W)))
		lines = append(lines, clip(" "+detail, r.W))
	}
	return block(lines, r.W, r.H)
}

func (p *checklistPane) itemLine(v *viewCtx, in *state.Incident, it *protocol.Item, selected bool, w int, zone *time.Location) string {
	st := stepStatus(in, it, v.now)
	box, boxStyle, status := "[ ]", func(s ...string) string { return strings.Join(s, "") }, ""
	paint := boxStyle
	switch st.State {
	case incident.StepWaiting:
		box, status, paint = "[-]", "after resolution", v.styles.Waiting.Render
	case incident.StepOpen:
		status = "to do"
		if in.Resolved() && it.After != protocol.AfterResolved && !it.Done() {
			status = "not done"
		}
	case incident.StepDueIn:
		status = "due in " + countdown(st.Left(v.now))
	case incident.StepOverdue:
		box = "[!]"
		status = v.styles.Overdue.Render("OVERDUE +" + countdown(st.Left(v.now)))
	case incident.StepDone:
		box, boxStyle = "[✓]", v.styles.Done.Render
	}
	if it.Done() && (st.State == incident.StepDone || it.Every != nil) {
		by := ""
		if it.DoneBy != nil {
			by = " " + *it.DoneBy
		}
		doneText := "✓ " + it.DoneAt.In(zone).Format("15:04") + by
		if late := incident.Lateness(&in.Incident, it); late > 0 && it.Every == nil {
			doneText += " (" + countdown(late) + " late)"
		}
		if it.Every != nil {
			doneText = fmt.Sprintf("#%d last %s", it.Count, doneText)
			if st.State == incident.StepDone && !st.DueAt.IsZero() {
				doneText += " · next in " + countdown(st.Left(v.now))
			}
		}
		if st.State == incident.StepOverdue {
			status = status + " " + doneText
		} else {
			status = v.styles.Done.Render(doneText)
		}
	}
	if it.Every != nil && st.State != incident.StepDone && !it.Done() {
		status += " (every " + protocol.FormatDuration(it.Every.Std()) + ")"
	}
	if it.ClaimedBy != nil && *it.ClaimedBy != "" && st.State != incident.StepDone {
		status = v.styles.Notice.Render(*it.ClaimedBy+" is on it") + " · " + status
	}
	if failed, retrying := v.st.UndeliveredChannels(in.ID, it.ID); len(failed)+len(retrying) > 0 {
		var parts []string
		if len(failed) > 0 {
			parts = append(parts, v.styles.Error.Render("✗ not delivered: "+strings.Join(failed, ", ")))
		}
		if len(retrying) > 0 {
			parts = append(parts, v.styles.Pending.Render("retrying: "+strings.Join(retrying, ", ")))
		}
		status = strings.Join(parts, " ") + " · " + status
	}
	if pend := v.st.PendingCheck(in.ID, it.ID); pend != nil {
		box, boxStyle = "[…]", v.styles.Pending.Render
		status = v.styles.Pending.Render("sending…") + " " + status
	} else if _, refused := v.st.RefusedCheck(in.ID, it.ID); refused {
		box, boxStyle = "[✗]", v.styles.Error.Render
	}
	titleW := max(10, min(46, w-40))
	left := " " + boxStyle(box) + " " + fit(it.Label(), titleW) + " "
	if selected {
		left = v.styles.Selected.Render(fit(" "+box+" "+it.Label(), titleW+5)) + " "
	}
	return paint(clip(left+status, w))
}

// tickStep ticks or unticks the selected step; unticking what someone
// else ticked asks first (the journal keeps both names).
func (m Model) tickStep() (Model, tea.Cmd) {
	in := m.current()
	if in == nil {
		return m.notice("no incident: "+m.keyName(m.keys.Declare)+" declares one", true), nil
	}
	if m.focus != ChecklistPane {
		m.focus = ChecklistPane
		return m.notice("checklist focused: space ticks the selected step", false), nil
	}
	v := m.viewCtx()
	it := m.cl.step(&v)
	if it == nil {
		return m, nil
	}
	if m.st.PendingCheck(in.ID, it.ID) != nil {
		return m.notice("already sending: wait for the feed to answer", false), nil
	}
	done := !it.Done() || it.Every != nil
	send := sendAct{feed: in.Feed, cmd: protocol.Command{Op: protocol.OpCheck, Incident: in.ID, Item: it.ID, Done: &done}}
	if !done && it.DoneBy != nil && *it.DoneBy != m.opts.Actor {
		who, label, at := *it.DoneBy, it.Label(), it.DoneAt.Time
		return m.push(newConfirm("Untick a step "+who+" ticked?", func(v *viewCtx) string {
			zone, suffix := v.zone()
			return fmt.Sprintf("%s ticked %q at %s%s.\nUntick it? The journal keeps both names.", who, label, at.In(zone).Format("15:04"), suffix)
		}, send)), nil
	}
	return m, m.send(send.feed, send.cmd)
}

// claimStep claims the selected step, or releases it when it is ours.
func (m Model) claimStep() (Model, tea.Cmd) {
	in := m.current()
	v := m.viewCtx()
	if in == nil || m.focus != ChecklistPane {
		return m.notice("claim works on a checklist step: "+m.keyName(m.keys.Pane4)+" shows them", true), nil
	}
	it := m.cl.step(&v)
	if it == nil {
		return m, nil
	}
	claim := it.ClaimedBy == nil || *it.ClaimedBy != m.opts.Actor
	word := "claiming"
	if !claim {
		word = "releasing"
	}
	return m.notice(word+" "+it.Label(), false), m.send(in.Feed, protocol.Command{Op: protocol.OpClaim, Incident: in.ID, Item: it.ID, Claim: &claim})
}
