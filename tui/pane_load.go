package tui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

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

// collect asks the selected host's agent for evidence now, through the
// feed the host came from.
func (m Model) collect() (Model, tea.Cmd) {
	if m.focus != LoadPane {
		return m.notice("collect works on a host: "+m.keyName(m.keys.Pane1)+" shows them", true), nil
	}
	v := m.viewCtx()
	h := m.load.selected(&v)
	if h == nil {
		return m, nil
	}
	return m.notice("asked "+h.Name+" for evidence: it shows in the timeline", false), m.send(h.Feed, protocol.Command{Op: protocol.OpCollect, Host: h.Name})
}

// loadKeys are the Load pane's own bindings.
type loadKeys struct {
	Collect key.Binding
}

func defaultLoadKeys() loadKeys {
	return loadKeys{Collect: binding([]string{"e"}, "e", "collect evidence")}
}

// enable turns collect on when a host is selected in the focused pane.
func (k *loadKeys) enable(onHost bool) { k.Collect.SetEnabled(onHost) }

func (k loadKeys) ShortHelp() []key.Binding  { return enabled(k.Collect) }
func (k loadKeys) FullHelp() [][]key.Binding { return [][]key.Binding{{k.Collect}} }

// loadHandlers say what the Load pane's bindings do.
var loadHandlers = []keyHandler{
	{func(k *KeyMap) key.Binding { return k.Collect }, Model.collect},
}
