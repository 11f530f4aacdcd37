package tui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// promptDialog is one line of input on the footer (note, filter, jump).
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

func (d *promptDialog) title() string { return d.label }

func (d *promptDialog) ShortHelp() []key.Binding { return []key.Binding{d.keys.Submit, d.keys.Cancel} }

func (d *promptDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

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
