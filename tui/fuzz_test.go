package tui

import (
	"bytes"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

// framesBatch decodes one frame per line, as a feed would send them, and
// keeps every frame that decodes (PROTOCOL.md: anything that decodes is
// shown as well as it can be).
func framesBatch(data []byte, now time.Time) state.Batch {
	var b state.Batch
	for _, line := range bytes.Split(data, []byte("\n")) {
		msg, err := protocol.Decode(line)
		if err != nil {
			continue
		}
		switch v := msg.(type) {
		case *protocol.Load:
			b.Loads = append(b.Loads, state.HostLoad{Feed: "hub", Load: *v, Received: now, History: []float64{v.Load1}})
		case *protocol.Service:
			b.Services = append(b.Services, state.ServiceState{Feed: "hub", Service: *v, Received: now, Changes: []time.Time{now}})
		case *protocol.IncidentMsg, *protocol.Entry:
			b.Events = append(b.Events, state.JournalEvent{Feed: "hub", Msg: v})
		case *protocol.Presence:
			b.Events = append(b.Events, state.PresenceEvent{Feed: "hub", Watchers: v.Watchers})
		case *protocol.Nack:
			b.Events = append(b.Events, state.NackEvent{Feed: "hub", ID: v.ID, Code: v.Code, Error: v.Error})
		}
	}
	return b
}

// FuzzFrames: no frame that decodes may crash the dashboard, whatever
// fields it lacks or carries, at 80x24 or 200x60, in any pane or detail.
func FuzzFrames(f *testing.F) {
	seeds := []string{
		`{"type":"incident","seq":1,"incident":{"id":"INC-1","title":"t","status":"investigating","opened_at":"2026-11-22T02:14:00.000Z","checklist":[{"id":"ack"}]}}`,
		`{"type":"incident","seq":2,"incident":{"id":"INC-2","title":"t","severity":"SEV9","kind":"?","status":"resolved","opened_at":"2026-11-22T02:14:00.000Z","resolved_at":"2026-11-22T02:15:00.000Z","checklist":[{"id":"a","due":"soon","every":"-5m","after":"resolved","claimed_by":"carol","done_at":"x"}]}}`,
		`{"type":"incident","seq":3,"incident":{"id":"INC-3","title":"","severity":"","status":"monitoring","opened_at":"0001-01-01T00:00:00Z","scheduled_start":"9999-12-31T23:59:59.999Z","kind":"maintenance","checklist":[{"id":"w","due":"-168h"}]}}`,
		`{"type":"entry","seq":4,"text":"hello","kind":"evidence","host":"web-3","evidence":{"reason":"r","processes":[{"pid":-1,"user":"","command":"","count":-5,"cpu_pct":1e308,"rss_kb":-9}],"outputs":[{"name":"","exit":-1,"text":"a\nb\u001b[2J"}]}}`,
		`{"type":"entry","seq":5,"text":"","incident":"INC-404"}`,
		`{"type":"load","host":"h","at":"2026-11-22T02:14:00.000Z","load1":-1,"cpus":-4,"interval":"0s","level":"boom"}`,
		`{"type":"load","host":"","at":"2026-11-22T02:14:00.000Z","load1":1e308,"cpus":0}`,
		`{"type":"service","host":"h","service":"s","state":"weird","since":"bad"}`,
		`{"type":"presence","watchers":[{"actor":""},{"actor":"a\u001b]0;x\u0007"}]}`,
		`{"type":"nack","id":"c-1","code":"","error":""}`,
	}
	all := []byte{}
	for _, s := range seeds {
		f.Add([]byte(s))
		all = append(append(all, s...), '\n')
	}
	f.Add(all)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, size := range []struct{ w, h int }{{80, 24}, {200, 60}} {
			m, _ := newModel(t, size.w, size.h)
			m.st.Apply(framesBatch(data, m.now), m.now)
			m.chooseIncident()
			m.st.Tick(m.now)
			_ = m.Render()
			for _, keys := range [][]string{{"1", "enter"}, {"esc", "2", "enter"}, {"esc", "3", "enter"}, {"esc", "4", "enter"}, {"esc", "?"}, {"esc", "i"}, {"esc", "f"}} {
				for _, k := range keys {
					var msg tea.KeyPressMsg
					switch k {
					case "enter":
						msg = tea.KeyPressMsg{Code: tea.KeyEnter}
					case "esc":
						msg = tea.KeyPressMsg{Code: tea.KeyEscape}
					default:
						msg = tea.KeyPressMsg{Code: []rune(k)[0], Text: k}
					}
					next, _ := m.Update(msg)
					m = next.(Model)
				}
				_ = m.Render()
			}
		}
	})
}
