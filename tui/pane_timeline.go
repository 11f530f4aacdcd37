package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

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
	lines := []string{v.title(p.title(v, id, n), r.W, focused)}
	if n == 0 {
		lines = append(lines, v.styles.Dim.Render(fit(" nothing journaled yet", r.W)))
	}
	for i := p.top; i < n && len(lines) <= rows; i++ {
		line := mark(focused && i == p.sel) + entryLine(v, p.entry(v, id, i))
		lines = append(lines, clip(line, r.W))
	}
	return block(lines, r.W, r.H)
}

// title says whose timeline it is, how many entries it shows and through
// what filter, and whether it follows the newest.
func (p *timelinePane) title(v *viewCtx, id string, n int) string {
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
	if in := v.st.Incident(id); in != nil && in.Title != "" {
		title += "  · " + in.Title // last: a narrow pane cuts it first
	}
	return title
}

// entryLine is one entry as the timeline shows it, after its selection
// mark: time, actor, kind and text.
func entryLine(v *viewCtx, e *state.Entry) string {
	zone, suffix := v.zone()
	ts := e.At.In(zone).Format("15:04:05") + suffix
	text := e.Text
	if e.Evidence != nil {
		text = "▤ " + text + fmt.Sprintf(" (%d processes, %d outputs: enter)", len(e.Evidence.Processes), len(e.Evidence.Outputs))
	}
	if !e.LateAfter.IsZero() {
		// Made offline: its time is when it happened, its place when it
		// reached the hub.
		text += v.styles.Warn.Render(" ⟲ late: reached the hub after " + e.LateAfter.In(zone).Format("15:04:05") + suffix)
	}
	return v.styles.Dim.Render(ts) + " " + fit(cutMiddle(e.Actor, 10), 10) + " " + entryKind(v.styles, e) + " " + text
}

// entryKind is an entry's kind, eight columns wide, styled by what it
// means: an alert or a failed delivery stands out, a check reads as done.
func entryKind(styles *Styles, e *state.Entry) string {
	kind := fit(e.Kind, 8)
	switch e.Kind {
	case protocol.EntryAlert:
		return styles.Crit.Render(kind)
	case protocol.EntryCheck:
		return styles.Done.Render(kind)
	case protocol.EntryStatus:
		return styles.Bold.Render(kind)
	case protocol.EntryEvidence, protocol.EntryPublish:
		return styles.Maint.Render(kind)
	case protocol.EntryDelivery:
		switch e.Outcome {
		case protocol.DeliveryFailed:
			return styles.Crit.Render(kind)
		case protocol.DeliveryRetrying:
			return styles.Warn.Render(kind)
		}
	case state.KindGap:
		return styles.Gap.Render(kind)
	}
	return kind
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

// askOlder asks the hub for the page of the shown timeline before its
// oldest entry held, once while waiting; the answer arrives with the
// feed's batches. The request is sent by a command, never here.
func (m Model) askOlder() tea.Cmd {
	hf, ok := m.feed.(historyFeed)
	if !ok {
		return nil
	}
	id := ""
	if in := m.current(); in != nil {
		id = in.ID
	}
	var cmds []tea.Cmd
	for _, req := range m.st.AskOlder(id, m.now) {
		cmds = append(cmds, func() tea.Msg {
			hid, err := hf.History(req.Feed, req.Before, req.Limit, req.Incident)
			return historyAskedMsg{req: req, id: hid, err: err}
		})
	}
	return tea.Batch(cmds...)
}

// olderOnWheel asks for older entries when the wheel scrolls the timeline
// up past its oldest entry.
func (m Model) olderOnWheel(msg tea.MouseMsg) tea.Cmd {
	mouse := msg.Mouse()
	if _, wheel := msg.(tea.MouseWheelMsg); !wheel || mouse.Button != tea.MouseWheelUp || m.top() != nil || m.layout.TooSmall {
		return nil
	}
	if p, ok := m.paneAt(mouse.X, mouse.Y); ok && p == TimelinePane && m.tl.atOldest() {
		return m.askOlder()
	}
	return nil
}

// timelineKeys are the Timeline pane's own bindings.
type timelineKeys struct {
	JumpTo key.Binding
}

func defaultTimelineKeys() timelineKeys {
	return timelineKeys{JumpTo: binding([]string{"t"}, "t", "timeline: jump to")}
}

// ShortHelp is empty: the footer has no room for jump, the ? overlay
// shows it.
func (k timelineKeys) ShortHelp() []key.Binding  { return nil }
func (k timelineKeys) FullHelp() [][]key.Binding { return [][]key.Binding{{k.JumpTo}} }

// timelineHandlers say what the Timeline pane's bindings do.
var timelineHandlers = []keyHandler{
	{func(k *KeyMap) key.Binding { return k.JumpTo }, Model.jumpPrompt},
}
