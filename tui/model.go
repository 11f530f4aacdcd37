// Package tui is the vigil dashboard: a bubbletea program over the feeds
// client, with four panes (load, services, timeline, checklist), a header,
// a footer, and dialogs on a stack over the panes. Each pane and each
// dialog is a small component that owns its keys and draws itself; the
// root model routes messages to them, carries out what they ask for, and
// composes their help, so help is generated everywhere. Feed state reaches
// it through a command that waits on the client's store and drains it, so
// a flood of load samples becomes a few frames a second and never queues
// ahead of a keypress; the rules of what is shown live in tui/state.
//
// model.go only routes; each pane and dialog has its own file. README.md
// in this directory says how they are put together and how to add one.
package tui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

// Feed is what the dashboard needs of the feeds client.
type Feed interface {
	Store() *client.Store
	Send(feed string, cmd protocol.Command) (string, error)
	Pending() int
	Feeds() []string
}

// historyFeed is a Feed that can page older journal messages in
// (client.Client); without it the timeline shows what was replayed.
type historyFeed interface {
	History(feed string, before uint64, limit int, incident string) (string, error)
}

// Options configure the dashboard.
type Options struct {
	Actor       string
	Bell        bool
	UTC         bool
	Support     string
	Demo        bool
	NoMouse     bool // leave the mouse to the terminal (its own selection)
	Thresholds  state.Thresholds
	Kinds       []string      // runbook kinds offered when declaring
	DeclareFeed string        // where new incidents are declared; default the first feed
	DraftDir    string        // where w writes drafts; default the working directory
	FrameGap    time.Duration // the clock's tick (default 1s): countdowns move and load-only changes are drawn on it
	TimelineCap int
	Now         func() time.Time
	// Expiries are the checks that watch an expiry, for the deadlines
	// pane: a service frame names neither the kind of check nor the date.
	Expiries []state.ExpiryWatch
	// RewindAt, when set, starts the board rewound to that moment, once
	// the feed is synced (vigil --at).
	RewindAt time.Time
}

// Messages.
type (
	// batchMsg is what the store drained, at an urgent change or at the
	// clock's tick (then often nothing: the clock moved).
	batchMsg struct{ b client.Batch }
	errMsg   struct{ err error }
	// historyAskedMsg is what became of a history request.
	historyAskedMsg struct {
		req state.HistoryRequest
		id  string
		err error
	}
	savedMsg struct {
		path string
		err  error
	}
)

// Model is the dashboard's root model.
type Model struct {
	ctx    context.Context
	opts   Options
	feed   Feed
	st     *state.State
	keys   KeyMap
	styles *Styles // shared and never changed: a copy of the model must not copy it
	help   help.Model

	width, height int
	layout        Layout
	focus         Pane
	now           time.Time

	load   *loadPane
	svcs   *servicesPane
	tl     *timelinePane
	cl     *checklistPane
	panes  [paneCount]pane
	grid   *gridCache
	chrome *chromeCache

	selected string // incident id shown
	pinned   bool   // the reader chose it

	dialogs []dialog // the overlay stack; the last one takes the keys

	rv *reviewState // hub load history asked for; the board of the past while rewound (rewind.go)
}

// New builds the dashboard over feed. ctx ends the waits it starts.
func New(ctx context.Context, feed Feed, opts Options) Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FrameGap <= 0 {
		opts.FrameGap = time.Second
	}
	opts.Thresholds = opts.Thresholds.OrDefaults()
	opts.Kinds = outageFirst(opts.Kinds)
	if opts.DeclareFeed == "" && len(feed.Feeds()) > 0 {
		opts.DeclareFeed = feed.Feeds()[0]
	}
	styles := DefaultStyles()
	h := help.New()
	h.Styles = styles.Help
	m := Model{
		ctx: ctx, opts: opts, feed: feed,
		st:   state.New(opts.Thresholds, opts.TimelineCap),
		keys: DefaultKeyMap(), styles: &styles, help: h,
		load: &loadPane{cache: &cached{}}, svcs: &servicesPane{cache: &cached{}},
		tl: newTimelinePane(), cl: &checklistPane{cache: &cached{}},
		now:   opts.Now(),
		width: 80, height: 24, layout: ComputeLayout(80, 24), grid: &gridCache{}, chrome: &chromeCache{},
		rv: &reviewState{loadAsks: map[string]loadAsk{}, startAt: opts.RewindAt},
	}
	m.panes = [paneCount]pane{m.load, m.svcs, m.tl, m.cl, newDeadlinesPane(opts.Expiries)}
	m.updateKeys()
	return m
}

