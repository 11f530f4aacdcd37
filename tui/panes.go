package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

// A pane is one of the four lists. It draws itself (cached by what it
// shows), keeps its own selected row, and opens a detail view of that row.
type pane interface {
	view(v *viewCtx, r Rect, focused bool) string
	// move shifts the selected row by delta, rows being how many show.
	move(v *viewCtx, delta, rows int)
	// click selects the row-th row shown (0 is the first under the title).
	click(v *viewCtx, row, rows int)
	// open returns a dialog showing the selected row whole, or nil.
	open(v *viewCtx) dialog
}

// viewCtx is what every pane and dialog reads to draw itself.
type viewCtx struct {
	st       *state.State
	styles   *Styles
	keys     *KeyMap
	now      time.Time
	utc      bool
	actor    string
	incident *state.Incident // the selected incident, or nil
}

func (v *viewCtx) zone() (*time.Location, string) {
	if v.utc {
		return time.UTC, "Z"
	}
	return time.Local, ""
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

// cursor is a selected row in n rows shown h at a time from offset.
type cursor struct{ sel, offset int }

func (c *cursor) clamp(n, h int) {
	c.sel = max(0, min(c.sel, n-1))
	if c.sel < c.offset {
		c.offset = c.sel
	}
	if c.sel >= c.offset+h {
		c.offset = c.sel - h + 1
	}
	c.offset = max(0, min(c.offset, n-h))
}

// mark is the first cell of a row: › on the selected row of the focused pane.
func mark(selected bool) string {
	if selected {
		return "›"
	}
	return " "
}

// ----- Load -----

type loadPane struct {
	cursor
	name  string // the selected host: rows move as levels change, the selection follows the host
	cache *cached
}

func (p *loadPane) view(v *viewCtx, r Rect, focused bool) string {
	// The clock changes what this pane shows only through stale hosts
	// (their rank and their "stale 45s"): with none, a second passing
	// redraws nothing. A host going stale changes the count.
	clock := int64(0)
	if stale := v.st.StaleHosts(v.now); stale > 0 {
		clock = v.now.Unix()
	}
	key := fmt.Sprint(v.st.HostsVersion, v.st.HealthVersion, clock, r, focused, p.name, p.sel, p.offset)
	return p.cache.get(key, func() string { return p.draw(v, r, focused) })
}

// follow puts the cursor on the selected host's current row.
func (p *loadPane) follow(hosts []*state.Host) {
	for i, h := range hosts {
		if h.Name == p.name {
			p.sel = i
			return
		}
	}
}

func (p *loadPane) pick(hosts []*state.Host, rows int) {
	p.clamp(len(hosts), rows)
	if p.sel < len(hosts) {
		p.name = hosts[p.sel].Name
	}
}

func (p *loadPane) move(v *viewCtx, delta, rows int) {
	hosts := v.st.Hosts(v.now)
	p.follow(hosts)
	p.sel += delta
	p.pick(hosts, rows)
}

func (p *loadPane) click(v *viewCtx, row, rows int) {
	hosts := v.st.Hosts(v.now)
	p.sel = p.offset + row
	p.pick(hosts, rows)
}

func (p *loadPane) selected(v *viewCtx) *state.Host {
	hosts := v.st.Hosts(v.now)
	p.follow(hosts)
	if p.sel < 0 || p.sel >= len(hosts) {
		return nil
	}
	return hosts[p.sel]
}

func (p *loadPane) open(v *viewCtx) dialog {
	if h := p.selected(v); h != nil {
		return hostDetail(h.Name)
	}
	return nil
}

// loadColumns decides what fits beside the host names: the memory, the
// sparkline and the per-CPU figure go, in that order, before a name is
// cut, and a name is cut in its middle.
type loadColumns struct {
	name, spark int
	perCPU, mem bool
}

func fitLoadColumns(w, longest int) loadColumns {
	c := loadColumns{name: max(6, longest), spark: 12, perCPU: true, mem: true}
	const load1, word = 7, 12
	used := func() int {
		n := 1 + 1 + load1 + 1 + word
		if c.spark > 0 {
			n += c.spark + 1
		}
		if c.perCPU {
			n += 9 + 1
		}
		if c.mem {
			n += 8 + 1
		}
		return n
	}
	if w-used() < c.name {
		c.mem = false
	}
	for w-used() < c.name && c.spark > 4 {
		c.spark--
	}
	if w-used() < c.name {
		c.spark = 0
	}
	if w-used() < c.name {
		c.perCPU = false
	}
	c.name = max(8, min(c.name, w-used()))
	return c
}

func (p *loadPane) draw(v *viewCtx, r Rect, focused bool) string {
	hosts := v.st.Hosts(v.now)
	var crit, warn, stale int
	for _, h := range hosts {
		switch {
		case v.st.HostStale(h, v.now):
			stale++
		case h.Level == state.Crit:
			crit++
		case h.Level == state.Warn:
			warn++
		}
	}
	rows := r.H - 1
	p.follow(hosts)
	p.clamp(len(hosts), rows)
	title := fmt.Sprintf("Load  %d hosts · %d crit · %d warn · %d stale", len(hosts), crit, warn, stale)
	if len(hosts) > rows {
		title += fmt.Sprintf("  [%d-%d]", p.offset+1, min(len(hosts), p.offset+rows))
	}
	lines := []string{v.title(title, r.W, focused)}
	if len(hosts) == 0 {
		lines = append(lines, v.styles.Dim.Render(fit(" waiting for load reports…", r.W)))
	}
	longest := 0
	for _, h := range hosts {
		longest = max(longest, len([]rune(h.Name)))
	}
	cols := fitLoadColumns(r.W, longest)
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
		if v.st.HostStale(h, v.now) {
			levelStyle, word = v.styles.Stale, "? stale "+age(h.Age(v.now))
		}
		line := mark(focused && i == p.sel) + " " + fit(cutMiddle(h.Name, cols.name), cols.name) + " " + fmt.Sprintf("%6.2f", h.Load1) + " "
		if cols.spark > 0 {
			line += levelStyle.Render(sparkline(h.History, cols.spark, top)) + " "
		}
		if cols.perCPU {
			line += fmt.Sprintf("%5.2f/cpu", h.PerCPU()) + " "
		}
		line += levelStyle.Render(fit(word, 12))
		if cols.mem && h.MemUsedPct != nil {
			line += " " + fmt.Sprintf("mem %3.0f%%", *h.MemUsedPct)
		}
		lines = append(lines, clip(line, r.W))
	}
	return block(lines, r.W, r.H)
}

