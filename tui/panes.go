package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

// viewCtx is what every pane reads to draw itself.
type viewCtx struct {
	st       *state.State
	styles   *Styles
	now      time.Time
	utc      bool
	incident *state.Incident // the selected incident, or nil
}

// cached holds a pane's last drawing and what it was drawn from. Panes
// hold it by pointer: bubbletea calls View on a copy of the model, and a
// cache kept by value would be thrown away with that copy.
type cached struct {
	key   string
	out   string
	draws int
}

func (c *cached) get(key string, draw func() string) string {
	if c.key != key || c.out == "" {
		c.key, c.out = key, draw()
		c.draws++
	}
	return c.out
}

func (v *viewCtx) title(text string, w int, focused bool) string {
	st := v.styles.Title
	if focused {
		st = v.styles.TitleFocused
	}
	return st.Render(fit(" "+text, w))
}

// scroller keeps an offset within n lines shown h at a time.
type scroller struct{ offset int }

func (s *scroller) clamp(n, h int) {
	s.offset = max(0, min(s.offset, n-h))
}

// ----- Load -----

type loadPane struct {
	scroller
	cache *cached
}

func (p *loadPane) view(v *viewCtx, r Rect, focused bool) string {
	key := fmt.Sprint(v.st.HostsVersion, v.now.Unix(), r, focused, p.offset)
	return p.cache.get(key, func() string { return p.draw(v, r, focused) })
}

func (p *loadPane) draw(v *viewCtx, r Rect, focused bool) string {
	hosts := v.st.Hosts(v.now)
	var crit, warn, stale int
	for _, h := range hosts {
		switch {
		case h.Level == state.Crit:
			crit++
		case h.Stale(v.now):
			stale++
		case h.Level == state.Warn:
			warn++
		}
	}
	rows := r.H - 1
	p.clamp(len(hosts), rows)
	title := fmt.Sprintf("Load  %d hosts · %d crit · %d warn · %d stale", len(hosts), crit, warn, stale)
	if len(hosts) > rows {
		title += fmt.Sprintf("  [%d-%d]", p.offset+1, min(len(hosts), p.offset+rows))
	}
	lines := []string{v.title(title, r.W, focused)}
	if len(hosts) == 0 {
		lines = append(lines, v.styles.Dim.Render(fit(" waiting for load reports…", r.W)))
	}
	nameW := 6
	for _, h := range hosts {
		nameW = max(nameW, len([]rune(h.Name)))
	}
	sparkW := 12
	fixed := 1 + 7 + 1 + sparkW + 1 + 9 + 1 + 12 + 9
	if r.W-fixed < 8 {
		sparkW = max(4, sparkW-(8-(r.W-fixed)))
		fixed = 1 + 7 + 1 + sparkW + 1 + 9 + 1 + 12 + 9
	}
	nameW = min(nameW, max(8, r.W-fixed))
	for i := p.offset; i < len(hosts) && len(lines) <= rows; i++ {
		h := hosts[i]
		top := v.st.Thresholds.CritPerCPU * float64(max(h.CPUs, 1))
		for _, x := range h.History {
			top = max(top, x)
		}
		levelStyle, word := v.styles.OK, "✓ ok"
		switch h.Level {
		case state.Crit:
			levelStyle, word = v.styles.Crit, "✗ crit"
		case state.Warn:
			levelStyle, word = v.styles.Warn, "! warn"
		}
		if h.Stale(v.now) {
			levelStyle, word = v.styles.Stale, "? stale "+age(h.Age(v.now))
		}
		mem := ""
		if h.MemUsedPct != nil {
			mem = fmt.Sprintf("mem %3.0f%%", *h.MemUsedPct)
		}
		line := " " + fit(h.Name, nameW) + " " + fmt.Sprintf("%6.2f", h.Load1) + " " +
			levelStyle.Render(sparkline(h.History, sparkW, top)) + " " +
			fmt.Sprintf("%5.2f/cpu", h.PerCPU()) + " " + levelStyle.Render(fit(word, 12)) + " " + mem
		lines = append(lines, line)
	}
	return block(lines, r.W, r.H)
}

// ----- Services -----

type servicesPane struct {
	scroller
	filter string
	cache  *cached
}

func (p *servicesPane) visible(st *state.State) []*state.Service {
	all := st.Services()
	if p.filter == "" {
		return all
	}
	f := strings.ToLower(p.filter)
	var out []*state.Service
	for _, s := range all {
		if strings.Contains(strings.ToLower(s.Host+" "+s.Name+" "+s.State+" "+s.Detail), f) {
			out = append(out, s)
		}
	}
	return out
}

func (p *servicesPane) view(v *viewCtx, r Rect, focused bool) string {
	key := fmt.Sprint(v.st.ServicesVersion, v.now.Unix()/10, r, focused, p.offset, p.filter)
	return p.cache.get(key, func() string { return p.draw(v, r, focused) })
}