// Init starts the frame wait: the feed and the clock in one.
func (m Model) Init() tea.Cmd { return m.waitFrame() }

// Update handles one message; it never blocks and does no I/O.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := m.update(msg)
	next.updateKeys()
	return next, cmd
}

func (m Model) update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout = ComputeLayout(msg.Width, msg.Height)
		m.help.SetWidth(msg.Width)
		return m, nil
	case batchMsg:
		var review tea.Cmd
		m, review = m.reviewAnswers(&msg.b)
		if rw := m.rv.rw; rw != nil {
			// The past stays on screen; the live board is kept current.
			rw.live.Apply(StateBatch(msg.b), m.opts.Now())
			rw.live.Tick(m.opts.Now())
			rw.live.TakeAlerts()
			return m, tea.Batch(m.waitFrame(), review)
		}
		m.now = m.opts.Now()
		m.st.Apply(StateBatch(msg.b), m.now)
		m.chooseIncident()
		m.st.Tick(m.now) // steps gone overdue since the last message
		m, start := m.startRewound()
		return m, tea.Batch(m.waitFrame(), m.alerts(), review, start)
	case loadAskedMsg:
		if msg.err != nil {
			msg.st.AddHubLoad(msg.host, nil, false, msg.err.Error())
		} else {
			m.rv.loadAsks[msg.id] = loadAsk{host: msg.host, st: msg.st}
		}
		return m, nil
	case rewindAskedMsg:
		return m.rewindAsked(msg), nil
	case forwardAskedMsg:
		return m.forwardAsked(msg), nil
	case errMsg:
		return m.notice(msg.err.Error(), true), nil
	case savedMsg:
		if msg.err != nil {
			return m.notice("writing draft: "+msg.err.Error(), true), nil
		}
		return m.notice("draft written to "+msg.path, false), nil
	case historyAskedMsg:
		m.st.Asked(msg.req, msg.id, msg.err, m.now)
		return m, nil
	case tea.MouseMsg:
		m = m.mouse(msg)
		return m, m.olderOnWheel(msg)
	}
	if d := m.top(); d != nil {
		a, cmd := d.update(msg) // keys, paste, cursor blinks
		next, more := m.do(a)
		return next, tea.Batch(cmd, more)
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		return m.key(k)
	}
	return m, nil
}

func (m Model) top() dialog {
	if len(m.dialogs) == 0 {
		return nil
	}
	return m.dialogs[len(m.dialogs)-1]
}

func (m Model) push(d dialog) Model {
	m.dialogs = append(m.dialogs[:len(m.dialogs):len(m.dialogs)], d)
	return m
}

func (m Model) pop() Model {
	if len(m.dialogs) > 0 {
		m.dialogs = m.dialogs[:len(m.dialogs)-1]
	}
	return m
}

// do carries out what a dialog asked for. Every action but a live filter
// and a push closes the dialog that asked.
func (m Model) do(a action) (Model, tea.Cmd) {
	switch a := a.(type) {
	case nil:
		return m, nil
	case closeAct:
		return m.pop(), nil
	case quitAct:
		return m, tea.Quit
	case noticeAct:
		return m.pop().notice(a.text, a.err), nil
	case pushAct:
		if a.replace {
			m = m.pop()
		}
		return m.push(a.d), nil
	case sendAct:
		m = m.pop()
		if a.closeAll {
			m.dialogs = nil
		}
		if a.cmd.Op == protocol.OpDeclare {
			m.pinned = false
		}
		if a.notice != "" {
			m = m.progress(a.notice)
		}
		return m, m.send(a.feed, a.cmd)
	case filterAct:
		m.setFilter(a.text)
		if a.done {
			m = m.pop()
		}
		return m, nil
	case jumpAct:
		return m.pop().jumpTo(a.value), nil
	case rewindAct:
		return m.pop().rewindTyped(a.value)
	case pickAct:
		m = m.pop()
		m.selected, m.pinned = a.id, true
		m.cl.sel, m.tl.follow = 0, true
		if in := m.st.Incident(a.id); in != nil && in.Resolved() {
			return m, m.askOlder() // a past incident: its entries may have been compacted away
		}
		return m, nil
	case clipboardAct:
		return m.pop().notice(fmt.Sprintf("draft for %s copied to your clipboard (OSC 52, %d characters)", a.item, len(a.text)), false), tea.SetClipboard(a.text)
	case saveAct:
		return m.pop(), m.saveDraft(a.item, a.text)
	}
	return m, nil
}

