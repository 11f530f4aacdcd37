package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/review"
	"github.com/vigil-oncall/vigil/tui/state"
)

// reviewFeed is a Feed that can ask its hub for a host's load history and
// for the board at a moment (client.Client).
type reviewFeed interface {
	LoadHistory(feed, host string, from, to time.Time) (string, error)
	Rewind(feed string, at time.Time) (string, error)
}

// hubLoadSpan is how far back the host detail shows a host's load.
const hubLoadSpan = 48 * time.Hour

// reviewState is the dashboard's review side: the hub history requests in
// flight and, while rewound, the board of the past beside the live one.
type reviewState struct {
	loadAsks map[string]loadAsk // by request id
	rw       *rewind
	startAt  time.Time // where to rewind to once the feed is synced (vigil --at)
}

// rewind is the board as it stood at a moment. The live board goes on
// being kept current meanwhile, and esc puts it back.
type rewind struct {
	at      time.Time // the moment asked for
	shown   bool      // an answer is on screen
	feed    string
	asked   string // the id of the request awaiting its answer
	live    *state.State
	liveSel string
	pinned  bool
	entries []time.Time // the shown board's entry times, oldest first
	seq     uint64      // the newest journal message of the shown board
	forward string      // the id of the history request for the entries after seq
}

// Messages of the review side.
type (
	loadAskedMsg struct {
		host, id string
		st       *state.State // the board that asked: live, or the past's
		err      error
	}
	// loadAsk is a load history request awaiting its answer.
	loadAsk struct {
		host string
		st   *state.State
	}
	rewindAskedMsg struct {
		at  time.Time
		id  string
		err error
	}
	forwardAskedMsg struct {
		seq uint64
		id  string
		err error
	}
)

// Rewound reports whether the board shows the past, and which moment.
func (m Model) Rewound() (time.Time, bool) {
	if m.rv.rw == nil {
		return time.Time{}, false
	}
	return m.rv.rw.at, true
}

// askHostLoad asks the host's hub for its last 48 hours of load, for the
// host detail; the request is sent by a command, never here.
func (m Model) askHostLoad(h *state.Host) tea.Cmd {
	rf, ok := m.feed.(reviewFeed)
	if !ok || h == nil {
		return nil
	}
	to := m.now // while rewound: the 48 hours before the moment shown
	from := to.Add(-hubLoadSpan)
	m.st.StartHubLoad(h.Name, from, to)
	return askLoad(rf, m.st, h.Feed, h.Name, from, to)
}

func askLoad(rf reviewFeed, st *state.State, feed, host string, from, to time.Time) tea.Cmd {
	return func() tea.Msg {
		id, err := rf.LoadHistory(feed, host, from, to)
		return loadAskedMsg{host: host, st: st, id: id, err: err}
	}
}

// reviewAnswers takes the answers of load history and rewind requests out
// of a batch (the rest go to the board) and handles them.
func (m Model) reviewAnswers(b *client.Batch) (Model, tea.Cmd) {
	var cmds []tea.Cmd
	rest := b.History[:0:0]
	for _, a := range b.History {
		switch {
		case a.Kind == protocol.HistoryLoad || m.rv.loadAsks[a.ID].st != nil:
			ask := m.rv.loadAsks[a.ID]
			delete(m.rv.loadAsks, a.ID)
			if ask.st == nil {
				continue
			}
			if next, more := ask.st.AddHubLoad(ask.host, a.Samples, a.More, a.Error); more {
				if rf, ok := m.feed.(reviewFeed); ok {
					if h := ask.st.HubLoad(ask.host); h != nil {
						cmds = append(cmds, askLoad(rf, ask.st, a.Feed, ask.host, next, h.To))
					}
				}
			}
		case m.rv.rw != nil && a.ID == m.rv.rw.forward && a.ID != "":
			m.rv.rw.forward = ""
			var c tea.Cmd
			m, c = m.forwardTo(a)
			cmds = append(cmds, c)
		case a.Kind == protocol.TypeRewind || (m.rv.rw != nil && a.ID == m.rv.rw.asked):
			if m.rv.rw == nil || a.ID != m.rv.rw.asked {
				continue // an answer to a rewind since left
			}
			if a.Error != "" || a.Rewind == nil {
				m = m.notice("rewind: "+state.Sanitize(a.Error), true)
				continue
			}
			m = m.showRewind(a.Feed, a.Rewind)
		default:
			rest = append(rest, a)
		}
	}
	b.History = rest
	return m, tea.Batch(cmds...)
}