func stateWord(s *Styles, st string) (string, func(...string) string) {
	switch st {
	case protocol.StateOK:
		return "✓ ok", s.OK.Render
	case protocol.StateWarn:
		return "! warn", s.Warn.Render
	case protocol.StateDown:
		return "✗ down", s.Crit.Render
	case protocol.StateMaintenance:
		return "~ maint", s.Maint.Render
	}
	return "? " + st, s.Unknown.Render
}

func (p *servicesPane) draw(v *viewCtx, r Rect, focused bool) string {
	svcs := p.visible(v.st)
	rows := r.H - 1
	p.clamp(len(svcs), rows)
	var down, warn int
	for _, s := range svcs {
		switch s.State {
		case protocol.StateDown:
			down++
		case protocol.StateWarn:
			warn++
		}
	}
	title := fmt.Sprintf("Services  %d · %d down · %d warn", len(svcs), down, warn)
	if p.filter != "" {
		title += "  filter: " + p.filter
	}
	lines := []string{v.title(title, r.W, focused)}
	if len(svcs) == 0 {
		msg := " no services reported"
		if p.filter != "" {
			msg = " nothing matches the filter"
		}
		lines = append(lines, v.styles.Dim.Render(fit(msg, r.W)))
	}
	hostW, nameW := 6, 6
	for _, s := range svcs {
		hostW, nameW = max(hostW, len([]rune(s.Host))), max(nameW, len([]rune(s.Name)))
	}
	hostW, nameW = min(hostW, 14), min(nameW, 12)
	for i := p.offset; i < len(svcs) && len(lines) <= rows; i++ {
		s := svcs[i]
		word, paint := stateWord(v.styles, s.State)
		flap := ""
		if s.Flapping(v.now) {
			flap = v.styles.Warn.Render(" ~flapping")
		}
		line := " " + paint(fit(word, 9)) + " " + fit(s.Host, hostW) + " " + fit(s.Name, nameW) + " " +
			fmt.Sprintf("%6s", age(v.now.Sub(s.Since))) + flap + "  " + v.styles.Dim.Render(s.Detail)
		lines = append(lines, clip(line, r.W))
	}
	return block(lines, r.W, r.H)
}

// ----- Timeline -----

type timelinePane struct {
	top     int  // index of the first line shown
	follow  bool // keep the newest in view
	seenLen int  // entries when the reader scrolled away
	filter  string
	index   *filterIndex
	cache   *cached
}

// filterIndex is the timeline's matches for a filter, extended as entries
// arrive rather than rescanned; shared across copies of the model.
type filterIndex struct {
	key      string
	filtered []int // indexes into the incident's list
	scanned  int
}

func newTimelinePane() timelinePane {
	return timelinePane{follow: true, index: &filterIndex{}, cache: &cached{}}
}

func (p *timelinePane) source(v *viewCtx) (string, int) {
	id := ""
	if v.incident != nil {
		id = v.incident.ID
	}
	n := v.st.Timeline.Len(id)
	if p.filter == "" {
		return id, n
	}
	x := p.index
	key := fmt.Sprint(id, "\x00", p.filter, "\x00", v.st.Timeline.Dropped)
	if key != x.key || n < x.scanned {
		x.key, x.filtered, x.scanned = key, x.filtered[:0], 0
	}
	// Extend the filtered index with what arrived since: never rescan.
	f := strings.ToLower(p.filter)
	for i := x.scanned; i < n; i++ {
		e := v.st.Timeline.At(id, i)
		if strings.Contains(strings.ToLower(e.Actor+" "+e.Kind+" "+e.Text), f) {
			x.filtered = append(x.filtered, i)
		}
	}
	x.scanned = n
	return id, len(x.filtered)
}

func (p *timelinePane) view(v *viewCtx, r Rect, focused bool) string {
	id := ""
	if v.incident != nil {
		id = v.incident.ID
	}
	key := fmt.Sprint(v.st.TimelineVersion, id, r, focused, p.top, p.follow, p.filter, v.utc)
	return p.cache.get(key, func() string { return p.draw(v, r, focused) })
}

func (p *timelinePane) draw(v *viewCtx, r Rect, focused bool) string {
	id, n := p.source(v)
	rows := r.H - 1
	if p.follow {
		p.top = max(0, n-rows)
		p.seenLen = n
	}
	p.top = max(0, min(p.top, n-rows))
	title := "Timeline"
	if id != "" {
		title += " " + id
	} else {
		title += " (all)"
	}
	title += fmt.Sprintf("  %d", n)
	if p.filter != "" {
		title += "  filter: " + p.filter
	}
	if !p.follow && n > p.seenLen {
		title += fmt.Sprintf("  ↓ %d new (G)", n-p.seenLen)
	} else if !p.follow {
		title += "  paused (G to follow)"
	}
	lines := []string{v.title(title, r.W, focused)}
	if n == 0 {
		lines = append(lines, v.styles.Dim.Render(fit(" nothing journaled yet", r.W)))
	}
	zone := time.Local
	suffix := ""
	if v.utc {
		zone, suffix = time.UTC, "Z"
	}
	for i := p.top; i < n && len(lines) <= rows; i++ {
		idx := i
		if p.filter != "" {
			idx = p.index.filtered[i]
		}
		e := v.st.Timeline.At(id, idx)
		ts := e.At.In(zone).Format("15:04:05") + suffix
		kind := fit(e.Kind, 6)
		switch e.Kind {
		case protocol.EntryAlert:
			kind = v.styles.Crit.Render(kind)
		case protocol.EntryCheck:
			kind = v.styles.Done.Render(kind)
		case protocol.EntryStatus:
			kind = v.styles.Bold.Render(kind)
		case state.KindGap:
			kind = v.styles.Gap.Render(kind)
		}
		line := " " + v.styles.Dim.Render(ts) + " " + fit(e.Actor, 10) + " " + kind + " " + e.Text
		lines = append(lines, clip(line, r.W))
	}
	return block(lines, r.W, r.H)
}

