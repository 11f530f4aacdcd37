package tui

import (
	"fmt"

	"charm.land/lipgloss/v2"

	"github.com/vigil-oncall/vigil/tui/state"
)

// deadlinesPane is what is due, soonest first (key 5): expiries,
// maintenance windows and their notices, follow-ups and recurring steps.
// In the grid it takes the whole body; 1 to 4 bring the grid back. It has
// no keys of its own: the moving keys and enter work on it as on any pane.
type deadlinesPane struct {
	cursor
	watches []state.ExpiryWatch
	selKey  string // the selected row's key: it stays selected as rows move
	cache   *cached
	rows    []state.Deadline
	rowsKey string
}

func newDeadlinesPane(watches []state.ExpiryWatch) *deadlinesPane {
	return &deadlinesPane{watches: watches, cache: &cached{}}
}

// list recomputes the rows when the feeds' state or the minute changed,
// keeping the selection on its row.
func (p *deadlinesPane) list(v *viewCtx) []state.Deadline {
	key := fmt.Sprint(v.st.ServicesVersion, v.st.IncidentsVersion, v.now.Unix()/60)
	if key != p.rowsKey {
		p.rows, p.rowsKey = v.st.Deadlines(v.now, p.watches), key
		for i, r := range p.rows {
			if r.Key() == p.selKey {
				p.sel = i
			}
		}
	}
	return p.rows
}

func (p *deadlinesPane) keep(rows []state.Deadline, shown int) {
	p.clamp(len(rows), shown)
	if p.sel >= 0 && p.sel < len(rows) {
		p.selKey = rows[p.sel].Key()
	}
}

func (p *deadlinesPane) view(v *viewCtx, r Rect, focused bool) string {
	rows := p.list(v)
	key := fmt.Sprint(p.rowsKey, v.now.Unix()/10, v.utc, r, focused, p.sel, p.offset)
	return p.cache.get(key, func() string { return p.draw(v, rows, r, focused) })
}

func (p *deadlinesPane) move(v *viewCtx, delta, rows int) {
	p.sel += delta
	p.keep(p.list(v), rows)
}

func (p *deadlinesPane) click(v *viewCtx, row, rows int) {
	p.sel = p.offset + row
	p.keep(p.list(v), rows)
}

func (p *deadlinesPane) open(v *viewCtx) dialog {
	rows := p.list(v)
	if p.sel < 0 || p.sel >= len(rows) {
		return nil
	}
	return deadlineDetail(rows[p.sel])
}

// Column widths: due date, countdown, state, kind; the rest is the title.
const (
	dlDueW   = 15
	dlLeftW  = 9
	dlStateW = 12
	dlKindW  = 13
)

func (p *deadlinesPane) draw(v *viewCtx, rows []state.Deadline, r Rect, focused bool) string {
	shown := max(1, r.H-1)
	p.keep(rows, shown)
	urgent := 0
	for _, d := range rows {
		if d.State == state.DueOverdue || d.State == state.DueCritical || d.State == state.DueOverrun {
			urgent++
		}
	}
	lines := []string{v.title(fmt.Sprintf("Deadlines  %d · %d need action now", len(rows), urgent), r.W, focused)}
	if len(rows) == 0 {
		for _, l := range wrap(" Nothing due. Expiries come from the checks of type tls, domain and https in this configuration; windows, notices and follow-ups from the feeds' incidents.", r.W) {
			lines = append(lines, v.styles.Dim.Render(l))
		}
		return block(lines, r.W, r.H)
	}
	titleW := max(8, r.W-1-dlDueW-dlLeftW-dlStateW-dlKindW)
	for i := p.offset; i < len(rows) && len(lines) <= shown; i++ {
		d := rows[i]
		due, left := deadlineWhen(v, d)
		title := d.Title
		if d.Incident != "" {
			title = d.Incident + " " + title
		}
		line := mark(focused && i == p.sel) + fit(due, dlDueW) + fit(left, dlLeftW) + deadlineState(v.styles, d.State, dlStateW) + fit(d.Kind, dlKindW) + fit(title, titleW)
		lines = append(lines, clip(line, r.W))
	}
	return block(lines, r.W, r.H)
}

// deadlineWhen is a row's date and countdown: "12-12 09:00" and "4d23h";
// "≤12-12 09:00" for an expiry its state bounds; "-2h05m" once past; for
// a settled row when it was done; a dash for a row without a date.
func deadlineWhen(v *viewCtx, d state.Deadline) (string, string) {
	if d.Due.IsZero() {
		return "—", ""
	}
	zone, suffix := v.zone()
	due := d.Due.In(zone).Format("01-02 15:04") + suffix
	left := d.Left(v.now)
	switch {
	case d.Settled():
		return due, "" // when it was done: nothing counts down
	case d.Bound:
		return "≤" + due, "≤" + state.Countdown(max(left, 0))
	case left < 0:
		return due, "-" + state.Countdown(left)
	}
	return due, state.Countdown(left)
}

// deadlineState draws a state word in its colour, padded to w cells.
func deadlineState(s *Styles, st string, w int) string {
	var paint lipgloss.Style
	switch st {
	case state.DueCritical, state.DueOverdue, state.DueOverrun:
		paint = s.Crit
	case state.DueExpiring:
		paint = s.Warn
	case state.DueUnknown:
		paint = s.Unknown
	case state.DueAnnounced, state.DueDone, state.DueRenewed, state.DueOK:
		paint = s.OK
	case state.DueWaiting:
		paint = s.Waiting
	default:
		paint = s.Pending
	}
	return paint.Render(fit(st, w))
}