// rewindTo asks the hub for the board at at.
func (m Model) rewindTo(at time.Time) (Model, tea.Cmd) {
	rf, ok := m.feed.(reviewFeed)
	if !ok {
		return m.notice("rewind needs a hub: this feed cannot rewind", true), nil
	}
	if live := m.opts.Now(); !at.Before(live) {
		return m.goLive()
	}
	feed := m.opts.DeclareFeed
	if m.rv.rw == nil {
		m.rv.rw = &rewind{live: m.st, liveSel: m.selected, pinned: m.pinned}
	}
	m.rv.rw.at, m.rv.rw.feed = at, feed
	return m, func() tea.Msg {
		id, err := rf.Rewind(feed, at)
		return rewindAskedMsg{at: at, id: id, err: err}
	}
}

func (m Model) rewindAsked(msg rewindAskedMsg) Model {
	if m.rv.rw == nil || !msg.at.Equal(m.rv.rw.at) {
		return m
	}
	if msg.err != nil {
		if !m.rv.rw.shown {
			m = m.leaveRewind()
		}
		return m.notice("rewind: "+msg.err.Error(), true)
	}
	m.rv.rw.asked = msg.id
	return m
}

// showRewind puts the board of the answer on screen: a board built by the
// same reducer as the live one, from frames as they stood then.
func (m Model) showRewind(feed string, r *protocol.Rewind) Model {
	rw := m.rv.rw
	at := r.At.Time
	st := state.New(m.opts.Thresholds, m.opts.TimelineCap)
	b := rewindFrames(feed, r)
	if h := rw.live.FeedHealth(feed); h != nil {
		b.Health = []state.Health{*h}
	}
	b.Events, rw.entries = rewindEvents(feed, r, rw.entries[:0])
	st.Apply(b, at)
	st.Tick(at)
	rw.shown, rw.seq = true, r.Seq
	m.st, m.now = st, at
	m.pinned = false
	m.chooseIncident()
	m.tl.follow = true
	return m
}

// rewindFrames are a rewind answer's loads and services as a feed's would
// be received at its moment. A feed's frames are kept only with the fields
// the protocol requires, as the live path keeps them.
func rewindFrames(feed string, r *protocol.Rewind) state.Batch {
	var b state.Batch
	at := r.At.Time
	for _, l := range r.Loads {
		if l.Host == "" || l.At.IsZero() {
			continue
		}
		b.Loads = append(b.Loads, state.HostLoad{Feed: feed, Load: l, Received: at})
	}
	for _, s := range r.Services {
		if s.Host == "" || s.Service == "" || s.State == "" {
			continue
		}
		b.Services = append(b.Services, state.ServiceState{Feed: feed, Service: s, Received: at})
	}
	return b
}

// rewindEvents are a rewind answer's journal messages in seq order (its
// pages, which carry none, first), each kept only with the fields the
// protocol requires; and its entries' times, oldest first, appended to
// times.
func rewindEvents(feed string, r *protocol.Rewind, times []time.Time) ([]state.Event, []time.Time) {
	type msg struct {
		seq uint64
		m   protocol.Message
	}
	var msgs []msg
	for i := range r.Incidents {
		if in := &r.Incidents[i].Incident; in.ID == "" || in.Title == "" || in.Status == "" || in.OpenedAt.IsZero() {
			continue
		}
		msgs = append(msgs, msg{r.Incidents[i].Seq, &r.Incidents[i]})
	}
	for _, frame := range r.Pages {
		if pm, err := protocol.Decode(frame); err == nil {
			if pg, ok := pm.(*protocol.PageMsg); ok && pg.Page.ID != "" {
				msgs = append(msgs, msg{0, pg}) // a page frame carries no seq; it stands alone
			}
		}
	}
	for i := range r.Entries {
		if r.Entries[i].Seq == 0 || r.Entries[i].Text == "" {
			continue
		}
		msgs = append(msgs, msg{r.Entries[i].Seq, &r.Entries[i]})
		times = append(times, r.Entries[i].At.Time)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].seq < msgs[j].seq })
	var events []state.Event
	for _, x := range msgs {
		events = append(events, state.JournalEvent{Feed: feed, Msg: x.m})
	}
	return events, times
}

