package tui

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func benchModel(b *testing.B, w, h, hosts, entries int) Model {
	m, _ := newModel(b, w, h)
	m = feed(m, fixture())
	var batch client.Batch
	hist := client.NewHistory(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	for i := 0; i < hosts; i++ {
		batch.Loads = append(batch.Loads, client.HostLoad{Feed: "hub", Received: t0.Add(10 * time.Minute), History: hist,
			Load: protocol.Load{Host: fmt.Sprintf("host-%04d", i), At: protocol.At(t0), Interval: protocol.Duration(time.Second), Load1: float64(i%50) / 10, CPUs: 4}})
	}
	for i := 0; i < entries; i++ {
		batch.Events = append(batch.Events, client.JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: uint64(100 + i), Incident: "INC-42", At: protocol.At(t0), Actor: "bob", Kind: "note", Text: fmt.Sprintf("entry %d", i)}})
	}
	return feed(m, batch)
}

// BenchmarkView measures one frame after a change: a host's load and a
// new timeline entry arrive, so the load, timeline and header redraw.
func BenchmarkView(b *testing.B) {
	for _, size := range []struct{ w, h int }{{80, 24}, {200, 60}} {
		for _, hosts := range []int{10, 1000} {
			for _, entries := range []int{100, 100_000} {
				b.Run(fmt.Sprintf("%dx%d/hosts=%d/entries=%d", size.w, size.h, hosts, entries), func(b *testing.B) {
					m := benchModel(b, size.w, size.h, hosts, entries)
					pane := "1"
					if size.w < GridWidth {
						pane = "3" // at 80x24 one pane shows: the timeline
					}
					m, _ = press(&testing.T{}, m, pane)
					seq := uint64(1 << 40)
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						seq++
						m.st.Apply(StateBatch(client.Batch{
							Loads:  []client.HostLoad{{Feed: "hub", Received: t0.Add(10 * time.Minute), Load: protocol.Load{Host: "host-0001", At: protocol.At(t0), Interval: protocol.Duration(time.Second), Load1: float64(seq % 7), CPUs: 4}}},
							Events: []client.Event{client.JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: seq, Incident: "INC-42", At: protocol.At(t0), Kind: "note", Text: "x"}}},
						}), t0)
						_ = m.Render()
					}
				})
			}
		}
	}
}

// BenchmarkViewIdle is a frame with nothing changed: every pane cached.
func BenchmarkViewIdle(b *testing.B) {
	m := benchModel(b, 200, 60, 1000, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Render()
	}
}
