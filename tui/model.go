// Package tui is the vigil dashboard: a bubbletea program over the feeds
// client, with four panes (load, services, timeline, checklist), a header,
// a footer, and dialogs on a stack over the panes. Each pane and each
// dialog is a small component that owns its keys and draws itself; the
// root model routes messages to them, carries out what they ask for, and
// composes their help, so help is generated everywhere. Feed state reaches
// it through a command that waits on the client's store and drains it, so
// a flood of load samples becomes a few frames a second and never queues
// ahead of a keypress; the rules of what is shown live in tui/state.
package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/incident"
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
		rv: &reviewState{loadAsks: map[string]string{}},
	}
	m.panes = [paneCount]pane{m.load, m.svcs, m.tl, m.cl}
	m.updateKeys()
	return m
}

// outageFirst orders runbook kinds for the declare form: an unscheduled
// outage is what someone declares at 2am, so it is the default.
func outageFirst(kinds []string) []string {
	if len(kinds) == 0 {
		return []string{"outage", "maintenance", "security"}
	}
	out := []string{}
	for _, k := range kinds {
		if k == "outage" {
			out = append(out, k)
		}
	}
	for _, k := range kinds {
		if k != "outage" {
			out = append(out, k)
		}
	}
	return out
}

// Init starts the frame wait: the feed and the clock in one.
func (m Model) Init() tea.Cmd { return m.waitFrame() }

// waitFrame waits for the clock's next tick or an urgent change in the
// store, whichever comes first, and drains the store into one message.
// Journal messages, acks and connection changes are urgent and go at
// once; load samples gather until the tick, so a flood becomes one frame
// a second. The clock and the load share the tick: one message, one
// update and one changed frame a second, where a separate clock made two.
func (m Model) waitFrame() tea.Cmd {
	store, ctx, gap, now := m.feed.Store(), m.ctx, m.opts.FrameGap, m.opts.Now
	return func() tea.Msg {
		t := time.NewTimer(untilFrame(now(), gap))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil
		case <-store.Urgent():
			return batchMsg{store.Drain()}
		case <-t.C:
		}
		select {
		case <-store.Notify():
			return batchMsg{store.Drain()}
		default:
			return batchMsg{}
		}
	}
}

// afterTick puts the tick just after the clock's second turns, so the
// clock read in Update is in the new second.
const afterTick = 5 * time.Millisecond

// untilFrame is how long from now until the next tick: afterTick past the
// next multiple of gap on the clock, or past this one if that is still
// ahead (an urgent message just after the second turned must not make the
// wait skip that second's tick).
func untilFrame(now time.Time, gap time.Duration) time.Duration {
	next := now.Truncate(gap).Add(afterTick)
	if !next.After(now) {
		next = next.Add(gap)
	}
	return next.Sub(now)
}

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
		return m, tea.Batch(m.waitFrame(), m.alerts(), review)
	case loadAskedMsg:
		if msg.err != nil {
			m.st.AddHubLoad(msg.host, nil, false, msg.err.Error())
		} else {
			m.rv.loadAsks[msg.id] = msg.host
		}
		return m, nil
	case rewindAskedMsg:
		return m.rewindAsked(msg), nil
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
			m = m.notice(a.notice, false)
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

// chooseIncident shows the most severe open incident unless the reader
// picked one.
func (m *Model) chooseIncident() {
	if m.pinned && (m.selected == "" || m.st.Incident(m.selected) != nil) {
		return
	}
	open := m.st.OpenIncidents()
	switch {
	case len(open) > 0:
		if m.selected != open[0].ID {
			m.selected = open[0].ID
			m.cl.sel = 0
		}
	case m.st.Incident(m.selected) == nil:
		m.selected = ""
		if all := m.st.Incidents(); len(all) > 0 {
			m.selected = all[len(all)-1].ID
		}
	}
}

func (m Model) current() *state.Incident {
	if m.selected == "" {
		return nil
	}
	return m.st.Incident(m.selected)
}

