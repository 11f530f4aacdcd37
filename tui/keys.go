package tui

import (
	"charm.land/bubbles/v2/key"
)

// KeyMap is every key of the dashboard's panes. The footer's short help
// and the ? overlay are both generated from it (and each dialog generates
// its own from its bindings), so help is never written by hand.
type KeyMap struct {
	NextPane, PrevPane            key.Binding
	Pane1, Pane2, Pane3, Pane4    key.Binding
	Up, Down, PageUp, PageDown    key.Binding
	Top, Bottom, Open             key.Binding
	Tick, Note, Declare, Status   key.Binding
	Edit, Claim, Collect, JumpTo  key.Binding
	Incidents, Filter, TimeZone   key.Binding
	Draft, Copy, Save, FeedDetail key.Binding
	Publish                       key.Binding
	Help, Quit                    key.Binding
	// Rewind: the board as it stood at a moment of the journal.
	StepBack, StepForward, RewindTo, Live key.Binding
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
		Open:       b([]string{"enter"}, "enter", "details"),
		Tick:       b([]string{"space", "x"}, "space/x", "tick step"),
		Claim:      b([]string{"o"}, "o", "claim step"),
		Note:       b([]string{"n"}, "n", "add note"),
		Declare:    b([]string{"D"}, "D", "declare incident"),
		Edit:       b([]string{"E"}, "E", "edit / hand off"),
		Status:     b([]string{"s"}, "s", "change status"),
		Incidents:  b([]string{"i"}, "i", "pick incident"),
		Collect:    b([]string{"e"}, "e", "collect evidence"),
		Filter:     b([]string{"/"}, "/", "filter"),
		TimeZone:   b([]string{"z"}, "z", "local/UTC time"),
		JumpTo:     b([]string{"t"}, "t", "timeline: jump to"),
		Draft:      b([]string{"v"}, "v", "view draft"),
		Copy:       b([]string{"c"}, "c", "copy draft (OSC 52)"),
		Save:       b([]string{"w"}, "w", "write draft to file"),
		Publish:    b([]string{"p"}, "p", "publish step's update"),
		FeedDetail: b([]string{"f"}, "f", "feed details"),
		Help:       b([]string{"?"}, "?", "all keys"),
		Quit:       b([]string{"q", "ctrl+c"}, "q", "quit"),

		StepBack:    b([]string{"["}, "[", "rewind: entry back"),
		StepForward: b([]string{"]"}, "]", "rewind: entry forward"),
		RewindTo:    b([]string{"@"}, "@", "rewind to a time"),
		Live:        b([]string{"esc"}, "esc", "back to live"),
	}
}

// ShortHelp is the footer line: the keys that do something now.
func (k KeyMap) ShortHelp() []key.Binding {
	if k.Live.Enabled() { // rewound: moving through time is what the keys do
		return enabled(k.Live, k.StepBack, k.StepForward, k.RewindTo, k.Help, k.Open, k.Filter, k.Quit)
	}
	return enabled(k.Help, k.Tick, k.Claim, k.Note, k.Open, k.Collect, k.Status, k.Declare, k.Filter, k.Quit)
}

// FullHelp is the ? overlay, by column.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.NextPane, k.PrevPane, k.Pane1, k.Pane2, k.Pane3, k.Pane4, k.Help, k.Quit},
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Open, k.Filter, k.TimeZone, k.JumpTo},
		{k.Tick, k.Claim, k.Note, k.Declare, k.Edit, k.Status, k.Incidents, k.Collect},
		{k.Draft, k.Publish, k.Copy, k.Save, k.FeedDetail},
		{k.StepBack, k.StepForward, k.RewindTo, k.Live},
	}
}

// enabled keeps the bindings that are on (the state decides, as bubbles'
// list does in updateKeybindings).
func enabled(bs ...key.Binding) []key.Binding {
	out := bs[:0:0]
	for _, b := range bs {
		if b.Enabled() {
			out = append(out, b)
		}
	}
	return out
}
