package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

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
	sv := state.PresentStep(in, it, v.now, zone, v.st.StepFacts(in.ID, it.ID))
	var status strings.Builder
	for _, s := range sv.Status {
		status.WriteString(v.paint(s.Tone)(s.Text))
	}
	titleW := max(10, min(46, w-40))
	left := " " + v.paint(sv.BoxTone)(sv.Box) + " " + fit(it.Label(), titleW) + " "
	if selected {
		left = v.styles.Selected.Render(fit(" "+sv.Box+" "+it.Label(), titleW+5)) + " "
	}
	return v.paint(sv.Line)(clip(left+status.String(), w))
}

// paint is the style of a tone state gives a piece of text.
func (v *viewCtx) paint(t state.Tone) func(...string) string {
	switch t {
	case state.ToneWaiting:
		return v.styles.Waiting.Render
	case state.ToneOverdue:
		return v.styles.Overdue.Render
	case state.ToneDone:
		return v.styles.Done.Render
	case state.ToneNotice:
		return v.styles.Notice.Render
	case state.ToneError:
		return v.styles.Error.Render
	case state.TonePending:
		return v.styles.Pending.Render
	}
	return func(s ...string) string { return strings.Join(s, "") }
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

// checklistKeys are the Checklist pane's own bindings: they act on the
// selected step.
type checklistKeys struct {
	Tick, Claim, Publish key.Binding
	Draft, Copy, Save    key.Binding
}

func defaultChecklistKeys() checklistKeys {
	b := binding
	return checklistKeys{
		Tick:    b([]string{"space", "x"}, "space/x", "tick step"),
		Claim:   b([]string{"o"}, "o", "claim step"),
		Draft:   b([]string{"v"}, "v", "view draft"),
		Copy:    b([]string{"c"}, "c", "copy draft (OSC 52)"),
		Save:    b([]string{"w"}, "w", "write draft to file"),
		Publish: b([]string{"p"}, "p", "publish step's update"),
	}
}

// enable turns the step's keys on by what they can do: tick and the
// drafts need an incident, claim and publish a selected step.
func (k *checklistKeys) enable(hasIncident, onStep bool) {
	k.Tick.SetEnabled(hasIncident)
	k.Claim.SetEnabled(onStep)
	k.Publish.SetEnabled(onStep)
	k.Draft.SetEnabled(hasIncident)
	k.Copy.SetEnabled(hasIncident)
	k.Save.SetEnabled(hasIncident)
}

func (k checklistKeys) ShortHelp() []key.Binding { return enabled(k.Tick, k.Claim) }
func (k checklistKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Tick, k.Claim}, {k.Draft, k.Publish, k.Copy, k.Save}}
}

// checklistHandlers say what the Checklist pane's bindings do.
var checklistHandlers = []keyHandler{
	{func(k *KeyMap) key.Binding { return k.Tick }, Model.tickStep},
	{func(k *KeyMap) key.Binding { return k.Claim }, Model.claimStep},
	{func(k *KeyMap) key.Binding { return k.Draft }, func(m Model) (Model, tea.Cmd) { return m.withDraft(viewDraft) }},
	{func(k *KeyMap) key.Binding { return k.Copy }, func(m Model) (Model, tea.Cmd) { return m.withDraft(copyDraft) }},
	{func(k *KeyMap) key.Binding { return k.Save }, func(m Model) (Model, tea.Cmd) { return m.withDraft(saveDraft) }},
	{func(k *KeyMap) key.Binding { return k.Publish }, Model.publish},
}
