package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// ----- help: every key, paged by column when the screen is narrow -----

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

// ----- prompt: one line of input on the footer (note, filter, jump) -----

type promptDialog struct {
	label  string
	input  textinput.Model
	live   bool // filter: every keystroke applies
	submit func(value string) action
	keys   struct{ Submit, Cancel key.Binding }
}

func newPrompt(prompt, placeholder, value string, width int, live bool, submit func(string) action) (*promptDialog, tea.Cmd) {
	d := &promptDialog{label: strings.TrimSuffix(strings.TrimSpace(prompt), ">"), live: live, submit: submit}
	d.keys.Submit = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "done"))
	d.keys.Cancel = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))
	if live {
		d.keys.Cancel.SetHelp("esc", "clear")
	}
	hintW := ansi.StringWidth(help.New().ShortHelpView(d.ShortHelp())) + 4
	d.input = textinput.New()
	d.input.Prompt = prompt
	d.input.Placeholder = placeholder
	d.input.SetWidth(max(20, width-len(prompt)-2-hintW))
	d.input.SetValue(value)
	d.input.CursorEnd()
	return d, d.input.Focus()
}

func (d *promptDialog) title() string                    { return d.label }
func (d *promptDialog) ShortHelp() []key.Binding         { return []key.Binding{d.keys.Submit, d.keys.Cancel} }
func (d *promptDialog) FullHelp() [][]key.Binding        { return [][]key.Binding{d.ShortHelp()} }
func (d *promptDialog) body(*viewCtx, int, int) []string { return nil }

// line is the input, then the prompt's help where it fits.
func (d *promptDialog) line(w int) string {
	in := " " + d.input.View()
	h := help.New()
	h.SetWidth(max(0, w-ansi.StringWidth(in)-4))
	if hint := h.ShortHelpView(d.ShortHelp()); hint != "" && ansi.StringWidth(in)+4+ansi.StringWidth(hint) <= w {
		return pad(in+"    "+hint, w)
	}
	return pad(in, w)
}

func (d *promptDialog) update(msg tea.Msg) (action, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, d.keys.Cancel):
			if d.live {
				return filterAct{text: "", done: true}, nil
			}
			return closeAct{}, nil
		case key.Matches(k, d.keys.Submit):
			return d.submit(strings.TrimSpace(d.input.Value())), nil
		}
	}
	before := d.input.Value()
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(msg)
	if d.live && d.input.Value() != before {
		return filterAct{text: strings.TrimSpace(d.input.Value())}, cmd
	}
	return nil, cmd
}

// ----- picker: choose one of a few (status, incident) -----

type pickerDialog struct {
	heading string
	choices []string
	ids     []string
	cursor  int
	scroll  scrollView
	pick    func(id string) action
	keys    struct{ Up, Down, Pick, Close key.Binding }
}

func newPicker(heading string, choices, ids []string, cursor int, pick func(string) action) *pickerDialog {
	d := &pickerDialog{heading: heading, choices: choices, ids: ids, cursor: cursor, pick: pick, scroll: newScrollView()}
	d.keys.Up = key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up"))
	d.keys.Down = key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down"))
	d.keys.Pick = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose"))
	d.keys.Close = key.NewBinding(key.WithKeys("esc", "q"), key.WithHelp("esc", "cancel"))
	return d
}

func (d *pickerDialog) title() string { return d.heading }
func (d *pickerDialog) ShortHelp() []key.Binding {
	return []key.Binding{d.keys.Up, d.keys.Down, d.keys.Pick, d.keys.Close}
}
func (d *pickerDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *pickerDialog) update(msg tea.Msg) (action, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, nil
	}
	switch {
	case key.Matches(k, d.keys.Close):
		return closeAct{}, nil
	case key.Matches(k, d.keys.Up):
		d.cursor = max(0, d.cursor-1)
	case key.Matches(k, d.keys.Down):
		d.cursor = min(len(d.choices)-1, d.cursor+1)
	case key.Matches(k, d.keys.Pick):
		if len(d.ids) == 0 {
			return closeAct{}, nil
		}
		return d.pick(d.ids[d.cursor]), nil
	}
	return nil, nil
}