// ----- Services -----

type servicesPane struct {
	cursor
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
	key := fmt.Sprint(v.st.ServicesVersion, v.st.HostsVersion, v.st.HealthVersion, v.now.Unix()/10, r, focused, p.sel, p.offset, p.filter)
	return p.cache.get(key, func() string { return p.draw(v, r, focused) })
}

func (p *servicesPane) move(v *viewCtx, delta, rows int) {
	p.sel += delta
	p.clamp(len(p.visible(v.st)), rows)
}

func (p *servicesPane) click(v *viewCtx, row, rows int) {
	p.sel = p.offset + row
	p.clamp(len(p.visible(v.st)), rows)
}

func (p *servicesPane) open(v *viewCtx) dialog {
	svcs := p.visible(v.st)
	if p.sel < 0 || p.sel >= len(svcs) {
		return nil
	}
	return serviceDetail(svcs[p.sel].Host, svcs[p.sel].Name)
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
	var down, warn, stale int
	for _, s := range svcs {
		switch {
		case v.st.ServiceStale(s, v.now):
			stale++
		case s.State == protocol.StateDown:
			down++
		case s.State == protocol.StateWarn:
			warn++
		}
	}
	title := fmt.Sprintf("Services  %d · %d down · %d warn", len(svcs), down, warn)
	if stale > 0 {
		title += fmt.Sprintf(" · %d stale", stale)
	}
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
	// The detail goes first (it is clipped), then names are cut in the middle.
	nameW = min(nameW, 16)
	hostW = max(8, min(hostW, r.W-1-10-nameW-8-2))
	for i := p.offset; i < len(svcs) && len(lines) <= rows; i++ {
		s := svcs[i]
		word, paint := stateWord(v.styles, s.State)
		detail := s.Detail
		if v.st.ServiceStale(s, v.now) {
			word, paint = "? stale", v.styles.Stale.Render
			detail = strings.TrimSuffix("last said "+s.State+": "+detail, ": ")
		}
		flap := ""
		if s.Flapping(v.now) {
			flap = v.styles.Warn.Render(" ~flapping")
		}
		line := mark(focused && i == p.sel) + paint(fit(word, 9)) + " " + fit(cutMiddle(s.Host, hostW), hostW) + " " + fit(cutMiddle(s.Name, nameW), nameW) + " " +
			fmt.Sprintf("%6s", age(v.now.Sub(s.Since))) + flap + "  " + v.styles.Dim.Render(detail)
		lines = append(lines, clip(line, r.W))
	}
	return block(lines, r.W, r.H)
}

