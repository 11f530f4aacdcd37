package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/tui/state"
)

func (m Model) viewCtx() viewCtx {
	return viewCtx{st: m.st, styles: &m.styles, now: m.now, utc: m.opts.UTC, incident: m.current()}
}

// View draws the screen. Panes redraw only when what they show changed.
func (m Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	title := "vigil"
	if in := m.current(); in != nil && !in.Resolved() {
		title = fmt.Sprintf("vigil · %s %s %s", in.ID, in.Severity, in.Status)
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
	if overlay := m.overlay(); overlay != "" {
		bodyH := m.height - 2
		box := m.styles.Box.Render(overlay)
		body = lipgloss.Place(m.width, bodyH, lipgloss.Center, lipgloss.Center, box)
	} else if l.Tabs {
		r := l.Panes[m.focus]
		tabKey := fmt.Sprint(m.st.ServicesVersion, m.st.IncidentsVersion, m.selected, m.focus, m.width)
		body = m.chrome.tabs.get(tabKey, m.tabBar) + "\n" + m.paneView(&vc, m.focus, r, true)
	} else {
		g := m.grid
		changed := false
		for p := Pane(0); p < paneCount; p++ {
			v := m.paneView(&vc, p, l.Panes[p], p == m.focus)
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
	headKey := fmt.Sprint(m.st.IncidentsVersion, m.st.HealthVersion, m.st.HostsVersion, m.now.Unix(), m.selected, m.width)
	footer := m.footer
	if m.mode != modeNote && m.mode != modeFilter && m.mode != modeJump {
		n := m.st.Notice
		live := n.Text != "" && m.now.Sub(n.At) < noticeLife
		footKey := fmt.Sprint(live, n.Text, n.Error, m.width)
		footer = func() string { return m.chrome.footer.get(footKey, m.footer) }
	}
	return m.chrome.header.get(headKey, m.header) + "\n" + body + "\n" + footer()
}

// chromeCache holds the header and the tab bar, redrawn only when what
// they show changed (the header at most once a second, for its clocks).
type chromeCache struct {
	header, tabs, footer cached
}

// gridCache is the four panes joined, redone only when one changed.
type gridCache struct {
	views [paneCount]string
	out   string
}

func (m *Model) paneView(vc *viewCtx, p Pane, r Rect, focused bool) string {
	switch p {
	case LoadPane:
		return m.load.view(vc, r, focused)
	case ServicesPane:
		return m.svcs.view(vc, r, focused)
	case TimelinePane:
		return m.tl.view(vc, r, focused)
	}
	return m.cl.view(vc, r, focused)
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

func (m Model) tabBar() string {
	var parts []string
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
		if p == m.focus {
			parts = append(parts, m.styles.TabActive.Render(label))
		} else {
			parts = append(parts, m.styles.Tab.Render(label))
		}
	}
	return pad(strings.Join(parts, " "), m.width)
}

// header: incident, next communication due, feed health.
func (m Model) header() string {
	s := &m.styles
	var left []string
	if m.opts.Demo {
		left = append(left, s.Badge.Render(" DEMO "))
	}
	in := m.current()
	if in == nil {
		left = append(left, s.Header.Render("no active incident"))
	} else {
		sev := s.Bold
		if n := int(in.Severity[len(in.Severity)-1] - '0'); len(in.Severity) == 4 && n >= 1 && n <= 4 {
			sev = s.Sev[n]
		}
		status := in.Status
		ageText := age(m.now.Sub(in.OpenedAt.Time))
		if in.Resolved() && in.ResolvedAt != nil {
			ageText = "lasted " + age(in.ResolvedAt.Sub(in.OpenedAt.Time))
		}
		left = append(left, s.Header.Render(in.ID)+" "+sev.Render(in.Severity)+" "+status+" "+ageText)
		if open := len(m.st.OpenIncidents()); open > 1 {
			left = append(left, s.Dim.Render(fmt.Sprintf("(+%d open: i)", open-1)))
		}
		if it, st, ok := incident.NextDue(&in.Incident, m.now); ok {
			if st.State == incident.StepOverdue {
				left = append(left, s.Overdue.Render("OVERDUE "+it.ID+" +"+countdown(st.Left(m.now))))
			} else {
				left = append(left, "next: "+it.ID+" in "+countdown(st.Left(m.now)))
			}
		}
	}
	right := m.feedSummary()
	l := strings.Join(left, " │ ")
	space := m.width - ansi.StringWidth(l) - ansi.StringWidth(right) - 1
	if space < 1 {
		return pad(l, m.width)
	}
	return l + strings.Repeat(" ", space) + right + " "
}

func (m Model) feedSummary() string {
	s := &m.styles
	health := m.st.Health()
	if len(health) == 0 {
		return s.Dim.Render("no feeds")
	}
	up := 0
	var worst string
	for _, h := range health {
		switch h.State {
		case state.FeedSynced, state.FeedConnected:
			up++
		case state.FeedDisconnected:
			if worst == "" {
				worst = fmt.Sprintf("%s reconnecting in %s", h.Feed, age(h.RetryAt.Sub(m.now)))
			}
		case state.FeedRefused:
			worst = fmt.Sprintf("%s refused: f for why", h.Feed)
		case state.FeedConnecting:
			if worst == "" {
				worst = h.Feed + " connecting"
			}
		}
	}
	stale := m.st.StaleHosts(m.now)
	text := fmt.Sprintf("feeds %d/%d", up, len(health))
	st := s.OK
	if up < len(health) {
		st = s.Crit
		text = "✗ " + text
	} else {
		text = "✓ " + text
	}
	out := st.Render(text)
	if stale > 0 {
		out += " " + s.Stale.Render(fmt.Sprintf("%d stale", stale))
	}
	if worst != "" {
		out += " " + s.Warn.Render(worst)
	}
	return out
}

func (m Model) footer() string {
	n := m.st.Notice
	if n.Text != "" && m.now.Sub(n.At) < noticeLife {
		st := m.styles.Notice
		if n.Error {
			st = m.styles.Error
		}
		return pad(st.Render(" "+n.Text), m.width)
	}
	switch m.mode {
	case modeNote, modeFilter, modeJump:
		return pad(" "+m.input.View(), m.width)
	}
	return pad(" "+m.help.ShortHelpView(m.keys.ShortHelp()), m.width)
}

func (m Model) overlay() string {
	s := &m.styles
	switch m.mode {
	case modeHelp:
		h := m.help
		h.SetWidth(m.width - 8)
		return s.Title.Render("Keys") + "\n\n" + h.FullHelpView(m.keys.FullHelp()) + "\n\n" + s.Dim.Render("esc or ? closes")
	case modeConfirmQuit:
		n := max(m.feed.Pending(), m.st.PendingCount())
		return fmt.Sprintf("%d command(s) not yet acknowledged by the feed.\nThey stay on disk and are sent next time vigil starts.\n\nQuit anyway? y/n", n)
	case modeDeclare:
		return m.form.view(s)
	case modeStatus, modeIncidents:
		title := "Change status"
		if m.mode == modeIncidents {
			title = "Pick an incident"
		}
		lines := []string{s.Title.Render(title), ""}
		for i, c := range m.choices {
			if i == m.choice {
				lines = append(lines, s.Selected.Render("› "+c))
			} else {
				lines = append(lines, "  "+c)
			}
		}
		return strings.Join(append(lines, "", s.Dim.Render("↑/↓ choose · enter · esc")), "\n")
	case modeFeeds:
		lines := []string{s.Title.Render("Feeds"), ""}
		for _, h := range m.st.Health() {
			line := fmt.Sprintf("%-10s %-12s %s", h.Feed, h.State, h.URL)
			if h.Server != "" {
				line += "  server " + h.Server
			}
			lines = append(lines, line)
			if h.Reason != "" {
				lines = append(lines, "           why: "+h.Reason)
			}
			if !h.RetryAt.IsZero() && !h.State.Up() {
				lines = append(lines, "           next try in "+age(h.RetryAt.Sub(m.now)))
			}
			lines = append(lines, fmt.Sprintf("           journal %s seq %d · malformed %d · unknown %d · duplicates %d", h.Journal, h.Seq, h.Malformed, h.Unknown, h.Dupes))
		}
		for feed, since := range m.st.Gaps() {
			lines = append(lines, s.Gap.Render(fmt.Sprintf("gap: %s not seen live since %s", feed, since.Format("15:04:05"))))
		}
		return strings.Join(append(lines, "", s.Dim.Render("esc closes")), "\n")
	case modeDraft:
		var wrapped []string
		for _, line := range strings.Split(m.draft.text, "\n") {
			wrapped = append(wrapped, ansi.Wordwrap(state.Sanitize(line), max(20, m.width-10), ""))
		}
		maxLines := max(3, m.height-10)
		if len(wrapped) > maxLines {
			wrapped = append(wrapped[:maxLines], "…")
		}
		return s.Title.Render("Draft: "+m.draft.item) + "\n\n" + strings.Join(wrapped, "\n") + "\n\n" + s.Dim.Render("c copy to clipboard · w write to file · esc close")
	}
	return ""
}
