package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

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

// formDialog is a form: declare, and edit / hand off.
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
