package tui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

// publishDialog edits a step's draft and sends it to the channels ticked:
// the one way the dashboard speaks to customers. Sending asks once more,
// and the command goes once (the outbox's id makes the hub deliver it at
// most once per channel).
type publishDialog struct {
	incident, feed, item string
	text                 textarea.Model
	subject              textinput.Model
	channels             []string
	picked               []bool
	chanAt               int
	focus                int // 0 text, 1 channels, 2 subject
	err                  string
	keys                 struct{ Next, Prev, Move, Toggle, Send, Cancel key.Binding }
	// internal are the hosts and services the dashboard knows, and public
	// the hub's components: a text for the page or its subscribers that
	// names one of the first is held for one more confirmation.
	internal []incident.Internal
	public   []protocol.Component
}

const (
	publishText = iota
	publishChannels
	publishSubject
	publishFields
)

func newPublishDialog(incidentID, feed, item, draft, subject string, channels []string, internal []incident.Internal, public []protocol.Component) (*publishDialog, tea.Cmd) {
	d := &publishDialog{incident: incidentID, feed: feed, item: item, internal: internal, public: public}
	d.channels = append([]string{protocol.ChannelPage}, without(channels, protocol.ChannelPage)...)
	d.picked = make([]bool, len(d.channels))
	d.picked[0] = true // the status page: where customers look first
	d.text = textarea.New()
	d.text.ShowLineNumbers = false
	d.text.Prompt = "│ "
	d.text.MaxHeight = 0
	d.text.CharLimit = 0
	d.text.SetValue(draft)
	d.subject = textinput.New()
	d.subject.Prompt = ""
	d.subject.Placeholder = "the email's subject"
	d.subject.SetValue(subject)
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	d.keys.Next = b([]string{"tab"}, "tab", "next field")
	d.keys.Prev = b([]string{"shift+tab"}, "shift+tab", "previous")
	d.keys.Move = b([]string{"left", "right"}, "←/→", "channel")
	d.keys.Toggle = b([]string{"space", "x"}, "space", "tick channel")
	d.keys.Send = b([]string{"ctrl+s"}, "ctrl+s", "publish…")
	d.keys.Cancel = b([]string{"esc"}, "esc", "cancel")
	return d, d.text.Focus()
}

// fillIn marks what a draft cannot know (the benefit, the alternatives):
// text that must never reach a customer as it is.
const fillIn = "(fill in"

// splitSubject takes an email draft's first line, "Subject: …", out of
// its text: the dialog's subject field carries it, and the status page
// and webhooks never show a "Subject:" line.
func splitSubject(draft string) (subject, body string) {
	first, rest, _ := strings.Cut(draft, "\n")
	s, ok := strings.CutPrefix(strings.TrimSpace(first), "Subject:")
	if !ok || strings.TrimSpace(s) == "" {
		return "", draft
	}
	return strings.TrimSpace(s), strings.TrimLeft(rest, "\n")
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (d *publishDialog) title() string { return "Publish " + d.item + " of " + d.incident }

func (d *publishDialog) ShortHelp() []key.Binding {
	out := []key.Binding{d.keys.Next}
	if d.focus == publishChannels {
		out = append(out, d.keys.Move, d.keys.Toggle)
	}
	return append(out, d.keys.Send, d.keys.Cancel)
}

func (d *publishDialog) FullHelp() [][]key.Binding { return [][]key.Binding{d.ShortHelp()} }

func (d *publishDialog) setFocus(f int) tea.Cmd {
	d.focus = (f + publishFields) % publishFields
	d.text.Blur()
	d.subject.Blur()
	switch d.focus {
	case publishText:
		return d.text.Focus()
	case publishSubject:
		return d.subject.Focus()
	}
	return nil
}

// command is the publish command, or why it cannot be sent.
func (d *publishDialog) command() (protocol.Command, error) {
	text := strings.TrimSpace(d.text.Value())
	if text == "" {
		return protocol.Command{}, fmt.Errorf("nothing to publish: the text is empty")
	}
	if err := protocol.CheckText("text", text, protocol.MaxTextBytes); err != nil {
		return protocol.Command{}, err
	}
	if i := strings.Index(text, fillIn); i >= 0 {
		line := text[strings.LastIndexByte(text[:i], '\n')+1:]
		if j := strings.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		return protocol.Command{}, fmt.Errorf("the draft still asks to %s…: %q; write it or delete the line", fillIn[1:], strings.TrimSpace(line))
	}
	var chans []string
	for i, c := range d.channels {
		if d.picked[i] {
			chans = append(chans, c)
		}
	}
	if len(chans) == 0 {
		return protocol.Command{}, fmt.Errorf("tick at least one channel")
	}
	return protocol.Command{Op: protocol.OpPublish, Incident: d.incident, Item: d.item, Text: text, Channels: chans,
		Subject: strings.TrimSpace(d.subject.Value())}, nil
}

func (d *publishDialog) update(msg tea.Msg) (action, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, d.keys.Cancel):
			return closeAct{}, nil
		case key.Matches(k, d.keys.Send):
			cmd, err := d.command()
			if err != nil {
				d.err = err.Error()
				return nil, nil
			}
			d.err = ""
			var send action = sendAct{feed: d.feed, cmd: cmd, notice: "publishing " + d.item + " to " + strings.Join(cmd.Channels, ", "), closeAll: true}
			if hold := d.hold(cmd); hold != nil {
				send = pushAct{d: hold, replace: true}
			}
			return pushAct{d: newConfirm("Publish to customers?", func(v *viewCtx) string {
				q := fmt.Sprintf("Publish %d characters to %s", utf8.RuneCountInString(cmd.Text), strings.Join(cmd.Channels, ", "))
				if cmd.Subject != "" {
					q += fmt.Sprintf(" with the subject %q", cmd.Subject)
				}
				return q + "?\nCustomers read this. It is sent once; the timeline shows each delivery."
			}, send)}, nil
		case key.Matches(k, d.keys.Next):
			return nil, d.setFocus(d.focus + 1)
		case key.Matches(k, d.keys.Prev):
			return nil, d.setFocus(d.focus - 1)
		case d.focus == publishChannels && key.Matches(k, d.keys.Move):
			step := 1
			if k.String() == "left" {
				step = -1
			}
			d.chanAt = (d.chanAt + step + len(d.channels)) % len(d.channels)
			return nil, nil
		case d.focus == publishChannels && key.Matches(k, d.keys.Toggle):
			d.picked[d.chanAt] = !d.picked[d.chanAt]
			d.err = ""
			return nil, nil
		}
	}
	var cmd tea.Cmd
	text, subject := d.text.Value(), d.subject.Value()
	switch d.focus {
	case publishText:
		d.text, cmd = d.text.Update(msg)
	case publishSubject:
		d.subject, cmd = d.subject.Update(msg)
	}
	if d.text.Value() != text || d.subject.Value() != subject {
		d.err = "" // it spoke of what was there before the edit
	}
	return nil, cmd
}

