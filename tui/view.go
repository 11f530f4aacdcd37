package tui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

// View draws the screen. Panes redraw only when what they show changed.
func (m Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	if !m.opts.NoMouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	title := "vigil"
	if in := m.current(); in != nil && !in.Resolved() {
		title = fmt.Sprintf("vigil · %s %s %s", in.ID, in.Severity, incident.ShownStatus(&in.Incident, m.now))
	}
	v.WindowTitle = title
	return v
}

// Render is the screen as text (View without terminal settings), for tests.
func (m *Model) Render() string {
	l := m.layout
	if l.TooSmall {
		msg := fmt.Sprintf("terminal too small: vigil needs at least %dx%d, this is %dx%d", MinWidth, MinHeight, m.width, m.height)
		return lipgloss.Place(m.width, m.height, lipgloss.Center, lipgloss.Center, lipgloss.NewStyle().Width(max(10, m.width-2)).Render(msg))
	}
	vc := m.viewCtx()
	var body string
	d := m.top()
	_, inline := d.(inlineDialog)
	if d != nil && !inline {
		body = lipgloss.Place(m.width, m.height-2, lipgloss.Center, lipgloss.Center, m.dialogBox(d, &vc))
		body = block(strings.Split(body, "\n"), m.width, m.height-2)
	} else if l.Tabs {
		r := l.Panes[m.focus]
		tabKey := fmt.Sprint(m.st.ServicesVersion, m.st.IncidentsVersion, m.selected, m.focus, m.width)
		body = m.chrome.tabs.get(tabKey, m.tabBar) + "\n" + m.panes[m.focus].view(&vc, r, true)
	} else if m.focus == DeadlinesPane {
		body = m.panes[DeadlinesPane].view(&vc, l.Panes[DeadlinesPane], true)
	} else {
		g := m.grid
		changed := false
		for p := Pane(0); p < gridPanes; p++ {
			v := m.panes[p].view(&vc, l.Panes[p], p == m.focus)
			changed = changed || v != g.views[p]
			g.views[p] = v
		}
		if changed || g.out == "" {
			top := joinColumns(g.views[LoadPane], g.views[ServicesPane], m.styles.Dim.Render("│"))
			bottom := joinColumns(g.views[TimelinePane], g.views[ChecklistPane], m.styles.Dim.Render("│"))
			g.out = top + "\n" + bottom
		}
		body = g.out
	}
	headKey := fmt.Sprint(m.st.IncidentsVersion, m.st.HealthVersion, m.st.HostsVersion, m.st.PresenceVersion, m.now.Unix(), m.selected, m.width, m.opts.Demo, m.rewindKey())
	return m.chrome.header.get(headKey, m.header) + "\n" + body + "\n" + m.footerLine(d)
}

// footerLine is an open prompt (always: a notice never hides it), else a
// live notice, else the help of what has the keys.
func (m *Model) footerLine(d dialog) string {
	if p, ok := d.(inlineDialog); ok {
		return p.line(m.width)
	}
	n := m.st.Notice
	live := n.Text != "" && m.now.Sub(n.At) < noticeLife
	if live {
		st := m.styles.Notice
		if n.Error {
			st = m.styles.Error
		}
		return pad(st.Render(" "+n.Text), m.width)
	}
	if d != nil {
		return pad(" "+m.help.ShortHelpView(d.ShortHelp()), m.width)
	}
	footKey := fmt.Sprint(m.width, m.keys.Tick.Enabled(), m.keys.Claim.Enabled(), m.keys.Collect.Enabled())
	return m.chrome.footer.get(footKey, func() string { return pad(" "+m.help.ShortHelpView(m.keys.ShortHelp()), m.width) })
}

// chromeCache holds the header, the tab bar and the footer, redrawn only
// when what they show changed (the header at most once a second).
type chromeCache struct {
	header, tabs, footer cached
}

// gridCache is the four panes joined, redone only when one changed.
type gridCache struct {
	views [paneCount]string
	out   string
}

func joinColumns(left, right, sep string) string {
	l, r := strings.Split(left, "\n"), strings.Split(right, "\n")
	var b strings.Builder
	for i := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l[i])
		b.WriteString(sep)
		if i < len(r) {
			b.WriteString(r[i])
		}
	}
	return b.String()
}

// tabLabels are the tab bar's labels, plain.
func (m Model) tabLabels() []string {
	labels := make([]string, paneCount)
	for p := Pane(0); p < paneCount; p++ {
		label := fmt.Sprintf(" %d %s ", p+1, p)
		switch p {
		case ServicesPane:
			down := 0
			for _, s := range m.st.Services() {
				if s.State == "down" {
					down++
				}
			}
			if down > 0 {
				label = fmt.Sprintf(" %d %s ✗%d ", p+1, p, down)
			}
		case ChecklistPane:
			if in := m.current(); in != nil {
				done, total := incident.Progress(&in.Incident)
				label = fmt.Sprintf(" %d %s %d/%d ", p+1, p, done, total)
			}
		}
		labels[p] = label
	}
	return labels
}

