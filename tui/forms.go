package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

var severities = []string{"SEV1", "SEV2", "SEV3", "SEV4"}

// declareForm asks for what a declare command needs.
type declareForm struct {
	field     int // 0 title, 1 severity, 2 runbook, 3 scheduled start
	title     textinput.Model
	scheduled textinput.Model
	severity  int
	kinds     []string
	kind      int
	err       string
}

func newDeclareForm(kinds []string) declareForm {
	t := textinput.New()
	t.Prompt = ""
	t.Placeholder = "what is wrong, in a few words"
	t.SetWidth(48)
	s := textinput.New()
	s.Prompt = ""
	s.Placeholder = "+168h, or 2026-11-29 02:00 (UTC)"
	s.SetWidth(48)
	return declareForm{title: t, scheduled: s, severity: 1, kinds: kinds}
}

func (f declareForm) maintenance() bool { return f.kinds[f.kind] == "maintenance" }

func (f declareForm) fields() int {
	if f.maintenance() {
		return 4
	}
	return 3
}

func (f declareForm) update(msg tea.Msg) (declareForm, tea.Cmd) {
	var cmd tea.Cmd
	switch f.field {
	case 0:
		f.title, cmd = f.title.Update(msg)
	case 3:
		f.scheduled, cmd = f.scheduled.Update(msg)
	}
	return f, cmd
}

func (f *declareForm) focus() tea.Cmd {
	f.title.Blur()
	f.scheduled.Blur()
	switch f.field {
	case 0:
		return f.title.Focus()
	case 3:
		return f.scheduled.Focus()
	}
	return nil
}

// parseStart reads "+168h" (from now) or "2006-01-02 15:04" (UTC).
func parseStart(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "+") {
		d, err := time.ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("start: %q is not a duration like +168h", s)
		}
		return now.Add(d), nil
	}
	for _, layout := range []string{"2006-01-02 15:04", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("start: %q is neither +DURATION nor YYYY-MM-DD HH:MM", s)
}

// command builds the declare command, or says what is missing.
func (f declareForm) command(now time.Time) (protocol.Command, error) {
	title := strings.TrimSpace(f.title.Value())
	if title == "" {
		return protocol.Command{}, fmt.Errorf("a title is needed")
	}
	cmd := protocol.Command{Op: protocol.OpDeclare, Title: title, Severity: severities[f.severity], Kind: f.kinds[f.kind]}
	if f.maintenance() {
		start, err := parseStart(f.scheduled.Value(), now)
		if err != nil {
			return cmd, err
		}
		cmd.ScheduledStart = protocol.TimePtr(start)
	}
	return cmd, nil
}

func (m Model) declareKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	f := &m.form
	switch msg.String() {
	case "esc":
		m.mode = modeNormal
		return m, nil
	case "tab", "down":
		f.field = (f.field + 1) % f.fields()
		return m, f.focus()
	case "shift+tab", "up":
		f.field = (f.field + f.fields() - 1) % f.fields()
		return m, f.focus()
	case "left", "right":
		step := 1
		if msg.String() == "left" {
			step = -1
		}
		switch f.field {
		case 1:
			f.severity = (f.severity + step + len(severities)) % len(severities)
			return m, nil
		case 2:
			f.kind = (f.kind + step + len(f.kinds)) % len(f.kinds)
			return m, nil
		}
	case "enter":
		cmd, err := f.command(m.now)
		if err != nil {
			f.err = err.Error()
			return m, nil
		}
		m.mode = modeNormal
		m.pinned = false
		return m.notice(fmt.Sprintf("declaring %s %s: %s", cmd.Severity, cmd.Kind, cmd.Title), false), m.send(m.opts.DeclareFeed, cmd)
	}
	return m.forward(msg)
}

func (f declareForm) view(s *Styles) string {
	label := func(i int, name string) string {
		if f.field == i {
			return s.Selected.Render(fmt.Sprintf(" %-10s", name)) + " "
		}
		return fmt.Sprintf(" %-10s ", name)
	}
	choice := func(opts []string, sel int) string {
		var parts []string
		for i, o := range opts {
			if i == sel {
				parts = append(parts, s.Bold.Render("["+o+"]"))
			} else {
				parts = append(parts, s.Dim.Render(" "+o+" "))
			}
		}
		return "‹ " + strings.Join(parts, "") + " ›"
	}
	lines := []string{
		s.Title.Render("Declare an incident"),
		"",
		label(0, "title") + f.title.View(),
		label(1, "severity") + choice(severities, f.severity),
		label(2, "runbook") + choice(f.kinds, f.kind),
	}
	if f.maintenance() {
		lines = append(lines, label(3, "starts")+f.scheduled.View())
	}
	lines = append(lines, "")
	if f.err != "" {
		lines = append(lines, s.Error.Render(f.err))
	}
	lines = append(lines, s.Dim.Render("tab next field · ←/→ choose · enter declare · esc cancel"))
	return strings.Join(lines, "\n")
}
