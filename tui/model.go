// Package tui is the vigil dashboard: a bubbletea program over the feeds
// client, with four panes (load, services, timeline, checklist), a header
// and a footer generated from one keymap. Feed state reaches it through a
// command that waits on the client's store and drains it, so a flood of
// load samples becomes a few frames a second and never queues ahead of a
// keypress; the rules of what is shown live in tui/state.
package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
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

// Options configure the dashboard.
type Options struct {
	Actor       string
	Bell        bool
	UTC         bool
	Support     string
	Demo        bool
	Thresholds  state.Thresholds
	Kinds       []string      // runbook kinds offered when declaring
	DeclareFeed string        // where new incidents are declared; default the first feed
	DraftDir    string        // where w writes drafts; default the working directory
	FrameGap    time.Duration // how long load-only changes gather into one frame
	TimelineCap int
	Now         func() time.Time
}

type mode int

const (
	modeNormal mode = iota
	modeHelp
	modeNote
	modeFilter
	modeJump
	modeDeclare
	modeStatus
	modeIncidents
	modeFeeds
	modeDraft
	modeConfirmQuit
)

// Messages.
type (
	batchMsg struct{ b client.Batch }
	tickMsg  time.Time
	errMsg   struct{ err error }
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
	styles Styles
	help   help.Model

	width, height int
	layout        Layout
	focus         Pane
	now           time.Time

	load   loadPane
	svcs   servicesPane
	tl     timelinePane
	cl     checklistPane
	grid   *gridCache
	chrome *chromeCache

	selected string // incident id shown
	pinned   bool   // the reader chose it

	mode    mode
	input   textinput.Model
	form    declareForm
	choices []string
	choice  int
	draft   draftView
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
	in := textinput.New()
	return Model{
		ctx: ctx, opts: opts, feed: feed,
		st:   state.New(opts.Thresholds, opts.TimelineCap),
		keys: DefaultKeyMap(), styles: styles, help: h,
		load: loadPane{cache: &cached{}}, svcs: servicesPane{cache: &cached{}},
		tl: newTimelinePane(), cl: checklistPane{cache: &cached{}},
		now: opts.Now(), input: in,
		width: 80, height: 24, layout: ComputeLayout(80, 24), grid: &gridCache{}, chrome: &chromeCache{},
	}
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

// Init starts the feed wait and the clock.
func (m Model) Init() tea.Cmd { return tea.Batch(m.waitBatch(), tick()) }

func tick() tea.Cmd {
	return tea.Every(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// waitBatch waits for the store to change, then lets load samples gather
// for one frame gap (journal and status events cut the wait short), then
// drains everything into one message.
func (m Model) waitBatch() tea.Cmd {
	store, ctx, gap := m.feed.Store(), m.ctx, m.opts.FrameGap
	return func() tea.Msg {
		select {
		case <-ctx.Done():
			return nil
		case <-store.Notify():
		}
		t := time.NewTimer(gap)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-store.Urgent():
			t.Stop()
		case <-t.C:
		}
		return batchMsg{store.Drain()}
	}
}

// Update handles one message; it never blocks and does no I/O.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout = ComputeLayout(msg.Width, msg.Height)
		m.help.SetWidth(msg.Width)
		return m, nil
	case batchMsg:
		m.now = m.opts.Now()
		m.st.Apply(StateBatch(msg.b), m.now)
		m.chooseIncident()
		return m, tea.Batch(m.waitBatch(), m.alerts())
	case tickMsg:
		m.now = m.opts.Now()
		m.st.Tick(m.now)
		return m, tea.Batch(tick(), m.alerts())
	case errMsg:
		m.st.Notice = state.Notice{At: m.now, Text: msg.err.Error(), Error: true}
		return m, nil
	case savedMsg:
		if msg.err != nil {
			m.st.Notice = state.Notice{At: m.now, Text: "writing draft: " + msg.err.Error(), Error: true}
		} else {
			m.st.Notice = state.Notice{At: m.now, Text: "draft written to " + msg.path}
		}
		return m, nil
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.PasteMsg:
		if m.mode == modeNote || m.mode == modeFilter || m.mode == modeJump || m.mode == modeDeclare {
			return m.forward(msg)
		}
	}
	if m.mode == modeNote || m.mode == modeFilter || m.mode == modeJump || m.mode == modeDeclare {
		return m.forward(msg) // cursor blinks
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
	if m.pinned && m.st.Incident(m.selected) != nil {
		return
	}
	open := m.st.OpenIncidents()
	switch {
	case len(open) > 0:
		if m.selected != open[0].ID {
			m.selected = open[0].ID
			m.cl.cursor = 0
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

func (m Model) send(feed string, cmd protocol.Command) tea.Cmd {
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

func (m Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	switch m.mode {
	case modeHelp, modeFeeds:
		if key.Matches(msg, k.Help, k.FeedDetail, k.Quit) || msg.String() == "esc" || msg.String() == "enter" {
			m.mode = modeNormal
		}
		return m, nil
	case modeConfirmQuit:
		switch msg.String() {
		case "y", "Y":
			return m, tea.Quit
		case "n", "N", "esc", "q":
			m.mode = modeNormal
		case "ctrl+c":
			return m, tea.Quit
		}
		return m, nil
	case modeNote, modeFilter, modeJump:
		return m.inputKey(msg)
	case modeDeclare:
		return m.declareKey(msg)
	case modeStatus, modeIncidents:
		return m.pickerKey(msg)
	case modeDraft:
		return m.draftKey(msg)
	}

	switch {
	case key.Matches(msg, k.Quit):
		if m.feed.Pending() > 0 || m.st.PendingCount() > 0 {
			m.mode = modeConfirmQuit
			return m, nil
		}
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.mode = modeHelp
	case key.Matches(msg, k.FeedDetail):
		m.mode = modeFeeds
	case key.Matches(msg, k.NextPane):
		m.focus = (m.focus + 1) % paneCount
	case key.Matches(msg, k.PrevPane):
		m.focus = (m.focus + paneCount - 1) % paneCount
	case key.Matches(msg, k.Pane1):
		m.focus = LoadPane
	case key.Matches(msg, k.Pane2):
		m.focus = ServicesPane
	case key.Matches(msg, k.Pane3):
		m.focus = TimelinePane
	case key.Matches(msg, k.Pane4):
		m.focus = ChecklistPane
	case key.Matches(msg, k.Up):
		m.move(-1)
	case key.Matches(msg, k.Down):
		m.move(1)
	case key.Matches(msg, k.PageUp):
		m.move(-max(1, m.paneRows()-1))
	case key.Matches(msg, k.PageDown):
		m.move(max(1, m.paneRows()-1))
	case key.Matches(msg, k.Top):
		m.move(-1 << 30)
	case key.Matches(msg, k.Bottom):
		m.move(1 << 30)
		if m.focus == TimelinePane {
			m.tl.follow = true
		}
	case key.Matches(msg, k.TimeZone):
		m.opts.UTC = !m.opts.UTC
		zone := "local time"
		if m.opts.UTC {
			zone = "UTC"
		}
		m = m.notice("times in "+zone, false)
	case key.Matches(msg, k.Tick):
		return m.tick()
	case key.Matches(msg, k.Note):
		if m.current() == nil {
			return m.notice("no incident to note on: D declares one", true), nil
		}
		return m.openInput(modeNote, "note> ", "what happened, what you did, what you saw")
	case key.Matches(msg, k.Filter):
		if m.focus != TimelinePane {
			m.focus = ServicesPane
		}
		next, cmd := m.openInput(modeFilter, "filter "+m.focus.String()+"> ", "text to match; empty clears")
		nm := next.(Model)
		if m.focus == TimelinePane {
			nm.input.SetValue(m.tl.filter)
		} else {
			nm.input.SetValue(m.svcs.filter)
		}
		return nm, cmd
	case key.Matches(msg, k.JumpTo):
		m.focus = TimelinePane
		return m.openInput(modeJump, "jump to> ", "HH:MM or HH:MM:SS (shown zone), or YYYY-MM-DD HH:MM")
	case key.Matches(msg, k.Declare):
		m.form = newDeclareForm(m.opts.Kinds)
		m.mode = modeDeclare
		return m, m.form.title.Focus()
	case key.Matches(msg, k.Status):
		in := m.current()
		if in == nil {
			return m.notice("no incident: D declares one", true), nil
		}
		m.choices = []string{protocol.StatusInvestigating, protocol.StatusIdentified, protocol.StatusMonitoring, protocol.StatusResolved}
		m.choice = 0
		for i, c := range m.choices {
			if c == in.Status {
				m.choice = i
			}
		}
		m.mode = modeStatus
	case key.Matches(msg, k.Incidents):
		all := m.st.Incidents()
		if len(all) == 0 {
			return m.notice("no incidents yet", false), nil
		}
		m.choices = nil
		for i := len(all) - 1; i >= 0; i-- {
			in := all[i]
			m.choices = append(m.choices, fmt.Sprintf("%s  %s  %-13s %s  (%s)", in.ID, in.Severity, in.Status, in.Title, in.Feed))
			if in.ID == m.selected {
				m.choice = len(m.choices) - 1
			}
		}
		m.mode = modeIncidents
	case key.Matches(msg, k.Draft), key.Matches(msg, k.Copy), key.Matches(msg, k.Save):
		return m.draftAction(msg)
	}
	return m, nil
}

func (m Model) paneRows() int { return max(1, m.layout.Panes[m.focus].H-1) }

func (m *Model) move(delta int) {
	rows := m.paneRows()
	switch m.focus {
	case LoadPane:
		m.load.offset = max(0, min(m.load.offset+delta, m.st.HostCount()-rows))
	case ServicesPane:
		m.svcs.offset = max(0, min(m.svcs.offset+delta, len(m.svcs.visible(m.st))-rows))
	case TimelinePane:
		v := m.viewCtx()
		_, n := m.tl.source(&v)
		m.tl.scroll(delta, n, rows)
	case ChecklistPane:
		if in := m.current(); in != nil {
			m.cl.cursor = max(0, min(m.cl.cursor+delta, len(in.Checklist)-1))
		}
	}
}

func (m Model) tick() (tea.Model, tea.Cmd) {
	in := m.current()
	if in == nil {
		return m.notice("no incident: D declares one", true), nil
	}
	if m.focus != ChecklistPane {
		m.focus = ChecklistPane
		return m.notice("checklist focused: space ticks the selected step", false), nil
	}
	if len(in.Checklist) == 0 {
		return m, nil
	}
	it := in.Checklist[m.cl.cursor]
	if m.st.PendingCheck(in.ID, it.ID) != nil {
		return m.notice("already sending: wait for the feed to answer", false), nil
	}
	done := !it.Done() || it.Every != nil
	return m, m.send(in.Feed, protocol.Command{Op: protocol.OpCheck, Incident: in.ID, Item: it.ID, Done: &done})
}

func (m Model) openInput(md mode, prompt, placeholder string) (tea.Model, tea.Cmd) {
	m.mode = md
	m.input = textinput.New()
	m.input.Prompt = prompt
	m.input.Placeholder = placeholder
	m.input.SetWidth(max(20, m.width-12))
	return m, m.input.Focus()
}

func (m Model) forward(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	if m.mode == modeDeclare {
		m.form, cmd = m.form.update(msg)
		return m, cmd
	}
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func (m Model) inputKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch msg.String() {
	case "esc":
		if m.mode == modeFilter {
			m.setFilter("")
		}
		m.mode = modeNormal
		return m, nil
	case "enter":
		value := strings.TrimSpace(m.input.Value())
		md := m.mode
		m.mode = modeNormal
		if md == modeFilter {
			m.setFilter(value)
			return m, nil
		}
		if md == modeJump {
			return m.jumpTo(value), nil
		}
		in := m.current()
		if value == "" || in == nil {
			return m, nil
		}
		return m, m.send(in.Feed, protocol.Command{Op: protocol.OpNote, Incident: in.ID, Text: value})
	}
	return m.forward(msg)
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
		m.svcs.offset = 0
	}
}

func (m Model) pickerKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch {
	case msg.String() == "esc" || key.Matches(msg, m.keys.Quit):
		m.mode = modeNormal
	case key.Matches(msg, m.keys.Up):
		m.choice = max(0, m.choice-1)
	case key.Matches(msg, m.keys.Down):
		m.choice = min(len(m.choices)-1, m.choice+1)
	case msg.String() == "enter":
		md := m.mode
		m.mode = modeNormal
		pick := m.choices[m.choice]
		if md == modeIncidents {
			m.selected, m.pinned = strings.Fields(pick)[0], true
			m.cl.cursor, m.tl.follow = 0, true
			return m, nil
		}
		in := m.current()
		if in == nil {
			return m, nil
		}
		if pick == in.Status {
			return m.notice(in.ID+" is already "+pick, false), nil
		}
		return m, m.send(in.Feed, protocol.Command{Op: protocol.OpStatus, Incident: in.ID, Status: pick})
	}
	return m, nil
}

// ----- message drafts -----

type draftView struct {
	item string
	text string
}

func (m Model) draftFor() (string, string, error) {
	in := m.current()
	if in == nil {
		return "", "", fmt.Errorf("no incident")
	}
	if len(in.Checklist) == 0 {
		return "", "", fmt.Errorf("%s has no checklist", in.ID)
	}
	it := in.Checklist[m.cl.cursor]
	zone := time.Local
	if m.opts.UTC {
		zone = time.UTC
	}
	text, ok, err := incident.Draft(&in.Incident, &it, incident.DraftEnv{Affected: m.st.DownServices(), Support: m.opts.Support, Zone: zone, Now: m.now})
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "", fmt.Errorf("step %q has no message template", it.ID)
	}
	return it.ID, text, nil
}

func (m Model) draftAction(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if m.focus != ChecklistPane {
		m.focus = ChecklistPane
	}
	item, text, err := m.draftFor()
	if err != nil {
		return m.notice(err.Error(), true), nil
	}
	switch {
	case key.Matches(msg, m.keys.Draft):
		m.draft = draftView{item: item, text: text}
		m.mode = modeDraft
		return m, nil
	case key.Matches(msg, m.keys.Copy):
		return m.notice(fmt.Sprintf("draft for %s copied to your clipboard (OSC 52, %d characters)", item, len(text)), false), tea.SetClipboard(text)
	default:
		return m, m.saveDraft(item, text)
	}
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

func (m Model) draftKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(msg, m.keys.Copy):
		m.mode = modeNormal
		return m.notice(fmt.Sprintf("draft for %s copied to your clipboard (OSC 52)", m.draft.item), false), tea.SetClipboard(m.draft.text)
	case key.Matches(msg, m.keys.Save):
		m.mode = modeNormal
		return m, m.saveDraft(m.draft.item, m.draft.text)
	case msg.String() == "esc" || key.Matches(msg, m.keys.Quit, m.keys.Draft):
		m.mode = modeNormal
	}
	return m, nil
}

// noticeLife is how long a footer notice stays before the help returns.
const noticeLife = 8 * time.Second