func (m Model) tabBar() string {
	var parts []string
	for p, label := range m.tabLabels() {
		if Pane(p) == m.focus {
			parts = append(parts, m.styles.TabActive.Render(label))
		} else {
			parts = append(parts, m.styles.Tab.Render(label))
		}
	}
	return pad(strings.Join(parts, " "), m.width)
}

// segment is one part of the header. Its variants go from the fullest to
// the shortest; the header shortens the least important segment first,
// and a segment whose last variant is not empty is never dropped.
type segment struct {
	variants []string
	prio     int // higher survives longer
	right    bool
	at       int // the variant in use
}

// Header priorities: decoration goes first; feed trouble and an overdue
// step are never dropped.
const (
	prioDecoration = iota
	prioOtherOpen
	prioPresence
	prioCommander
	prioTitle
	prioIncident // shortens to its id and severity, never goes
	prioNextDue
	prioTrouble
)

// titleWidth is the narrowest terminal whose header names the incident's
// title and commander: below it the id, status and next step fill it.
const titleWidth = 100

func (s *segment) text() string { return s.variants[s.at] }

// fitSegments shortens segments, least important first, until the line
// fits w, and returns it padded to w.
func fitSegments(segs []segment, w int) string {
	join := func() string {
		var left, right []string
		for i := range segs {
			t := segs[i].text()
			if t == "" {
				continue
			}
			if segs[i].right {
				right = append(right, t)
			} else {
				left = append(left, t)
			}
		}
		l, r := strings.Join(left, " │ "), strings.Join(right, " ")
		space := w - ansi.StringWidth(l) - ansi.StringWidth(r) - 1
		if r == "" {
			space = w - ansi.StringWidth(l)
		}
		if space < 1 {
			return ""
		}
		if r == "" {
			return l + strings.Repeat(" ", space)
		}
		return l + strings.Repeat(" ", space) + r + " "
	}
	for {
		if line := join(); line != "" {
			return line
		}
		best := -1
		for i := range segs {
			if segs[i].at < len(segs[i].variants)-1 && (best < 0 || segs[i].prio < segs[best].prio) {
				best = i
			}
		}
		if best < 0 {
			// Nothing left to shorten: the most important parts first.
			var parts []string
			for p := prioTrouble; p >= 0; p-- {
				for i := range segs {
					if segs[i].prio == p && segs[i].text() != "" {
						parts = append(parts, segs[i].text())
					}
				}
			}
			return pad(strings.Join(parts, " "), w)
		}
		segs[best].at++
	}
}

// header: incident, next communication due, who is watching, feed health.
func (m Model) header() string {
	s := m.styles
	var segs []segment
	if m.opts.Demo {
		// Never dropped: a newcomer at 80x24 must tell the demo from a hub.
		segs = append(segs, segment{variants: []string{s.Badge.Render(" DEMO ")}, prio: prioTrouble})
	}
	if seg, ok := m.rewindHeader(); ok {
		segs = append(segs, seg)
	}
	in := m.current()
	if in == nil {
		segs = append(segs, segment{variants: []string{s.Header.Render("no active incident"), s.Header.Render("no incident")}, prio: prioIncident})
	} else {
		sev := s.Bold
		if n := severityNumber(in.Severity); n > 0 {
			sev = s.Sev[n]
		}
		ageText := age(m.now.Sub(in.OpenedAt.Time))
		if in.Resolved() && in.ResolvedAt != nil {
			ageText = "lasted " + age(in.ResolvedAt.Sub(in.OpenedAt.Time))
		}
		id := s.Header.Render(in.ID)
		if in.Severity != "" {
			id += " " + sev.Render(in.Severity)
		}
		status := incident.ShownStatus(&in.Incident, m.now)
		segs = append(segs, segment{variants: []string{id + " " + status + " " + ageText, id + " " + status, id}, prio: prioIncident})
		if m.width >= titleWidth {
			segs = append(segs, titleSegments(in, s)...)
		}
		if open := len(m.st.OpenIncidents()); open > 1 && !in.Resolved() || open > 0 && in.Resolved() {
			others := open
			if !in.Resolved() {
				others--
			}
			segs = append(segs, segment{variants: []string{s.Dim.Render(fmt.Sprintf("(+%d open: %s)", others, m.keys.Incidents.Help().Key)), s.Dim.Render(fmt.Sprintf("+%d", others)), ""}, prio: prioOtherOpen})
		}
		if it, st, ok := state.NextDue(in, m.now); ok {
			left := state.Countdown(st.Left(m.now))
			if st.State == incident.StepOverdue {
				// At the narrowest, the step's id goes before the DEMO badge.
				segs = append(segs, segment{variants: []string{s.Overdue.Render("OVERDUE " + it.ID + " +" + left), s.Overdue.Render("OVERDUE +" + left)}, prio: prioTrouble})
			} else {
				segs = append(segs, segment{variants: []string{"next: " + it.ID + " in " + left, it.ID + " " + left, ""}, prio: prioNextDue})
			}
		}
	}
	segs = append(segs, m.pagingSegments()...)
	segs = append(segs, m.overrunSegments()...)
	if ws := m.st.Watchers(); len(ws) > 0 {
		segs = append(segs, segment{variants: presenceVariants(ws), prio: prioPresence})
	}
	segs = append(segs, m.feedSegments()...)
	return fitSegments(segs, m.width)
}