func (m Model) alerts() tea.Cmd {
	alerts := m.st.TakeAlerts()
	if len(alerts) == 0 {
		return nil
	}
	m.st.Notice = state.Notice{At: m.now, Text: "⚠ " + alerts[len(alerts)-1].Text, Error: true}
	if m.opts.Bell {
		return tea.Raw("\a")
	}
	return nil
}

// updateKeys turns bindings on and off by what they can do now, so the
// footer shows only keys that work.
func (m *Model) updateKeys() {
	in := m.current()
	k := &m.keys
	hasIncident := in != nil
	onStep := hasIncident && m.focus == ChecklistPane && len(in.Checklist) > 0
	// n answers even without an incident: a note typed then must land in
	// a prompt that says so, never run letter by letter as commands.
	k.Note.SetEnabled(true)
	k.Status.SetEnabled(hasIncident)
	k.Edit.SetEnabled(hasIncident)
	k.checklistKeys.enable(hasIncident, onStep)
	k.loadKeys.enable(m.focus == LoadPane && m.st.HostCount() > 0)
	k.Open.SetEnabled(true)
	rewound := m.rv != nil && m.rv.rw != nil
	k.Live.SetEnabled(rewound)
	k.StepForward.SetEnabled(rewound)
	if rewound {
		for _, b := range []*key.Binding{&k.Tick, &k.Claim, &k.Collect, &k.Note, &k.Declare, &k.Edit, &k.Status, &k.Publish} {
			b.SetEnabled(false)
		}
	}
}

func (m Model) send(feed string, cmd protocol.Command) tea.Cmd {
	if m.rv.rw != nil {
		return func() tea.Msg { return errMsg{errors.New("this is the past: nothing is sent while rewound")} }
	}
	cmd.Actor = m.opts.Actor
	f := m.feed
	return func() tea.Msg {
		if _, err := f.Send(feed, cmd); err != nil {
			return errMsg{fmt.Errorf("%s not saved: %w", cmd.Op, err)}
		}
		return nil
	}
}

func (m Model) notice(text string, isErr bool) Model {
	m.st.Notice = state.Notice{At: m.now, Text: text, Error: isErr}
	return m
}

func (m Model) viewCtx() viewCtx {
	return viewCtx{st: m.st, styles: m.styles, keys: &m.keys, now: m.now, utc: m.opts.UTC, actor: m.opts.Actor, incident: m.current()}
}

// keyName is how a binding's key is written in help, for messages that
// name a key: they follow the keymap, never a hand-typed letter.
func (m Model) keyName(b key.Binding) string { return b.Help().Key }

func (m Model) paneRows() int { return max(1, m.layout.Panes[m.focus].H-1) }

func (m *Model) move(delta int) {
	v := m.viewCtx()
	m.panes[m.focus].move(&v, delta, m.rowsOf(m.focus))
}

// keyHandler is what one binding does.
type keyHandler struct {
	binding func(k *KeyMap) key.Binding
	do      func(m Model) (Model, tea.Cmd)
}

// paneSpec is one pane as the root knows it: the key that focuses it, and what its own bindings do. Adding a pane is a file
// (pane_<name>.go: the type implementing pane, its keys and handlers), a
// Pane constant, a place in the layout, and a row here.
type paneSpec struct {
	focusKey func(k *KeyMap) key.Binding
	handlers []keyHandler
}

// panes is the registry, by Pane.
var panes = [paneCount]paneSpec{
	LoadPane:      {func(k *KeyMap) key.Binding { return k.Pane1 }, loadHandlers},
	ServicesPane:  {func(k *KeyMap) key.Binding { return k.Pane2 }, nil},
	TimelinePane:  {func(k *KeyMap) key.Binding { return k.Pane3 }, timelineHandlers},
	ChecklistPane: {func(k *KeyMap) key.Binding { return k.Pane4 }, checklistHandlers},
	DeadlinesPane: {func(k *KeyMap) key.Binding { return k.Pane5 }, nil},
}