// goLive returns to the live board.
func (m Model) goLive() (Model, tea.Cmd) {
	if m.rv.rw == nil {
		return m, nil
	}
	return m.leaveRewind().notice("live again", false), nil
}

func (m Model) leaveRewind() Model {
	rw := m.rv.rw
	m.st, m.selected, m.pinned = rw.live, rw.liveSel, rw.pinned
	m.rv.rw = nil
	m.now = m.opts.Now()
	m.chooseIncident()
	return m
}

// stepBack shows the board as it stood at the entry before the newest
// one on screen (from live: at the newest entry).
func (m Model) stepBack() (Model, tea.Cmd) {
	if rw := m.rv.rw; rw != nil {
		if n := len(rw.entries); n > 0 {
			newest := rw.entries[n-1]
			for i := n - 2; i >= 0; i-- {
				if rw.entries[i].Before(newest) {
					return m.rewindTo(rw.entries[i])
				}
			}
			return m.rewindTo(newest.Add(-time.Millisecond))
		}
		return m.rewindTo(rw.at.Add(-time.Minute))
	}
	at := m.now
	if n := m.st.Timeline.Len(""); n > 0 {
		if e := m.st.Timeline.At("", n-1).At; e.Before(at) {
			at = e
		}
	}
	return m.rewindTo(at)
}

// stepForward shows the board at the next entry after the one on screen:
// it asks the hub for the entries after the board's seq (a history page)
// and goes to the first; after the last, live again.
func (m Model) stepForward() (Model, tea.Cmd) {
	rw := m.rv.rw
	if rw == nil {
		return m.notice("already live", false), nil
	}
	hf, ok := m.feed.(historyFeed)
	if !ok || !rw.shown {
		return m, nil
	}
	seq, feed := rw.seq, rw.feed
	return m, func() tea.Msg {
		id, err := hf.History(feed, seq+forwardPage+1, forwardPage, "")
		return forwardAskedMsg{seq: seq, id: id, err: err}
	}
}

// forwardPage is how many journal messages after the board a step
// forward asks for: the next entry is among them but for a run of
// incident frames.
const forwardPage = 50

func (m Model) forwardAsked(msg forwardAskedMsg) Model {
	if m.rv.rw == nil || msg.seq != m.rv.rw.seq {
		return m
	}
	if msg.err != nil {
		return m.notice("rewind: "+msg.err.Error(), true)
	}
	m.rv.rw.forward = msg.id
	return m
}

// forwardTo goes to the first entry after the board in a history page.
func (m Model) forwardTo(a client.HistoryAnswer) (Model, tea.Cmd) {
	rw := m.rv.rw
	if a.Error != "" {
		return m.notice("rewind: "+state.Sanitize(a.Error), true), nil
	}
	for _, msg := range a.Messages {
		if e, ok := msg.(*protocol.Entry); ok && e.Seq > rw.seq {
			at := e.At.Time
			if !at.After(rw.at) {
				at = rw.at.Add(time.Millisecond) // acted on earlier, journaled after the board
			}
			return m.rewindTo(at)
		}
	}
	return m.goLive()
}

// rewindPrompt asks for a moment to rewind to.
func (m Model) rewindPrompt() (Model, tea.Cmd) {
	d, cmd := newPrompt("rewind to> ", "02:13, 2026-11-22 02:13, an RFC 3339 time, or -3h", "", m.width, false, func(v string) action {
		return rewindAct{value: v}
	})
	return m.push(d), cmd
}

// rewindAct is a moment typed into the rewind prompt.
type rewindAct struct{ value string }