// jump shows the first entry at or after at.
func (p *timelinePane) jump(v *viewCtx, at time.Time, rows int) bool {
	id, n := p.source(v)
	for i := 0; i < n; i++ {
		idx := i
		if p.filter != "" {
			idx = p.index.filtered[i]
		}
		if !v.st.Timeline.At(id, idx).At.Before(at) {
			p.top, p.follow, p.seenLen = i, false, n
			p.top = max(0, min(p.top, n-rows))
			p.follow = p.top >= n-rows
			return true
		}
	}
	return false
}

func (p *timelinePane) scroll(delta, n, rows int) {
	if p.follow {
		p.top = max(0, n-rows)
		p.seenLen = n
	}
	p.top = max(0, min(p.top+delta, n-rows))
	p.follow = p.top >= n-rows
	if !p.follow && delta < 0 && p.seenLen == 0 {
		p.seenLen = n
	}
}

// ----- Checklist -----

type checklistPane struct {
	cursor int
	offset int
	cache  *cached
}

func (p *checklistPane) view(v *viewCtx, r Rect, focused bool) string {
	id := ""
	if v.incident != nil {
		id = v.incident.ID
	}
	key := fmt.Sprint(v.st.IncidentsVersion, id, v.now.Unix(), r, focused, p.cursor, v.utc)
	return p.cache.get(key, func() string { return p.draw(v, r, focused) })
}

func (p *checklistPane) draw(v *viewCtx, r Rect, focused bool) string {
	in := v.incident
	if in == nil {
		return block([]string{v.title("Checklist", r.W, focused),
			v.styles.Dim.Render(fit(" no active incident — D declares one", r.W))}, r.W, r.H)
	}
	done, total := incident.Progress(&in.Incident)
	lines := []string{v.title(fmt.Sprintf("Checklist %s  %d/%d done  (%s runbook)", in.ID, done, total, in.Kind), r.W, focused)}
	items := in.Checklist
	p.cursor = max(0, min(p.cursor, len(items)-1))
	rows := r.H - 3 // title, and two lines for the selected step's detail
	if p.cursor < p.offset {
		p.offset = p.cursor
	}
	if p.cursor >= p.offset+rows {
		p.offset = p.cursor - rows + 1
	}
	p.offset = max(0, min(p.offset, len(items)-rows))
	zone := time.Local
	if v.utc {
		zone = time.UTC
	}
	for i := p.offset; i < len(items) && i < p.offset+rows; i++ {
		it := &items[i]
		lines = append(lines, p.itemLine(v, in, it, i == p.cursor && focused, r.W, zone))
	}
	for len(lines) < r.H-2 {
		lines = append(lines, "")
	}
	if len(items) > 0 {
		it := &items[p.cursor]
		detail := it.Hint
		if ref, ok := v.st.RefusedCheck(in.ID, it.ID); ok {
			detail = v.styles.Error.Render(fmt.Sprintf("refused (%s): %s", ref.Code, ref.Error))
		}
		lines = append(lines, v.styles.Dim.Render(clip(" "+strings.Repeat("─", r.W-2), r.W)))
		lines = append(lines, clip(" "+detail, r.W))
	}
	return block(lines, r.W, r.H)
}

func (p *checklistPane) itemLine(v *viewCtx, in *state.Incident, it *protocol.Item, selected bool, w int, zone *time.Location) string {
	st := incident.StepStatus(&in.Incident, it, v.now)
	box, boxStyle, status := "[ ]", func(s ...string) string { return strings.Join(s, "") }, ""
	paint := boxStyle
	switch st.State {
	case incident.StepWaiting:
		box, status, paint = "[-]", "after resolution", v.styles.Waiting.Render
	case incident.StepOpen:
		status = "to do"
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
	if pend := v.st.PendingCheck(in.ID, it.ID); pend != nil {
		box, boxStyle = "[…]", v.styles.Pending.Render
		status = v.styles.Pending.Render("sending…") + " " + status
	} else if _, refused := v.st.RefusedCheck(in.ID, it.ID); refused {
		box, boxStyle = "[✗]", v.styles.Error.Render
	}
	titleW := max(10, min(46, w-40))
	left := " " + boxStyle(box) + " " + fit(it.Title, titleW) + " "
	if selected {
		left = v.styles.Selected.Render(fit(" "+box+" "+it.Title, titleW+5)) + " "
	}
	return paint(clip(left+status, w))
}