// globalHandlers are the bindings that work whatever has the focus.
// A table, not a switch: adding a key is one line here and one in the
// keymap.
var globalHandlers = []keyHandler{
	{func(k *KeyMap) key.Binding { return k.Quit }, Model.quit},
	{func(k *KeyMap) key.Binding { return k.Help }, func(m Model) (Model, tea.Cmd) { return m.push(newHelpDialog(m.keys.FullHelp())), nil }},
	{func(k *KeyMap) key.Binding { return k.FeedDetail }, func(m Model) (Model, tea.Cmd) { return m.push(feedsDialog()), nil }},
	{func(k *KeyMap) key.Binding { return k.NextPane }, func(m Model) (Model, tea.Cmd) { return m.focusOn((m.focus + 1) % paneCount) }},
	{func(k *KeyMap) key.Binding { return k.PrevPane }, func(m Model) (Model, tea.Cmd) { return m.focusOn((m.focus + paneCount - 1) % paneCount) }},
	{func(k *KeyMap) key.Binding { return k.Up }, func(m Model) (Model, tea.Cmd) { return m.moveBy(-1) }},
	{func(k *KeyMap) key.Binding { return k.Down }, func(m Model) (Model, tea.Cmd) { return m.moveBy(1) }},
	{func(k *KeyMap) key.Binding { return k.PageUp }, func(m Model) (Model, tea.Cmd) { return m.moveBy(-max(1, m.paneRows()-1)) }},
	{func(k *KeyMap) key.Binding { return k.PageDown }, func(m Model) (Model, tea.Cmd) { return m.moveBy(max(1, m.paneRows()-1)) }},
	{func(k *KeyMap) key.Binding { return k.Top }, func(m Model) (Model, tea.Cmd) { return m.moveBy(-1 << 30) }},
	{func(k *KeyMap) key.Binding { return k.Bottom }, func(m Model) (Model, tea.Cmd) { return m.moveBy(1 << 30) }},
	{func(k *KeyMap) key.Binding { return k.Open }, Model.openRow},
	{func(k *KeyMap) key.Binding { return k.TimeZone }, Model.toggleZone},
	{func(k *KeyMap) key.Binding { return k.Note }, Model.notePrompt},
	{func(k *KeyMap) key.Binding { return k.Filter }, Model.filterPrompt},
	{func(k *KeyMap) key.Binding { return k.Declare }, Model.declare},
	{func(k *KeyMap) key.Binding { return k.Edit }, Model.edit},
	{func(k *KeyMap) key.Binding { return k.Status }, Model.statusPicker},
	{func(k *KeyMap) key.Binding { return k.Incidents }, Model.incidentPicker},
	{func(k *KeyMap) key.Binding { return k.Pages }, Model.pagesView},
	{func(k *KeyMap) key.Binding { return k.StepBack }, Model.stepBack},
	{func(k *KeyMap) key.Binding { return k.StepForward }, Model.stepForward},
	{func(k *KeyMap) key.Binding { return k.RewindTo }, Model.rewindPrompt},
	{func(k *KeyMap) key.Binding { return k.Live }, Model.goLive},
}

// rootKeys is every binding the root answers when no dialog is open: the
// global ones, each pane's focus key, and each pane's own bindings. A
// pane's bindings answer whichever pane has the focus (ticking from the
// Load pane focuses the checklist and says so), so no key may be bound
// twice (TestNoKeyIsBoundTwice).
var rootKeys = func() []keyHandler {
	out := append([]keyHandler(nil), globalHandlers...)
	for i, p := range panes {
		id := Pane(i)
		out = append(out, keyHandler{p.focusKey, func(m Model) (Model, tea.Cmd) { return m.focusOn(id) }})
	}
	for _, p := range panes {
		out = append(out, p.handlers...)
	}
	return out
}()

// key handles a key when no dialog is open. Disabled bindings still
// answer (with a notice saying why), so matching ignores Enabled.
func (m Model) key(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	if m.rewindRefuses(msg) {
		return m.notice("this is the past: nothing can be ticked or sent while rewound; "+m.keyName(m.keys.Live)+" returns to live", true), nil
	}
	for _, h := range rootKeys {
		b := h.binding(&m.keys)
		b.SetEnabled(true)
		if key.Matches(msg, b) {
			return h.do(m)
		}
	}
	return m, nil
}

func (m Model) focusOn(p Pane) (Model, tea.Cmd) {
	m.focus = p
	return m, nil
}

func (m Model) moveBy(delta int) (Model, tea.Cmd) {
	m.move(delta)
	if m.focus == TimelinePane && delta < 0 && m.tl.atOldest() {
		return m, m.askOlder()
	}
	return m, nil
}

func (m Model) openRow() (Model, tea.Cmd) {
	v := m.viewCtx()
	if d := m.panes[m.focus].open(&v); d != nil {
		if m.focus == LoadPane {
			return m.push(d), m.askHostLoad(m.load.selected(&v))
		}
		return m.push(d), nil
	}
	return m.notice("nothing selected", false), nil
}

func (m Model) toggleZone() (Model, tea.Cmd) {
	m.opts.UTC = !m.opts.UTC
	zone := "local time"
	if m.opts.UTC {
		zone = "UTC"
	}
	return m.notice("times in "+zone, false), nil
}