func (d *pickerDialog) body(v *viewCtx, w, h int) []string {
	lines := make([]string, len(d.choices))
	for i, c := range d.choices {
		if i == d.cursor {
			lines[i] = v.styles.Selected.Render(fit("› "+c, w))
		} else {
			lines[i] = "  " + c
		}
	}
	// Keep the cursor in view.
	rows := max(1, h-1)
	if d.cursor < d.scroll.offset {
		d.scroll.offset = d.cursor
	} else if d.cursor >= d.scroll.offset+rows {
		d.scroll.offset = d.cursor - rows + 1
	}
	return d.scroll.window(lines, h)
}

// ----- text: something to read (feed details, drafts, details of a row) -----

type textDialog struct {
	heading string
	draw    func(v *viewCtx, w int) []string
	lines   []string // the last drawing, and what it was drawn from
	drawKey string
	scroll  scrollView
	extra   []key.Binding
	onKey   func(k tea.KeyPressMsg) action // the extra bindings' actions
	keys    struct{ Close key.Binding }
}

func newTextDialog(heading string, draw func(v *viewCtx, w int) []string) *textDialog {
	d := &textDialog{heading: heading, draw: draw, scroll: newScrollView()}
	d.keys.Close = key.NewBinding(key.WithKeys("esc", "q", "enter"), key.WithHelp("esc", "close"))
	return d
}

func (d *textDialog) title() string { return d.heading }
func (d *textDialog) ShortHelp() []key.Binding {
	return append(append(append([]key.Binding{}, d.scroll.help()...), d.extra...), d.keys.Close)
}
func (d *textDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *textDialog) update(msg tea.Msg) (action, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, nil
	}
	if d.onKey != nil {
		if a := d.onKey(k); a != nil {
			return a, nil
		}
	}
	if key.Matches(k, d.keys.Close) {
		return closeAct{}, nil
	}
	d.scroll.handle(k)
	return nil, nil
}

// body draws again only when the state it reads or the width changed: an
// open detail view costs nothing on a frame that changed nothing.
func (d *textDialog) body(v *viewCtx, w, h int) []string {
	st := v.st
	key := fmt.Sprint(w, v.utc, v.now.Unix(), st.HostsVersion, st.ServicesVersion, st.IncidentsVersion, st.TimelineVersion, st.HealthVersion)
	if key != d.drawKey || d.lines == nil {
		d.lines, d.drawKey = d.draw(v, w), key
	}
	return d.scroll.window(d.lines, h)
}

// ----- confirm: a question, y or n -----

type confirmDialog struct {
	heading  string
	question func(v *viewCtx) string
	yes      action
	keys     struct{ Yes, No key.Binding }
}

func newConfirm(heading string, question func(v *viewCtx) string, yes action) *confirmDialog {
	d := &confirmDialog{heading: heading, question: question, yes: yes}
	d.keys.Yes = key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes"))
	d.keys.No = key.NewBinding(key.WithKeys("n", "N", "esc", "q"), key.WithHelp("n/esc", "no"))
	return d
}

func (d *confirmDialog) title() string             { return d.heading }
func (d *confirmDialog) ShortHelp() []key.Binding  { return []key.Binding{d.keys.Yes, d.keys.No} }
func (d *confirmDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *confirmDialog) update(msg tea.Msg) (action, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, nil
	}
	switch {
	case key.Matches(k, d.keys.Yes):
		return d.yes, nil
	case key.Matches(k, d.keys.No):
		return closeAct{}, nil
	}
	return nil, nil
}

func (d *confirmDialog) body(v *viewCtx, w, h int) []string {
	return wrap(d.question(v), w)
}

// ----- forms: declare, and edit / hand off -----

