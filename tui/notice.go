package tui

import "github.com/vigil-oncall/vigil/tui/state"

// progress is a notice that a command is on its way ("publishing … to
// page"): it goes as soon as the hub acknowledges the command, and at
// the latest after noticeLife like any notice.
func (m Model) progress(text string) Model {
	m.st.Notice = state.Notice{At: m.now, Text: text, Progress: true}
	return m
}
