package tui

import (
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// wheelLines is how far one wheel notch scrolls.
const wheelLines = 3

// wheeler is a dialog the wheel can scroll.
type wheeler interface{ wheel(delta int) }

func (s *scrollView) wheelBy(delta int) { s.wheel(delta) }

// mouse handles the wheel (scrolls what is under the pointer) and a left
// click (focuses the pane under it and selects the row), as htop and k9s do.
func (m Model) mouse(msg tea.MouseMsg) Model {
	mouse := msg.Mouse()
	delta := 0
	switch mouse.Button {
	case tea.MouseWheelUp:
		delta = -wheelLines
	case tea.MouseWheelDown:
		delta = wheelLines
	}
	if d := m.top(); d != nil {
		if w, ok := d.(wheeler); ok && delta != 0 {
			if _, isWheel := msg.(tea.MouseWheelMsg); isWheel {
				w.wheel(delta)
			}
		}
		return m
	}
	if m.layout.TooSmall {
		return m
	}
	switch msg.(type) {
	case tea.MouseWheelMsg:
		if delta == 0 {
			return m
		}
		if p, ok := m.paneAt(mouse.X, mouse.Y); ok {
			v := m.viewCtx()
			m.panes[p].move(&v, delta, m.rowsOf(p))
		}
	case tea.MouseClickMsg:
		if mouse.Button != tea.MouseLeft {
			return m
		}
		if m.layout.Tabs && mouse.Y == m.layout.TabBar.Y {
			x := 0
			for p, label := range m.tabLabels() {
				w := ansi.StringWidth(label)
				if mouse.X >= x && mouse.X < x+w {
					m.focus = Pane(p)
				}
				x += w + 1
			}
			return m
		}
		p, ok := m.paneAt(mouse.X, mouse.Y)
		if !ok {
			return m
		}
		m.focus = p
		if row := mouse.Y - m.layout.Panes[p].Y - 1; row >= 0 {
			v := m.viewCtx()
			m.panes[p].click(&v, row, m.rowsOf(p))
		}
	}
	return m
}

// rowsOf is how many rows of a pane show.
func (m Model) rowsOf(p Pane) int {
	rows := max(1, m.layout.Panes[p].H-1)
	if p == ChecklistPane {
		rows = max(1, rows-2)
	}
	return rows
}

// paneAt is the pane drawn at a cell.
func (m Model) paneAt(x, y int) (Pane, bool) {
	if m.layout.Tabs {
		r := m.layout.Panes[m.focus]
		return m.focus, y >= r.Y && y < r.Y+r.H
	}
	if m.focus == DeadlinesPane { // it has the whole body
		r := m.layout.Panes[DeadlinesPane]
		return DeadlinesPane, y >= r.Y && y < r.Y+r.H
	}
	for p := Pane(0); p < gridPanes; p++ {
		r := m.layout.Panes[p]
		if x >= r.X && x < r.X+r.W && y >= r.Y && y < r.Y+r.H {
			return p, true
		}
	}
	return 0, false
}
