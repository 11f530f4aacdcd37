package server

import (
	"slices"
	"testing"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// The compacted journal's order: each incident's head, from memory,
// before the first journal message after it; the journal's own incident
// frames left out; the heads left after the journal sent up to cut; and
// nothing more once fn asks for no more.
func TestHeadMergeOrder(t *testing.T) {
	incident := func(seq uint64) journal.Message {
		return journal.Message{Seq: seq, Msg: &protocol.IncidentMsg{Incident: protocol.Incident{ID: "INC-1"}}}
	}
	entry := func(seq uint64) journal.Message { return journal.Message{Seq: seq, Msg: &protocol.Entry{}} }
	heads := []journal.Message{incident(3), incident(7), incident(12), incident(20)}
	journalMsgs := []journal.Message{entry(1), entry(2), incident(3), entry(5), incident(6), entry(8), entry(9), entry(10)}
	for _, tt := range []struct {
		name    string
		cut     uint64
		stopAt  int // fn answers false on this call (1-based), 0 never
		want    []uint64
		stopped bool
	}{
		{"all up to cut", 15, 0, []uint64{1, 2, 3, 5, 7, 8, 9, 10, 12}, false},
		{"cut past every head", 25, 0, []uint64{1, 2, 3, 5, 7, 8, 9, 10, 12, 20}, false},
		{"cut before the heads left", 11, 0, []uint64{1, 2, 3, 5, 7, 8, 9, 10}, false},
		{"stopped on a journal message", 15, 2, []uint64{1, 2}, true},
		{"stopped on a head", 15, 3, []uint64{1, 2, 3}, true},
		{"stopped on a head after the journal", 25, 9, []uint64{1, 2, 3, 5, 7, 8, 9, 10, 12}, true},
	} {
		var got []uint64
		o := &headMerge{heads: heads, fn: func(m journal.Message) bool {
			got = append(got, m.Seq)
			return len(got) != tt.stopAt
		}}
		for _, m := range journalMsgs {
			if !o.emit(m) {
				break
			}
		}
		if !o.stopped {
			o.headsTo(tt.cut)
		}
		if !slices.Equal(got, tt.want) || o.stopped != tt.stopped {
			t.Errorf("%s: sent %v (stopped %v), want %v (stopped %v)", tt.name, got, o.stopped, tt.want, tt.stopped)
		}
	}
}
