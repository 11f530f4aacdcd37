package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A dialog is one thing drawn over the panes that takes the keys while it
// is open: it owns its bindings, generates its help from them, and draws
// itself at any size it is given. The root keeps open dialogs on a stack,
// routes messages to the top one and carries out what it asks for (an
// action), so no mode is checked anywhere else.
type dialog interface {
	help.KeyMap
	// title is the box's first line.
	title() string
	// update handles a message and says what the root must do, if anything.
	update(msg tea.Msg) (action, tea.Cmd)
	// body draws at most h lines of at most w cells.
	body(v *viewCtx, w, h int) []string
}

// inlineDialog is a dialog drawn on the footer line instead of in a box (a
// prompt): it is never hidden by a notice.
type inlineDialog interface {
	dialog
	line(w int) string
}

// Actions: what a dialog asks the root to do.
type (
	action    any
	closeAct  struct{}
	quitAct   struct{}
	noticeAct struct {
		text string
		err  bool
	}
	sendAct struct {
		feed     string
		cmd      protocol.Command
		notice   string // shown once sent, if any
		closeAll bool   // the dialogs under the one that asked go too (a confirmation)
	}
	// pushAct opens another dialog over this one (a confirmation).
	pushAct struct {
		d       dialog
		replace bool // it takes the place of the dialog that asked
	}
	// filterAct sets the focused pane's filter; done closes the prompt.
	filterAct struct {
		text string
		done bool
	}
	jumpAct      struct{ value string }
	pickAct      struct{ id string }
	clipboardAct struct{ item, text string }
	saveAct      struct{ item, text string }
)

// scrollKeys move through a dialog taller than the screen.
type scrollKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
}

func newScrollKeys() scrollKeys {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return scrollKeys{
		Up:       b([]string{"up", "k"}, "↑/k", "scroll up"),
		Down:     b([]string{"down", "j"}, "↓/j", "scroll down"),
		PageUp:   b([]string{"pgup", "ctrl+u"}, "pgup", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+d", "space"}, "pgdn", "page down"),
		Top:      b([]string{"home", "g"}, "g", "top"),
		Bottom:   b([]string{"end", "G"}, "G", "bottom"),
	}
}

// scrollView shows h lines of a longer text. It remembers the last size it
// was drawn at, so keys page by what the reader saw.
type scrollView struct {
	keys      scrollKeys
	offset    int
	n, h      int
	scrollsAt bool // the last drawing did not fit
}

func newScrollView() scrollView { return scrollView{keys: newScrollKeys()} }

// handle moves on a scroll key and reports whether msg was one.
func (s *scrollView) handle(msg tea.KeyPressMsg) bool {
	page := max(1, s.h-2)
	switch {
	case key.Matches(msg, s.keys.Up):
		s.offset--
	case key.Matches(msg, s.keys.Down):
		s.offset++
	case key.Matches(msg, s.keys.PageUp):
		s.offset -= page
	case key.Matches(msg, s.keys.PageDown):
		s.offset += page
	case key.Matches(msg, s.keys.Top):
		s.offset = 0
	case key.Matches(msg, s.keys.Bottom):
		s.offset = 1 << 30
	default:
		return false
	}
	s.clamp()
	return true
}

// wheel scrolls by delta lines.
func (s *scrollView) wheel(delta int) {
	s.offset += delta
	s.clamp()
}

func (s *scrollView) clamp() {
	s.offset = max(0, min(s.offset, s.n-max(1, s.h-1)))
}

// window returns the lines to show in h lines: all of them when they fit,
// else a page and a line saying where the page is.
func (s *scrollView) window(lines []string, h int) []string {
	s.n, s.h = len(lines), h
	s.scrollsAt = len(lines) > h
	if !s.scrollsAt {
		s.offset = 0
		return lines
	}
	rows := max(1, h-1)
	s.offset = max(0, min(s.offset, len(lines)-rows))
	end := min(len(lines), s.offset+rows)
	out := append([]string(nil), lines[s.offset:end]...)
	return append(out, fmt.Sprintf("── %d-%d of %d ──", s.offset+1, end, len(lines)))
}

func (s *scrollView) help() []key.Binding {
	if !s.scrollsAt {
		return nil
	}
	return []key.Binding{s.keys.Up, s.keys.Down, s.keys.PageUp, s.keys.PageDown}
}

// wrap breaks plain text into lines of at most w cells.
func wrap(text string, w int) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		out = append(out, strings.Split(ansi.Wrap(line, max(1, w), " "), "\n")...)
	}
	return out
}

// ----- the overlay's drawing -----

// dialogBox draws the top dialog as a box that fits the screen: title,
// body, and its help generated from its bindings.
func (m *Model) dialogBox(d dialog, vc *viewCtx) string {
	w := max(10, m.width-4) // border and padding
	h := max(4, m.height-4) // header, footer, border
	bodyH := max(1, h-4)    // title, blank, blank, help
	lines := []string{m.styles.Title.Render(ansi.Truncate(d.title(), w, "…")), ""}
	for _, l := range d.body(vc, w, bodyH) {
		lines = append(lines, clip(l, w))
	}
	hm := m.help
	hm.SetWidth(w)
	lines = append(lines, "", hm.ShortHelpView(d.ShortHelp()))
	width := 0
	for _, l := range lines {
		width = max(width, ansi.StringWidth(l))
	}
	for i, l := range lines {
		lines[i] = pad(l, width)
	}
	return m.styles.Box.Render(strings.Join(lines, "\n"))
}
