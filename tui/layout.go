package tui

// Pane identifies one of the four panes.
type Pane int

const (
	LoadPane Pane = iota
	ServicesPane
	TimelinePane
	ChecklistPane
	// DeadlinesPane is a tab on a small screen; in the grid, focused, it
	// takes the whole body in place of the four above.
	DeadlinesPane
	paneCount
)

// gridPanes are the panes the grid shows together.
const gridPanes = DeadlinesPane

func (p Pane) String() string {
	return [...]string{"Load", "Services", "Timeline", "Checklist", "Deadlines"}[p]
}

// Rect is a region of the screen.
type Rect struct{ X, Y, W, H int }

// Layout is where everything goes at one terminal size.
type Layout struct {
	TooSmall bool
	Tabs     bool // one pane at a time, with a tab bar
	Header   Rect
	TabBar   Rect
	Panes    [paneCount]Rect // in tab mode all four share the body
	Footer   Rect
}

// Minimum and grid sizes. Below the minimum nothing useful fits; from the
// grid size up all four panes show at once.
const (
	MinWidth, MinHeight   = 60, 12
	GridWidth, GridHeight = 120, 32
)

// ComputeLayout is a pure function of the terminal size.
func ComputeLayout(w, h int) Layout {
	var l Layout
	if w < MinWidth || h < MinHeight {
		l.TooSmall = true
		return l
	}
	l.Header = Rect{0, 0, w, 1}
	l.Footer = Rect{0, h - 1, w, 1}
	if w < GridWidth || h < GridHeight {
		l.Tabs = true
		l.TabBar = Rect{0, 1, w, 1}
		body := Rect{0, 2, w, h - 3}
		for i := range l.Panes {
			l.Panes[i] = body
		}
		return l
	}
	bodyH := h - 2
	topH := bodyH * 2 / 5
	botH := bodyH - topH
	leftW := (w - 1) / 2
	rightW := w - 1 - leftW
	l.Panes[LoadPane] = Rect{0, 1, leftW, topH}
	l.Panes[ServicesPane] = Rect{leftW + 1, 1, rightW, topH}
	l.Panes[TimelinePane] = Rect{0, 1 + topH, leftW, botH}
	l.Panes[ChecklistPane] = Rect{leftW + 1, 1 + topH, rightW, botH}
	l.Panes[DeadlinesPane] = Rect{0, 1, w, bodyH}
	return l
}