// formField is one line of a form: text input, a choice, or a set to tick.
type formField struct {
	label   string
	input   *textinput.Model // nil for a choice or a set
	options []string
	choice  int // the option chosen; in a set, the one under the cursor
	// picked makes the options a set: any number ticked (ids, parallel
	// to options, are what is sent).
	picked []bool
	ids    []string
	shown  func() bool // nil: always
}

func (f *formField) isSet() bool { return f.picked != nil }

// setField is a set of options to tick, several allowed.
func setField(label string, names, ids []string, ticked func(id string) bool) formField {
	f := formField{label: label, options: names, ids: ids, picked: make([]bool, len(ids))}
	for i, id := range ids {
		f.picked[i] = ticked(id)
	}
	return f
}

// tickedIDs are the ids of a set's ticked options, in the options' order.
func (f *formField) tickedIDs() []string {
	var out []string
	for i, on := range f.picked {
		if on {
			out = append(out, f.ids[i])
		}
	}
	return out
}

type formDialog struct {
	heading string
	fields  []formField
	focus   int
	err     string
	submit  func(f *formDialog) (action, error)
	// preview, when set, says after every key what the form would send
	// in words (a maintenance window), so a typo shows before enter.
	preview func(f *formDialog) string
	hint    string
	keys    struct{ Next, Prev, Choose, Move, Tick, Submit, Cancel key.Binding }
}

func newForm(heading string, fields []formField, submit func(*formDialog) (action, error)) (*formDialog, tea.Cmd) {
	d := &formDialog{heading: heading, fields: fields, submit: submit}
	d.keys.Next = key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab", "next field"))
	d.keys.Prev = key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab", "previous"))
	d.keys.Choose = key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "choose"))
	d.keys.Move = key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "move"))
	d.keys.Tick = key.NewBinding(key.WithKeys("space", "x"), key.WithHelp("space", "tick"))
	d.keys.Submit = key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send"))
	d.keys.Cancel = key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel"))
	return d, d.focusField()
}

func textField(label, placeholder, value string) formField {
	in := textinput.New()
	in.Prompt = ""
	in.Placeholder = placeholder
	in.SetWidth(48)
	in.SetValue(value)
	return formField{label: label, input: &in}
}

func (d *formDialog) value(i int) string {
	if f := d.fields[i]; f.input != nil {
		return strings.TrimSpace(f.input.Value())
	}
	if len(d.fields[i].options) == 0 {
		return ""
	}
	return d.fields[i].options[d.fields[i].choice]
}

func (d *formDialog) visible(i int) bool { return d.fields[i].shown == nil || d.fields[i].shown() }

func (d *formDialog) focusField() tea.Cmd {
	var cmd tea.Cmd
	for i := range d.fields {
		if in := d.fields[i].input; in != nil {
			if i == d.focus {
				cmd = in.Focus()
			} else {
				in.Blur()
			}
		}
	}
	return cmd
}

func (d *formDialog) title() string { return d.heading }
func (d *formDialog) ShortHelp() []key.Binding {
	out := []key.Binding{d.keys.Next}
	switch f := &d.fields[d.focus]; {
	case f.isSet():
		out = append(out, d.keys.Move, d.keys.Tick)
	case f.input == nil:
		out = append(out, d.keys.Choose)
	}
	return append(out, d.keys.Submit, d.keys.Cancel)
}
func (d *formDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *formDialog) step(delta int) tea.Cmd {
	for i := 0; i < len(d.fields); i++ {
		d.focus = (d.focus + delta + len(d.fields)) % len(d.fields)
		if d.visible(d.focus) {
			break
		}
	}
	return d.focusField()
}

func (d *formDialog) update(msg tea.Msg) (action, tea.Cmd) {
	a, cmd := d.handle(msg)
	switch msg.(type) {
	case tea.KeyPressMsg, tea.PasteMsg: // what can change a value; not a cursor's blink
		if d.preview != nil {
			d.hint = d.preview(d)
		}
	}
	return a, cmd
}

