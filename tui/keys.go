package tui

import (
	"charm.land/bubbles/v2/key"
)

// KeyMap is every key of the dashboard. The footer's short help and the ?
// overlay are both generated from it, so help is never written by hand.
type KeyMap struct {
	NextPane, PrevPane            key.Binding
	Pane1, Pane2, Pane3, Pane4    key.Binding
	Up, Down, PageUp, PageDown    key.Binding
	Top, Bottom                   key.Binding
	Tick, Note, Declare, Status   key.Binding
	JumpTo                        key.Binding
	Incidents, Filter, TimeZone   key.Binding
	Draft, Copy, Save, FeedDetail key.Binding
	Help, Quit                    key.Binding
}

// DefaultKeyMap follows what terminal users already know.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return KeyMap{
		NextPane:   b([]string{"tab"}, "tab", "next pane"),
		PrevPane:   b([]string{"shift+tab"}, "shift+tab", "previous pane"),
		Pane1:      b([]string{"1"}, "1", "load"),
		Pane2:      b([]string{"2"}, "2", "services"),
		Pane3:      b([]string{"3"}, "3", "timeline"),
		Pane4:      b([]string{"4"}, "4", "checklist"),
		Up:         b([]string{"k", "up"}, "↑/k", "up"),
		Down:       b([]string{"j", "down"}, "↓/j", "down"),
		PageUp:     b([]string{"pgup", "ctrl+u"}, "pgup", "page up"),
		PageDown:   b([]string{"pgdown", "ctrl+d"}, "pgdn", "page down"),
		Top:        b([]string{"g", "home"}, "g", "top"),
		Bottom:     b([]string{"G", "end"}, "G", "bottom / follow"),
		Tick:       b([]string{"space", "x"}, "space/x", "tick/untick step"),
		Note:       b([]string{"n"}, "n", "add note"),
		Declare:    b([]string{"D"}, "D", "declare incident"),
		Status:     b([]string{"s"}, "s", "change status"),
		Incidents:  b([]string{"i"}, "i", "pick incident"),
		Filter:     b([]string{"/"}, "/", "filter"),
		TimeZone:   b([]string{"z"}, "z", "local/UTC time"),
		JumpTo:     b([]string{"t"}, "t", "timeline: jump to a time"),
		Draft:      b([]string{"v"}, "v", "view message draft"),
		Copy:       b([]string{"c"}, "c", "copy draft (OSC 52)"),
		Save:       b([]string{"w"}, "w", "write draft to file"),
		FeedDetail: b([]string{"f"}, "f", "feed details"),
		Help:       b([]string{"?"}, "?", "all keys"),
		Quit:       b([]string{"q", "ctrl+c"}, "q", "quit"),
	}
}

// ShortHelp is the footer line.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.NextPane, k.Tick, k.Note, k.Status, k.Declare, k.Filter, k.Help, k.Quit}
}

// FullHelp is the ? overlay, by column.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.NextPane, k.PrevPane, k.Pane1, k.Pane2, k.Pane3, k.Pane4, k.Help, k.Quit},
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Filter, k.TimeZone, k.JumpTo},
		{k.Tick, k.Note, k.Declare, k.Status, k.Incidents, k.Draft, k.Copy, k.Save, k.FeedDetail},
	}
}