// parseMoment reads a typed moment: ParseAt's forms, and a bare time of
// day (HH:MM, HH:MM:SS) as its latest past occurrence in the shown zone.
func parseMoment(s string, now time.Time, zone *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, form := range []string{"15:04", "15:04:05"} {
		if t, err := time.ParseInLocation(form, s, zone); err == nil {
			day := now.In(zone)
			at := time.Date(day.Year(), day.Month(), day.Day(), t.Hour(), t.Minute(), t.Second(), 0, zone)
			if at.After(now) {
				at = at.AddDate(0, 0, -1)
			}
			return at, nil
		}
	}
	return review.ParseAt(s, now, zone)
}

func (m Model) rewindTyped(value string) (Model, tea.Cmd) {
	zone := time.Local
	if m.opts.UTC {
		zone = time.UTC
	}
	at, err := parseMoment(value, m.opts.Now(), zone)
	if err != nil {
		return m.notice(err.Error(), true), nil
	}
	return m.rewindTo(at)
}

// rewindRefuses says why a key that would send something does nothing
// while the board shows the past.
func (m Model) rewindRefuses(msg tea.KeyPressMsg) bool {
	if m.rv.rw == nil {
		return false
	}
	k := &m.keys
	for _, b := range []key.Binding{k.Tick, k.Claim, k.Collect, k.Note, k.Declare, k.Edit, k.Status, k.Publish} {
		b.SetEnabled(true)
		if key.Matches(msg, b) {
			return true
		}
	}
	return false
}

// rewindHeader is the header's first segment while rewound: the moment,
// how long ago, and that nothing can be sent; never cut.
func (m Model) rewindHeader() (segment, bool) {
	rw := m.rv.rw
	if rw == nil {
		return segment{}, false
	}
	zone, suffix := time.Local, ""
	if m.opts.UTC {
		zone, suffix = time.UTC, "Z"
	}
	ago := age(m.opts.Now().Sub(rw.at))
	when := rw.at.In(zone).Format("15:04:05") + suffix
	if m.opts.Now().In(zone).YearDay() != rw.at.In(zone).YearDay() || m.opts.Now().Sub(rw.at) > 24*time.Hour {
		when = rw.at.In(zone).Format("Jan 2 15:04:05") + suffix
	}
	badge := m.styles.Badge.Render(" REWIND " + when + " · " + ago + " ago ")
	if !rw.shown {
		badge = m.styles.Badge.Render(" REWIND " + when + " · asking the hub… ")
	}
	return segment{variants: []string{badge + m.styles.Dim.Render(" "+m.keyName(m.keys.Live)+" live"), badge}, prio: prioTrouble}, true
}

func (a rewindAct) String() string { return fmt.Sprintf("rewind to %s", a.value) }

// rewindKey is what the header shows of the rewind, for its cache.
func (m Model) rewindKey() string {
	if m.rv == nil || m.rv.rw == nil {
		return ""
	}
	return fmt.Sprint(m.rv.rw.at.UnixMilli(), m.rv.rw.shown, m.opts.Now().Unix()/60)
}

// rewindKeys move the board through time; Live (esc) works while rewound.
type rewindKeys struct {
	StepBack, StepForward, RewindTo, Live key.Binding
}

func defaultRewindKeys() rewindKeys {
	return rewindKeys{
		StepBack:    binding([]string{"["}, "[", "rewind: entry back"),
		StepForward: binding([]string{"]"}, "]", "rewind: entry forward"),
		RewindTo:    binding([]string{"@"}, "@", "rewind to a time"),
		Live:        binding([]string{"esc"}, "esc", "back to live"),
	}
}

// FullHelp is the rewind keys' column of the ? overlay.
func (k rewindKeys) FullHelp() []key.Binding {
	return []key.Binding{k.StepBack, k.StepForward, k.RewindTo, k.Live}
}

// startRewound rewinds to the moment vigil --at named, once the feed it
// asks is synced.
func (m Model) startRewound() (Model, tea.Cmd) {
	if m.rv.startAt.IsZero() {
		return m, nil
	}
	if h := m.st.FeedHealth(m.opts.DeclareFeed); h == nil || h.State != state.FeedSynced {
		return m, nil
	}
	at := m.rv.startAt
	m.rv.startAt = time.Time{}
	return m.rewindTo(at)
}
