package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// helpDialog shows every key, paged by column when the screen is narrow.
type helpDialog struct {
	groups [][]key.Binding
	page   int
	pages  int
	scroll scrollView
	keys   struct{ Next, Prev, Close key.Binding }
}

func newHelpDialog(groups [][]key.Binding) *helpDialog {
	d := &helpDialog{groups: groups, scroll: newScrollView()}
	d.keys.Next = key.NewBinding(key.WithKeys("right", "l", "tab"), key.WithHelp("→", "next page"))
	d.keys.Prev = key.NewBinding(key.WithKeys("left", "h", "shift+tab"), key.WithHelp("←", "previous page"))
	d.keys.Close = key.NewBinding(key.WithKeys("esc", "?", "q", "enter"), key.WithHelp("esc/?", "close"))
	return d
}

func (d *helpDialog) title() string {
	if d.pages > 1 {
		return fmt.Sprintf("Keys  (page %d of %d)", d.page+1, d.pages)
	}
	return "Keys"
}

func (d *helpDialog) ShortHelp() []key.Binding {
	out := []key.Binding{}
	if d.pages > 1 {
		out = append(out, d.keys.Next, d.keys.Prev)
	}
	return append(append(out, d.scroll.help()...), d.keys.Close)
}

func (d *helpDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *helpDialog) update(msg tea.Msg) (action, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, nil
	}
	switch {
	case key.Matches(k, d.keys.Close):
		return closeAct{}, nil
	case key.Matches(k, d.keys.Next):
		d.page = min(d.page+1, max(0, d.pages-1))
		d.scroll.offset = 0
	case key.Matches(k, d.keys.Prev):
		d.page = max(0, d.page-1)
		d.scroll.offset = 0
	case key.Matches(k, d.scroll.keys.PageDown) && d.pages > 1 && !d.scroll.canScrollDown():
		// pgdn and space read on: past the last line, the next page.
		d.page = min(d.page+1, d.pages-1)
		d.scroll.offset = 0
	case key.Matches(k, d.scroll.keys.PageUp) && d.pages > 1 && d.scroll.offset == 0:
		d.page = max(0, d.page-1)
	default:
		d.scroll.handle(k)
	}
	return nil, nil
}

// column draws one group of bindings as "key  description" lines.
func helpColumn(bs []key.Binding) []string {
	kw := 0
	for _, b := range bs {
		kw = max(kw, ansi.StringWidth(b.Help().Key))
	}
	var out []string
	for _, b := range bs {
		if b.Help().Key == "" {
			continue
		}
		out = append(out, fit(b.Help().Key, kw)+"  "+b.Help().Desc)
	}
	return out
}

func (d *helpDialog) body(v *viewCtx, w, h int) []string {
	const gap = 4
	cols := make([][]string, len(d.groups))
	widths := make([]int, len(d.groups))
	for i, g := range d.groups {
		cols[i] = helpColumn(g)
		for _, l := range cols[i] {
			widths[i] = max(widths[i], ansi.StringWidth(l))
		}
	}
	// Pack columns into pages that fit w.
	var pages [][]int
	used := 0
	for i := range cols {
		cw := min(widths[i], w)
		if len(pages) == 0 || used+gap+cw > w {
			pages = append(pages, []int{i})
			used = cw
			continue
		}
		pages[len(pages)-1] = append(pages[len(pages)-1], i)
		used += gap + cw
	}
	d.pages = len(pages)
	d.page = max(0, min(d.page, d.pages-1))
	if d.pages == 0 {
		return nil
	}
	var lines []string
	for row := 0; ; row++ {
		var b strings.Builder
		any := false
		for j, c := range pages[d.page] {
			cell := ""
			if row < len(cols[c]) {
				cell, any = cols[c][row], true
			}
			if j > 0 {
				b.WriteString(strings.Repeat(" ", gap))
			}
			b.WriteString(fit(cell, min(widths[c], w)))
		}
		if !any {
			break
		}
		lines = append(lines, strings.TrimRight(b.String(), " "))
	}
	return d.scroll.window(lines, h)
}

func (d *helpDialog) wheel(delta int) { d.scroll.wheelBy(delta) }

// canScrollDown says whether a page down would move: the last drawing did
// not fit and its last line is not yet shown.
func (s *scrollView) canScrollDown() bool {
	return s.scrollsAt && s.offset < s.n-max(1, s.h-1)
}
