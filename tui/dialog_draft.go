package tui

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

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
		Support: m.opts.Support, Zone: zone, Now: m.now, Timeline: m.debriefTimeline(in.ID, it.ID)})
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

func (m Model) saveDraft(item, text string) tea.Cmd {
	dir := m.opts.DraftDir
	name := fmt.Sprintf("vigil-draft-%s-%s.txt", m.selected, item)
	return func() tea.Msg {
		path := filepath.Join(dir, name)
		err := os.WriteFile(path, []byte(text+"\n"), 0o644)
		return savedMsg{path: path, err: err}
	}
}
