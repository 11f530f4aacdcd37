package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles names every style by meaning. Colours are the terminal's own 16
// (they follow its light or dark theme), and nothing is told by colour
// alone: every state also has a symbol or a word. Under NO_COLOR the
// program's colour profile drops the colours and the words remain.
type Styles struct {
	OK, Warn, Crit, Stale, Unknown, Maint lipgloss.Style
	Done, Pending, Overdue, Waiting       lipgloss.Style
	Title, TitleFocused, Tab, TabActive   lipgloss.Style
	Header, Badge, Dim, Bold, Selected    lipgloss.Style
	Error, Notice, Gap, Box               lipgloss.Style
	Sev                                   [5]lipgloss.Style
	Help                                  help.Styles
}

// DefaultStyles builds the styles once.
func DefaultStyles() Styles {
	s := lipgloss.NewStyle()
	red, yellow, green, magenta, cyan := lipgloss.Red, lipgloss.Yellow, lipgloss.Green, lipgloss.Magenta, lipgloss.Cyan
	st := Styles{
		OK:           s.Foreground(green),
		Warn:         s.Foreground(yellow).Bold(true),
		Crit:         s.Foreground(red).Bold(true),
		Stale:        s.Foreground(magenta).Bold(true),
		Unknown:      s.Foreground(magenta),
		Maint:        s.Foreground(cyan),
		Done:         s.Foreground(green),
		Pending:      s.Foreground(yellow),
		Overdue:      s.Foreground(red).Bold(true).Reverse(true),
		Waiting:      s.Faint(true),
		Title:        s.Bold(true),
		TitleFocused: s.Bold(true).Reverse(true),
		Tab:          s.Faint(true),
		TabActive:    s.Bold(true).Reverse(true),
		Header:       s.Bold(true),
		Badge:        s.Bold(true).Reverse(true),
		Dim:          s.Faint(true),
		Bold:         s.Bold(true),
		Selected:     s.Reverse(true),
		Error:        s.Foreground(red).Bold(true),
		Notice:       s.Foreground(cyan),
		Gap:          s.Foreground(magenta).Italic(true),
		Box:          s.Border(lipgloss.RoundedBorder()).Padding(0, 1),
	}
	st.Sev = [5]lipgloss.Style{s, s.Foreground(red).Bold(true).Reverse(true), s.Foreground(red).Bold(true), s.Foreground(yellow).Bold(true), s.Bold(true)}
	st.Help = help.Styles{
		ShortKey: s.Bold(true), ShortDesc: s.Faint(true), ShortSeparator: s.Faint(true),
		FullKey: s.Bold(true), FullDesc: s, FullSeparator: s.Faint(true), Ellipsis: s.Faint(true),
	}
	return st
}