// ----- Timeline -----

type timelinePane struct {
	sel     int  // selected entry (index into what is shown)
	top     int  // index of the first line shown
	follow  bool // keep the newest in view, selected
	seenLen int  // entries when the reader scrolled away
	filter  string
	index   *filterIndex
	cache   *cached
	anchor  anchor
}

// anchor is the selected entry by key, so the selection stays on it when
// entries are merged in above it or evicted (indexes shift).
type anchor struct {
	key    int64
	shifts uint64
	set    bool
}

// filterIndex is the timeline's matches for a filter, extended as entries
// arrive rather than rescanned; shared across copies of the model.
type filterIndex struct {
	key      string
	filtered []int // indexes into the incident's list
	scanned  int
}

func newTimelinePane() *timelinePane {
	return &timelinePane{follow: true, index: &filterIndex{}, cache: &cached{}}
}

func (p *timelinePane) source(v *viewCtx) (string, int) {
	id := ""
	if v.incident != nil {
		id = v.incident.ID
	}
	n := v.st.Timeline.Len(id)
	if p.filter == "" {
		p.relocate(v, id, n)
		return id, n
	}
	x := p.index
	key := fmt.Sprint(id, "\x00", p.filter, "\x00", v.st.Timeline.Shifts)
	if key != x.key || n < x.scanned {
		x.key, x.filtered, x.scanned = key, x.filtered[:0], 0
	}
	// Extend the filtered index with what arrived since: never rescan.
	f := strings.ToLower(p.filter)
	for i := x.scanned; i < n; i++ {
		e := v.st.Timeline.At(id, i)
		if strings.Contains(strings.ToLower(e.Actor+" "+e.Kind+" "+e.Host+" "+e.Text), f) {
			x.filtered = append(x.filtered, i)
		}
	}
	x.scanned = n
	p.relocate(v, id, len(x.filtered))
	return id, len(x.filtered)
}

// relocate keeps the selection on the anchored entry after indexes
// shifted (a page of history merged in above it, an eviction).
func (p *timelinePane) relocate(v *viewCtx, id string, n int) {
	tl := v.st.Timeline
	if p.follow || !p.anchor.set || p.anchor.shifts == tl.Shifts {
		return
	}
	i := tl.IndexOf(id, p.anchor.key)
	if p.filter != "" {
		i = sort.SearchInts(p.index.filtered, i)
	}
	i = max(0, min(i, n-1))
	p.top = max(0, p.top+i-p.sel)
	p.seenLen += i - p.sel // what came in above is not new
	p.sel = i
	p.anchor.shifts = tl.Shifts
}

// remember anchors the selection after it moved.
func (p *timelinePane) remember(v *viewCtx, id string, n int) {
	if n == 0 || p.sel >= n {
		p.anchor.set = false
		return
	}
	p.anchor = anchor{key: p.entry(v, id, p.sel).Key(), shifts: v.st.Timeline.Shifts, set: true}
}

// atOldest reports whether, after a move, the reader is on the oldest
// entry held (or none is held).
func (p *timelinePane) atOldest() bool { return p.sel == 0 }

// entry returns the i-th entry shown.
func (p *timelinePane) entry(v *viewCtx, id string, i int) *state.Entry {
	if p.filter != "" {
		i = p.index.filtered[i]
	}
	return v.st.Timeline.At(id, i)
}

func (p *timelinePane) view(v *viewCtx, r Rect, focused bool) string {
	id := ""
	if v.incident != nil {
		id = v.incident.ID
	}
	key := fmt.Sprint(v.st.TimelineVersion, id, r, focused, p.sel, p.top, p.follow, p.filter, v.utc)
	return p.cache.get(key, func() string { return p.draw(v, r, focused) })
}

