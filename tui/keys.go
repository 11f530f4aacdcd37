package tui

import (
	"charm.land/bubbles/v2/key"
)

// KeyMap is every key of the dashboard's panes. The footer's short help
// and the ? overlay are both generated from it (and each dialog generates
// its own from its bindings), so help is never written by hand. The keys
// that act on one pane are that pane's (loadKeys, timelineKeys,
// checklistKeys, in the pane's file), embedded here so the root composes
// one help from them; the rest move between panes and rows or act on the
// shown incident.
type KeyMap struct {
	globalKeys
	loadKeys
	timelineKeys
	checklistKeys
	rewindKeys
}

// globalKeys work whichever pane has the focus.
type globalKeys struct {
	NextPane, PrevPane          key.Binding
	Pane1, Pane2, Pane3, Pane4  key.Binding
	Pane5                       key.Binding
	Up, Down, PageUp, PageDown  key.Binding
	Top, Bottom, Open           key.Binding
	Note, Declare, Status, Edit key.Binding
	Incidents, Filter, TimeZone key.Binding
	FeedDetail                  key.Binding
	Help, Quit                  key.Binding
	Pages                       key.Binding
}

// binding is a key.Binding on keys, written k in help.
func binding(keys []string, k, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
}

// DefaultKeyMap follows what terminal users already know.
func DefaultKeyMap() KeyMap {
	b := binding
	return KeyMap{
		globalKeys: globalKeys{
			NextPane:   b([]string{"tab"}, "tab", "next pane"),
			PrevPane:   b([]string{"shift+tab"}, "shift+tab", "previous pane"),
			Pane1:      b([]string{"1"}, "1", "load"),
			Pane2:      b([]string{"2"}, "2", "services"),
			Pane3:      b([]string{"3"}, "3", "timeline"),
			Pane4:      b([]string{"4"}, "4", "checklist"),
			Pane5:      b([]string{"5"}, "5", "deadlines"),
			Up:         b([]string{"k", "up"}, "↑/k", "up"),
			Down:       b([]string{"j", "down"}, "↓/j", "down"),
			PageUp:     b([]string{"pgup", "ctrl+u"}, "pgup", "page up"),
			PageDown:   b([]string{"pgdown", "ctrl+d"}, "pgdn", "page down"),
			Top:        b([]string{"g", "home"}, "g", "top"),
			Bottom:     b([]string{"G", "end"}, "G", "bottom / follow"),
			Open:       b([]string{"enter"}, "enter", "details"),
			Note:       b([]string{"n"}, "n", "add note"),
			Declare:    b([]string{"D"}, "D", "declare incident"),
			Edit:       b([]string{"E"}, "E", "edit / hand off"),
			Status:     b([]string{"s"}, "s", "change status"),
			Incidents:  b([]string{"i"}, "i", "pick incident"),
			Filter:     b([]string{"/"}, "/", "filter"),
			TimeZone:   b([]string{"z"}, "z", "local/UTC time"),
			FeedDetail: b([]string{"f"}, "f", "feed details"),
			Pages:      b([]string{"P"}, "P", "pages, who is on call"),
			Help:       b([]string{"?"}, "?", "all keys"),
			Quit:       b([]string{"q", "ctrl+c"}, "q", "quit"),
		},
		loadKeys:      defaultLoadKeys(),
		timelineKeys:  defaultTimelineKeys(),
		checklistKeys: defaultChecklistKeys(),
		rewindKeys:    defaultRewindKeys(),
	}
}

// ShortHelp is the footer line: the keys that do something now.
func (k KeyMap) ShortHelp() []key.Binding {
	if k.Live.Enabled() { // rewound: moving through time is what the keys do
		return enabled(k.Live, k.StepBack, k.StepForward, k.RewindTo, k.Help, k.Open, k.Filter, k.Quit)
	}
	out := enabled(k.Help)
	out = append(out, k.checklistKeys.ShortHelp()...)
	out = append(out, enabled(k.Note, k.Open)...)
	out = append(out, k.loadKeys.ShortHelp()...)
	out = append(out, k.timelineKeys.ShortHelp()...)
	return append(out, enabled(k.Status, k.Declare, k.Filter, k.Quit)...)
}

// FullHelp is the ? overlay, by column: moving, reading, acting on the
// incident, and its messages. Each pane gives its own keys' columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	step, drafts := k.checklistKeys.FullHelp()[0], k.checklistKeys.FullHelp()[1]
	return [][]key.Binding{
		{k.NextPane, k.PrevPane, k.Pane1, k.Pane2, k.Pane3, k.Pane4, k.Pane5, k.Help, k.Quit},
		concat([]key.Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Open, k.Filter, k.TimeZone}, k.timelineKeys.FullHelp()[0]),
		concat(step, []key.Binding{k.Note, k.Declare, k.Edit, k.Status, k.Incidents}, k.loadKeys.FullHelp()[0]),
		concat(drafts, []key.Binding{k.FeedDetail, k.Pages}),
		k.rewindKeys.FullHelp(),
	}
}

func concat(groups ...[]key.Binding) []key.Binding {
	var out []key.Binding
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
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