// severityNumber is 1 for SEV1 … 4 for SEV4, 0 for anything else a feed
// may send.
func severityNumber(sev string) int {
	if len(sev) == 4 && strings.HasPrefix(sev, "SEV") && sev[3] >= '1' && sev[3] <= '4' {
		return int(sev[3] - '0')
	}
	return 0
}

// presenceVariants: "3 watching: alice, bob, carol", then fewer names.
func presenceVariants(ws []protocol.Watcher) []string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.Actor
	}
	n := len(ws)
	out := []string{fmt.Sprintf("%d watching: %s", n, strings.Join(names, ", "))}
	for k := len(names) - 1; k >= 1; k-- {
		out = append(out, fmt.Sprintf("%d watching: %s, …", n, strings.Join(names[:k], ", ")))
	}
	return append(out, fmt.Sprintf("%d watching", n), "")
}

// feedSegments: the feeds' health. All well is decoration; a feed down,
// refused or connecting, and hosts gone stale, are trouble and stay.
func (m Model) feedSegments() []segment {
	s := m.styles
	health := m.st.Health()
	if len(health) == 0 {
		return []segment{{variants: []string{s.Dim.Render("no feeds"), ""}, prio: prioDecoration, right: true}}
	}
	up := 0
	var worst, short string
	for _, h := range health {
		switch h.State {
		case state.FeedSynced, state.FeedConnected:
			up++
		case state.FeedDisconnected:
			if worst == "" {
				worst = fmt.Sprintf("%s reconnecting in %s", h.Feed, age(h.RetryAt.Sub(m.now)))
				short = h.Feed + " down"
			}
		case state.FeedRefused:
			worst = fmt.Sprintf("%s refused: %s for why", h.Feed, m.keys.FeedDetail.Help().Key)
			short = h.Feed + " refused"
		case state.FeedConnecting:
			if worst == "" {
				worst = h.Feed + " connecting"
				short = worst
			}
		}
	}
	var segs []segment
	count := fmt.Sprintf("feeds %d/%d", up, len(health))
	if up == len(health) {
		segs = append(segs, segment{variants: []string{s.OK.Render("✓ " + count), s.OK.Render("✓"), ""}, prio: prioDecoration, right: true})
	} else {
		v := []string{s.Crit.Render("✗ " + count)}
		if worst != "" {
			v = []string{s.Crit.Render("✗ "+count) + " " + s.Warn.Render(worst), s.Crit.Render("✗ "+count) + " " + s.Warn.Render(short), s.Crit.Render("✗ " + short), s.Crit.Render("✗ " + count)}
		}
		segs = append(segs, segment{variants: v, prio: prioTrouble, right: true})
	}
	if stale := m.st.StaleHosts(m.now); stale > 0 {
		segs = append([]segment{{variants: []string{s.Stale.Render(fmt.Sprintf("%d stale", stale))}, prio: prioTrouble, right: true}}, segs...)
	}
	return segs
}

// titleSegments are the incident's title, cut shorter and shorter before
// it goes, and its commander: what is happening and who leads it.
func titleSegments(in *state.Incident, s *Styles) []segment {
	var segs []segment
	if t := strings.TrimSpace(in.Title); t != "" {
		v := []string{s.Bold.Render(t)}
		for _, n := range []int{48, 32, 20} {
			if ansi.StringWidth(t) > n {
				v = append(v, s.Bold.Render(ansi.Truncate(t, n, "…")))
			}
		}
		segs = append(segs, segment{variants: append(v, ""), prio: prioTitle})
	}
	if in.Commander != "" {
		segs = append(segs, segment{variants: []string{"commander " + in.Commander, "cmdr " + in.Commander, ""}, prio: prioCommander})
	}
	return segs
}

// noticeLife is how long a footer notice stays before the help returns.
const noticeLife = 8 * time.Second