// settle applies follow and keeps the selection in view.
func (p *timelinePane) settle(n, rows int) {
	if p.follow {
		p.sel = n - 1
		p.top = max(0, n-rows)
		p.seenLen = n
	}
	p.sel = max(0, min(p.sel, n-1))
	if p.sel < p.top {
		p.top = p.sel
	}
	if p.sel >= p.top+rows {
		p.top = p.sel - rows + 1
	}
	p.top = max(0, min(p.top, n-rows))
}

func (p *timelinePane) draw(v *viewCtx, r Rect, focused bool) string {
	id, n := p.source(v)
	rows := r.H - 1
	p.settle(n, rows)
	p.remember(v, id, n)
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
	if v.st.LoadingOlder(id) {
		title += "  ↑ loading older…"
	}
	if !p.follow && n > p.seenLen {
		title += fmt.Sprintf("  ↓ %d new (%s)", n-p.seenLen, v.keys.Bottom.Help().Key)
	} else if !p.follow {
		title += "  paused (" + v.keys.Bottom.Help().Key + " to follow)"
	}
	lines := []string{v.title(title, r.W, focused)}
	if n == 0 {
		lines = append(lines, v.styles.Dim.Render(fit(" nothing journaled yet", r.W)))
	}
	zone, suffix := v.zone()
	for i := p.top; i < n && len(lines) <= rows; i++ {
		e := p.entry(v, id, i)
		ts := e.At.In(zone).Format("15:04:05") + suffix
		kind := fit(e.Kind, 8)
		switch e.Kind {
		case protocol.EntryAlert:
			kind = v.styles.Crit.Render(kind)
		case protocol.EntryCheck:
			kind = v.styles.Done.Render(kind)
		case protocol.EntryStatus:
			kind = v.styles.Bold.Render(kind)
		case protocol.EntryEvidence, protocol.EntryPublish:
			kind = v.styles.Maint.Render(kind)
		case protocol.EntryDelivery:
			if e.Outcome == protocol.DeliveryFailed {
				kind = v.styles.Crit.Render(kind)
			} else if e.Outcome == protocol.DeliveryRetrying {
				kind = v.styles.Warn.Render(kind)
			}
		case state.KindGap:
			kind = v.styles.Gap.Render(kind)
		}
		text := e.Text
		if e.Evidence != nil {
			text = "▤ " + text + fmt.Sprintf(" (%d processes, %d outputs: enter)", len(e.Evidence.Processes), len(e.Evidence.Outputs))
		}
		line := mark(focused && i == p.sel) + v.styles.Dim.Render(ts) + " " + fit(cutMiddle(e.Actor, 10), 10) + " " + kind + " " + text
		lines = append(lines, clip(line, r.W))
	}
	return block(lines, r.W, r.H)
}

func (p *timelinePane) move(v *viewCtx, delta, rows int) {
	id, n := p.source(v)
	if p.follow {
		p.sel, p.top, p.seenLen = n-1, max(0, n-rows), n
	}
	p.sel = max(0, min(p.sel+delta, n-1))
	p.follow = p.sel >= n-1
	p.settle(n, rows)
	p.remember(v, id, n)
}

func (p *timelinePane) click(v *viewCtx, row, rows int) {
	id, n := p.source(v)
	if p.follow {
		p.top, p.seenLen = max(0, n-rows), n
	}
	p.sel = max(0, min(p.top+row, n-1))
	p.follow = false
	p.settle(n, rows)
	p.remember(v, id, n)
}

func (p *timelinePane) open(v *viewCtx) dialog {
	id, n := p.source(v)
	if n == 0 {
		return nil
	}
	sel := p.sel
	if p.follow {
		sel = n - 1
	}
	e := *p.entry(v, id, max(0, min(sel, n-1)))
	return entryDetail(e)
}

// jump selects the first entry at or after at.
func (p *timelinePane) jump(v *viewCtx, at time.Time, rows int) bool {
	id, n := p.source(v)
	for i := 0; i < n; i++ {
		if !p.entry(v, id, i).At.Before(at) {
			p.sel, p.top, p.seenLen = i, i, n
			p.follow = i >= n-1
			p.top = max(0, min(p.top, n-rows))
			p.remember(v, id, n)
			return true
		}
	}
	return false
}

// ----- Checklist -----

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
