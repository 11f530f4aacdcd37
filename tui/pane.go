package tui

import (
	"time"

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