func (d *publishDialog) body(v *viewCtx, w, h int) []string {
	s := v.styles
	label := func(f int, name string) string {
		if d.focus == f {
			return s.Selected.Render(fmt.Sprintf(" %-9s", name)) + " "
		}
		return fmt.Sprintf(" %-9s ", name)
	}
	var chans []string
	for i, c := range d.channels {
		box := "[ ]"
		if d.picked[i] {
			box = "[x]"
		}
		item := box + " " + c
		if d.focus == publishChannels && i == d.chanAt {
			item = s.Selected.Render(item)
		}
		chans = append(chans, item)
	}
	d.subject.SetWidth(max(8, w-14))
	tail := []string{
		label(publishChannels, "channels") + strings.Join(chans, "  "),
		label(publishSubject, "subject") + d.subject.View(),
	}
	if d.err != "" {
		tail = append(tail, s.Error.Render(ansi.Truncate(d.err, w, "…")))
	}
	textH := max(2, h-len(tail)-2)
	d.text.SetWidth(max(10, w))
	d.text.SetHeight(textH)
	lines := []string{label(publishText, "text") + s.Dim.Render(fmt.Sprintf("%d of %d bytes", len(d.text.Value()), protocol.MaxTextBytes))}
	lines = append(lines, strings.Split(d.text.View(), "\n")...)
	return append(append(lines, ""), tail...)
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
		// The incident's title is written for responders; customers
		// read the components' public wording, as the drafts do.
		subject = incident.PublicTitle(in.Kind, namesOf(in.Components, comps))
	}
	d, cmd := newPublishDialog(in.ID, in.Feed, item, body, subject, channels, m.st.InternalNames(), comps)
	return m.push(d), cmd
}

// hold is the one more confirmation a publish to a public channel needs
// when its text or subject names a host or a service the dashboard
// knows, saying which; nil when it names none or goes nowhere public.
func (d *publishDialog) hold(cmd protocol.Command) dialog {
	var public []string
	for _, c := range cmd.Channels {
		if incident.Public(c) {
			public = append(public, c)
		}
	}
	if len(public) == 0 {
		return nil
	}
	found := incident.InternalNamesIn(cmd.Subject+"\n"+cmd.Text, d.internal, d.public)
	if len(found) == 0 {
		return nil
	}
	var names []string
	for _, n := range found {
		names = append(names, n.Kind+" "+state.Sanitize(n.Name))
	}
	send := sendAct{feed: d.feed, cmd: cmd, notice: "publishing " + d.item + " to " + strings.Join(cmd.Channels, ", "), closeAll: true}
	return newConfirm("Held: the text names "+names[0], func(v *viewCtx) string {
		return fmt.Sprintf("The text names %s: names for responders, and customers read %s.\nPublish it anyway? n goes back to the text.",
			strings.Join(names, ", "), strings.Join(public, " and "))
	}, send)
}