// updateKeys turns bindings on and off by what they can do now, so the
// footer shows only keys that work.
func (m *Model) updateKeys() {
	in := m.current()
	k := &m.keys
	hasIncident := in != nil
	onStep := hasIncident && m.focus == ChecklistPane && len(in.Checklist) > 0
	k.Tick.SetEnabled(hasIncident)
	k.Note.SetEnabled(hasIncident)
	k.Status.SetEnabled(hasIncident)
	k.Edit.SetEnabled(hasIncident)
	k.Claim.SetEnabled(onStep)
	k.Publish.SetEnabled(onStep)
	k.Draft.SetEnabled(hasIncident)
	k.Copy.SetEnabled(hasIncident)
	k.Save.SetEnabled(hasIncident)
	k.Collect.SetEnabled(m.focus == LoadPane && m.st.HostCount() > 0)
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

// keyHandler is what one root binding does.
type keyHandler struct {
	binding func(k *KeyMap) key.Binding
	do      func(m Model) (Model, tea.Cmd)
}

// rootKeys maps each binding of the panes to what it does; the first
// match wins. A table, not a switch: adding a key is one line here and
// one in the keymap.
var rootKeys = []keyHandler{
	{func(k *KeyMap) key.Binding { return k.Quit }, Model.quit},
	{func(k *KeyMap) key.Binding { return k.Help }, func(m Model) (Model, tea.Cmd) { return m.push(newHelpDialog(m.keys.FullHelp())), nil }},
	{func(k *KeyMap) key.Binding { return k.FeedDetail }, func(m Model) (Model, tea.Cmd) { return m.push(feedsDialog()), nil }},
	{func(k *KeyMap) key.Binding { return k.NextPane }, func(m Model) (Model, tea.Cmd) { return m.focusOn((m.focus + 1) % paneCount) }},
	{func(k *KeyMap) key.Binding { return k.PrevPane }, func(m Model) (Model, tea.Cmd) { return m.focusOn((m.focus + paneCount - 1) % paneCount) }},
	{func(k *KeyMap) key.Binding { return k.Pane1 }, func(m Model) (Model, tea.Cmd) { return m.focusOn(LoadPane) }},
	{func(k *KeyMap) key.Binding { return k.Pane2 }, func(m Model) (Model, tea.Cmd) { return m.focusOn(ServicesPane) }},
	{func(k *KeyMap) key.Binding { return k.Pane3 }, func(m Model) (Model, tea.Cmd) { return m.focusOn(TimelinePane) }},
	{func(k *KeyMap) key.Binding { return k.Pane4 }, func(m Model) (Model, tea.Cmd) { return m.focusOn(ChecklistPane) }},
	{func(k *KeyMap) key.Binding { return k.Up }, func(m Model) (Model, tea.Cmd) { return m.moveBy(-1) }},
	{func(k *KeyMap) key.Binding { return k.Down }, func(m Model) (Model, tea.Cmd) { return m.moveBy(1) }},
	{func(k *KeyMap) key.Binding { return k.PageUp }, func(m Model) (Model, tea.Cmd) { return m.moveBy(-max(1, m.paneRows()-1)) }},
	{func(k *KeyMap) key.Binding { return k.PageDown }, func(m Model) (Model, tea.Cmd) { return m.moveBy(max(1, m.paneRows()-1)) }},
	{func(k *KeyMap) key.Binding { return k.Top }, func(m Model) (Model, tea.Cmd) { return m.moveBy(-1 << 30) }},
	{func(k *KeyMap) key.Binding { return k.Bottom }, func(m Model) (Model, tea.Cmd) { return m.moveBy(1 << 30) }},
	{func(k *KeyMap) key.Binding { return k.Open }, Model.openRow},
	{func(k *KeyMap) key.Binding { return k.TimeZone }, Model.toggleZone},
	{func(k *KeyMap) key.Binding { return k.Tick }, Model.tickStep},
	{func(k *KeyMap) key.Binding { return k.Claim }, Model.claimStep},
	{func(k *KeyMap) key.Binding { return k.Collect }, Model.collect},
	{func(k *KeyMap) key.Binding { return k.Note }, Model.notePrompt},
	{func(k *KeyMap) key.Binding { return k.Filter }, Model.filterPrompt},
	{func(k *KeyMap) key.Binding { return k.JumpTo }, Model.jumpPrompt},
	{func(k *KeyMap) key.Binding { return k.Declare }, Model.declare},
	{func(k *KeyMap) key.Binding { return k.Edit }, Model.edit},
	{func(k *KeyMap) key.Binding { return k.Status }, Model.statusPicker},
	{func(k *KeyMap) key.Binding { return k.Incidents }, Model.incidentPicker},
	{func(k *KeyMap) key.Binding { return k.Draft }, func(m Model) (Model, tea.Cmd) { return m.withDraft(viewDraft) }},
	{func(k *KeyMap) key.Binding { return k.Copy }, func(m Model) (Model, tea.Cmd) { return m.withDraft(copyDraft) }},
	{func(k *KeyMap) key.Binding { return k.Save }, func(m Model) (Model, tea.Cmd) { return m.withDraft(saveDraft) }},
	{func(k *KeyMap) key.Binding { return k.Publish }, Model.publish},
	{func(k *KeyMap) key.Binding { return k.StepBack }, Model.stepBack},
	{func(k *KeyMap) key.Binding { return k.StepForward }, Model.stepForward},
	{func(k *KeyMap) key.Binding { return k.RewindTo }, Model.rewindPrompt},
	{func(k *KeyMap) key.Binding { return k.Live }, Model.goLive},
}

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

// askOlder asks the hub for the page of the shown timeline before its
// oldest entry held, once while waiting; the answer arrives with the
// feed's batches. The request is sent by a command, never here.
func (m Model) askOlder() tea.Cmd {
	hf, ok := m.feed.(historyFeed)
	if !ok {
		return nil
	}
	id := ""
	if in := m.current(); in != nil {
		id = in.ID
	}
	var cmds []tea.Cmd
	for _, req := range m.st.AskOlder(id, m.now) {
		cmds = append(cmds, func() tea.Msg {
			hid, err := hf.History(req.Feed, req.Before, req.Limit, req.Incident)
			return historyAskedMsg{req: req, id: hid, err: err}
		})
	}
	return tea.Batch(cmds...)
}

// olderOnWheel asks for older entries when the wheel scrolls the timeline
// up past its oldest entry.
func (m Model) olderOnWheel(msg tea.MouseMsg) tea.Cmd {
	mouse := msg.Mouse()
	if _, wheel := msg.(tea.MouseWheelMsg); !wheel || mouse.Button != tea.MouseWheelUp || m.top() != nil || m.layout.TooSmall {
		return nil
	}
	if p, ok := m.paneAt(mouse.X, mouse.Y); ok && p == TimelinePane && m.tl.atOldest() {
		return m.askOlder()
	}
	return nil
}

func (m Model) quit() (Model, tea.Cmd) {
	if m.feed.Pending() > 0 || m.st.PendingCount() > 0 {
		return m.push(m.quitDialog()), nil
	}
	return m, tea.Quit
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

func (m Model) notePrompt() (Model, tea.Cmd) {
	in := m.current()
	if in == nil {
		return m.notice("no incident to note on: "+m.keyName(m.keys.Declare)+" declares one", true), nil
	}
	id, feed := in.ID, in.Feed
	d, cmd := newPrompt("note> ", "what happened, what you did, what you saw", "", m.width, false, func(v string) action {
		if v == "" {
			return closeAct{}
		}
		return sendAct{feed: feed, cmd: protocol.Command{Op: protocol.OpNote, Incident: id, Text: v}}
	})
	return m.push(d), cmd
}

func (m Model) filterPrompt() (Model, tea.Cmd) {
	if m.focus != TimelinePane {
		m.focus = ServicesPane
	}
	value := m.svcs.filter
	if m.focus == TimelinePane {
		value = m.tl.filter
	}
	d, cmd := newPrompt("filter "+m.focus.String()+"> ", "text to match", value, m.width, true, func(v string) action {
		return filterAct{text: v, done: true}
	})
	return m.push(d), cmd
}

func (m Model) jumpPrompt() (Model, tea.Cmd) {
	m.focus = TimelinePane
	d, cmd := newPrompt("jump to> ", "HH:MM or HH:MM:SS (shown zone), or YYYY-MM-DD HH:MM", "", m.width, false, func(v string) action {
		return jumpAct{value: v}
	})
	return m.push(d), cmd
}

func (m Model) declare() (Model, tea.Cmd) {
	d, cmd := newDeclareDialog(m.opts.Kinds, m.opts.DeclareFeed, m.components(m.opts.DeclareFeed), m.opts.Now)
	return m.push(d), cmd
}

func (m Model) edit() (Model, tea.Cmd) {
	in := m.current()
	if in == nil {
		return m.notice("no incident: "+m.keyName(m.keys.Declare)+" declares one", true), nil
	}
	d, cmd := newEditDialog(in, m.components(in.Feed))
	return m.push(d), cmd
}

func (m Model) quitDialog() dialog {
	f, st := m.feed, m.st
	return newConfirm("Quit?", func(*viewCtx) string {
		n := max(f.Pending(), st.PendingCount())
		return fmt.Sprintf("%d command(s) not yet acknowledged by the feed.\nThey stay on disk and are sent next time vigil starts.\n\nQuit anyway? y/n", n)
	}, quitAct{})
}

func (m Model) statusPicker() (Model, tea.Cmd) {
	in := m.current()
	if in == nil {
		return m.notice("no incident: "+m.keyName(m.keys.Declare)+" declares one", true), nil
	}
	choices := []string{protocol.StatusInvestigating, protocol.StatusIdentified, protocol.StatusMonitoring, protocol.StatusResolved}
	cur := 0
	for i, c := range choices {
		if c == in.Status {
			cur = i
		}
	}
	id, feed, status := in.ID, in.Feed, in.Status
	return m.push(newPicker("Change status of "+id, choices, choices, cur, func(pick string) action {
		if pick == status {
			return noticeAct{text: id + " is already " + pick}
		}
		return sendAct{feed: feed, cmd: protocol.Command{Op: protocol.OpStatus, Incident: id, Status: pick}}
	})), nil
}

func (m Model) incidentPicker() (Model, tea.Cmd) {
	all := m.st.Incidents()
	choices := []string{"the whole timeline, fleet alerts included (no incident)"}
	ids := []string{""}
	cur := 0
	for i := len(all) - 1; i >= 0; i-- {
		in := all[i]
		choices = append(choices, fmt.Sprintf("%s  %s  %-13s %s  (%s)", in.ID, in.Severity, in.Status, in.Title, in.Feed))
		ids = append(ids, in.ID)
		if in.ID == m.selected {
			cur = len(ids) - 1
		}
	}
	return m.push(newPicker("Pick an incident", choices, ids, cur, func(id string) action { return pickAct{id: id} })), nil
}

// tickStep ticks or unticks the selected step; unticking what someone
// else ticked asks first (the journal keeps both names).
func (m Model) tickStep() (Model, tea.Cmd) {
	in := m.current()
	if in == nil {
		return m.notice("no incident: "+m.keyName(m.keys.Declare)+" declares one", true), nil
	}
	if m.focus != ChecklistPane {
		m.focus = ChecklistPane
		return m.notice("checklist focused: space ticks the selected step", false), nil
	}
	v := m.viewCtx()
	it := m.cl.step(&v)
	if it == nil {
		return m, nil
	}
	if m.st.PendingCheck(in.ID, it.ID) != nil {
		return m.notice("already sending: wait for the feed to answer", false), nil
	}
	done := !it.Done() || it.Every != nil
	send := sendAct{feed: in.Feed, cmd: protocol.Command{Op: protocol.OpCheck, Incident: in.ID, Item: it.ID, Done: &done}}
	if !done && it.DoneBy != nil && *it.DoneBy != m.opts.Actor {
		who, label, at := *it.DoneBy, it.Label(), it.DoneAt.Time
		return m.push(newConfirm("Untick a step "+who+" ticked?", func(v *viewCtx) string {
			zone, suffix := v.zone()
			return fmt.Sprintf("%s ticked %q at %s%s.\nUntick it? The journal keeps both names.", who, label, at.In(zone).Format("15:04"), suffix)
		}, send)), nil
	}
	return m, m.send(send.feed, send.cmd)
}

// claimStep claims the selected step, or releases it when it is ours.
func (m Model) claimStep() (Model, tea.Cmd) {
	in := m.current()
	v := m.viewCtx()
	if in == nil || m.focus != ChecklistPane {
		return m.notice("claim works on a checklist step: "+m.keyName(m.keys.Pane4)+" shows them", true), nil
	}
	it := m.cl.step(&v)
	if it == nil {
		return m, nil
	}
	claim := it.ClaimedBy == nil || *it.ClaimedBy != m.opts.Actor
	word := "claiming"
	if !claim {
		word = "releasing"
	}
	return m.notice(word+" "+it.Label(), false), m.send(in.Feed, protocol.Command{Op: protocol.OpClaim, Incident: in.ID, Item: it.ID, Claim: &claim})
}

// collect asks the selected host's agent for evidence now, through the
// feed the host came from.
func (m Model) collect() (Model, tea.Cmd) {
	if m.focus != LoadPane {
		return m.notice("collect works on a host: "+m.keyName(m.keys.Pane1)+" shows them", true), nil
	}
	v := m.viewCtx()
	h := m.load.selected(&v)
	if h == nil {
		return m, nil
	}
	return m.notice("asked "+h.Name+" for evidence: it shows in the timeline", false), m.send(h.Feed, protocol.Command{Op: protocol.OpCollect, Host: h.Name})
}

// jumpTo scrolls the timeline to a time of day (today in the shown zone)
// or a full date and time.
func (m Model) jumpTo(value string) Model {
	zone := time.Local
	if m.opts.UTC {
		zone = time.UTC
	}
	var at time.Time
	var err error
	for _, layout := range []string{"15:04", "15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"} {
		var t time.Time
		if t, err = time.ParseInLocation(layout, value, zone); err == nil {
			if !strings.Contains(layout, "2006") {
				y, mo, d := m.now.In(zone).Date()
				t = time.Date(y, mo, d, t.Hour(), t.Minute(), t.Second(), 0, zone)
			}
			at = t
			break
		}
	}
	if err != nil {
		return m.notice(fmt.Sprintf("jump: %q is not HH:MM, HH:MM:SS or YYYY-MM-DD HH:MM", value), true)
	}
	v := m.viewCtx()
	if !m.tl.jump(&v, at, m.paneRows()) {
		return m.notice("nothing in the timeline at or after "+at.Format("15:04:05 MST"), false)
	}
	return m
}

func (m *Model) setFilter(f string) {
	if m.focus == TimelinePane {
		m.tl.filter = f
		m.tl.follow = true
	} else {
		m.svcs.filter = f
		m.svcs.sel, m.svcs.offset = 0, 0
	}
}

// ----- message drafts -----

func (m Model) draftFor() (string, string, error) {
	in := m.current()
	if in == nil {
		return "", "", fmt.Errorf("no incident")
	}
	v := m.viewCtx()
	it := m.cl.step(&v)
	if it == nil {
		return "", "", fmt.Errorf("%s has no checklist", in.ID)
	}
	zone := time.Local
	if m.opts.UTC {
		zone = time.UTC
	}
	text, ok, err := incident.Draft(&in.Incident, it, incident.DraftEnv{Affected: m.st.DownServices(), Components: m.components(in.Feed),
		Support: m.opts.Support, Zone: zone, Now: m.now})
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "", fmt.Errorf("step %q has no message template", it.ID)
	}
	return it.ID, text, nil
}

// components are the public components feed's hub offers (its hello).
func (m Model) components(feed string) []protocol.Component {
	if h := m.st.FeedHealth(feed); h != nil {
		return h.Components
	}
	return nil
}

// What to do with the selected step's draft.
const (
	viewDraft = iota
	copyDraft
	saveDraft
)

func (m Model) withDraft(what int) (Model, tea.Cmd) {
	m.focus = ChecklistPane
	item, text, err := m.draftFor()
	if err != nil {
		return m.notice(err.Error(), true), nil
	}
	switch what {
	case viewDraft:
		return m.push(draftDialog(item, text, m.keys)), nil
	case copyDraft:
		return m.notice(fmt.Sprintf("draft for %s copied to your clipboard (OSC 52, %d characters)", item, len(text)), false), tea.SetClipboard(text)
	}
	return m, m.saveDraft(item, text)
}

// publish opens the publish dialog on the selected step's draft, with the
// channels the step's feed offers.
func (m Model) publish() (Model, tea.Cmd) {
	m.focus = ChecklistPane
	item, text, err := m.draftFor()
	if err != nil {
		return m.notice(err.Error(), true), nil
	}
	in := m.current()
	var channels []string
	if h := m.st.FeedHealth(in.Feed); h != nil {
		channels = h.Channels
	}
	comps := m.components(in.Feed)
	subject, body := splitSubject(text)
	if subject == "" {
		// The incident's title is written for responders; customers get
		// it without the measurements, as the drafts do.
		subject = incident.PublicTitle(in.Title, namesOf(in.Components, comps))
	}
	d, cmd := newPublishDialog(in.ID, in.Feed, item, body, subject, channels)
	return m.push(d), cmd
}

// draftDialog shows a message draft; c copies it, w writes it to a file.
func draftDialog(item, text string, k KeyMap) dialog {
	d := newTextDialog("Draft: "+item, func(v *viewCtx, w int) []string {
		return wrap(state.SanitizeLines(text), w)
	})
	d.extra = []key.Binding{k.Copy, k.Save}
	d.onKey = func(msg tea.KeyPressMsg) action {
		switch {
		case key.Matches(msg, k.Copy):
			return clipboardAct{item: item, text: text}
		case key.Matches(msg, k.Save):
			return saveAct{item: item, text: text}
		}
		return nil
	}
	return d
}

// feedsDialog shows every feed's connection, counters and gaps, live.
func feedsDialog() dialog {
	return newTextDialog("Feeds", func(v *viewCtx, w int) []string {
		var lines []string
		for _, h := range v.st.Health() {
			line := h.Feed + "  " + h.State.String()
			if h.Server != "" {
				line += "  server " + h.Server
			}
			lines = append(lines, v.styles.Bold.Render(line))
			lines = append(lines, wrap("  "+h.URL, w)...)
			if h.Reason != "" {
				lines = append(lines, wrap("  why: "+h.Reason, w)...)
			}
			if !h.RetryAt.IsZero() && !h.State.Up() {
				lines = append(lines, "  next try in "+age(h.RetryAt.Sub(v.now)))
			}
			lines = append(lines, wrap(fmt.Sprintf("  journal %s seq %d · malformed %d · unknown %d · duplicates %d", h.Journal, h.Seq, h.Malformed, h.Unknown, h.Dupes), w)...)
		}
		for feed, since := range v.st.Gaps() {
			lines = append(lines, v.styles.Gap.Render(clip(fmt.Sprintf("gap: %s not seen live since %s", feed, since.Format("15:04:05")), w)))
		}
		if len(lines) == 0 {
			lines = []string{"no feeds configured"}
		}
		return lines
	})
}

func (m Model) saveDraft(item, text string) tea.Cmd {
	dir := m.opts.DraftDir
	name := fmt.Sprintf("vigil-draft-%s-%s.txt", m.selected, item)
	return func() tea.Msg {
		path := filepath.Join(dir, name)
		err := os.WriteFile(path, []byte(text+"\n"), 0o644)
		return savedMsg{path: path, err: err}
	}
}

// DefaultFPS is the renderer's frame-rate ceiling. vigil's copy of
// bubbletea v2.1.1 (tui/third_party/bubbletea) draws only when a view
// changes, at once if the last frame is older than one interval and
// otherwise when the interval is up, so the rate costs nothing while
// idle, and what it sets is how long a keypress right after a frame
// waits. vigil bench's keypress figure (10,000 samples a second streamed
// to the dashboard, one run each): p99 48, 14 and 6 ms at 20, 60 and 120.
// 60 keeps the p99 under the 20 ms budget and caps a burst of changes
// (a storm of journal messages) at 60 frames a second.
const DefaultFPS = 60

// noticeLife is how long a footer notice stays before the help returns.
const noticeLife = 8 * time.Second