func (d *formDialog) handle(msg tea.Msg) (action, tea.Cmd) {
	f := &d.fields[d.focus]
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, d.keys.Cancel):
			return closeAct{}, nil
		case key.Matches(k, d.keys.Submit):
			a, err := d.submit(d)
			if err != nil {
				d.err = err.Error()
				return nil, nil
			}
			return a, nil
		case key.Matches(k, d.keys.Next):
			return nil, d.step(1)
		case key.Matches(k, d.keys.Prev):
			return nil, d.step(-1)
		case f.input == nil && len(f.options) > 0 && key.Matches(k, d.keys.Choose):
			step := 1
			if k.String() == "left" {
				step = -1
			}
			f.choice = (f.choice + step + len(f.options)) % len(f.options)
			return nil, nil
		case f.isSet() && len(f.options) > 0 && key.Matches(k, d.keys.Tick):
			f.picked[f.choice] = !f.picked[f.choice]
			d.err = ""
			return nil, nil
		}
	}
	if f.input != nil {
		var cmd tea.Cmd
		*f.input, cmd = f.input.Update(msg)
		return nil, cmd
	}
	return nil, nil
}

// formLabel is a field's label column: 12 cells.
const formLabel = 12

func (d *formDialog) body(v *viewCtx, w, h int) []string {
	s := v.styles
	var lines []string
	for i := range d.fields {
		f := &d.fields[i]
		if !d.visible(i) {
			continue
		}
		label := fmt.Sprintf(" %-10s ", f.label)
		if i == d.focus {
			label = s.Selected.Render(fmt.Sprintf(" %-10s", f.label)) + " "
		}
		switch {
		case f.input != nil:
			f.input.SetWidth(max(8, w-formLabel-2))
			lines = append(lines, label+f.input.View())
		case f.isSet():
			lines = append(lines, d.setLines(v, f, label, i == d.focus, w)...)
		default:
			var parts []string
			for j, o := range f.options {
				if j == f.choice {
					parts = append(parts, s.Bold.Render("["+o+"]"))
				} else {
					parts = append(parts, s.Dim.Render(" "+o+" "))
				}
			}
			lines = append(lines, label+"‹ "+strings.Join(parts, "")+" ›")
		}
	}
	if d.hint != "" && d.hint != d.err {
		lines = append(lines, "")
		for _, l := range wrap(d.hint, max(1, w-formLabel)) {
			lines = append(lines, strings.Repeat(" ", formLabel)+s.Dim.Render(l))
		}
	}
	if d.err != "" {
		lines = append(lines, "")
		for _, l := range wrap(d.err, w) {
			lines = append(lines, s.Error.Render(l))
		}
	}
	if len(lines) > h {
		// The error is what the reader needs now; the form's top can go.
		lines = lines[len(lines)-h:]
	}
	return lines
}

// setLines draws a set's options as tick boxes, as many to a line as fit;
// while the field has the focus, › marks the one under the cursor (a
// symbol, so it shows without colour too).
func (d *formDialog) setLines(v *viewCtx, f *formField, label string, focused bool, w int) []string {
	avail := max(8, w-formLabel+1)
	var lines []string
	cur, curW := strings.TrimSuffix(label, " "), 0
	for j, o := range f.options {
		box := "[ ] "
		if f.picked[j] {
			box = "[x] "
		}
		mark := " "
		if focused && j == f.choice {
			mark = "›"
		}
		item := box + ansi.Truncate(o, avail-len(box)-1, "…")
		iw := 1 + ansi.StringWidth(item)
		if focused && j == f.choice {
			item = v.styles.Selected.Render(item)
		}
		if curW > 0 && curW+1+iw > avail {
			lines = append(lines, cur)
			cur, curW = strings.Repeat(" ", formLabel-1), 0
		}
		if curW > 0 {
			cur += " "
			curW++
		}
		cur += mark + item
		curW += iw
	}
	return append(lines, cur)
}
