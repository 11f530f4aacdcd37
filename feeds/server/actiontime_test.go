package server

import (
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// The times a command sets are the responder's time of action, so a
// journal written with known ats yields known figures.
func TestCommandAtSetsTheTimesItSets(t *testing.T) {
	now := time.Date(2026, 11, 22, 4, 30, 0, 0, time.UTC)
	opened := time.Date(2026, 11, 22, 2, 12, 0, 0, time.UTC)
	srv := startServer(t, t.TempDir(), "", Options{Now: func() time.Time { return now }})
	w := dialWire(t, srv.url)
	at := func(d time.Duration) *protocol.Time { return protocol.TimePtr(opened.Add(d)) }
	w.send(protocol.Command{ID: "d", Actor: "alice", Op: "declare", Title: "Mail down", Severity: "SEV2", Kind: "outage", At: at(0)})
	w.wantAck("d")
	w.send(protocol.Command{ID: "k", Actor: "alice", Op: "check", Incident: "INC-1", Item: "ack", Done: yes(), At: at(3 * time.Minute)})
	w.wantAck("k")
	w.send(protocol.Command{ID: "p", Actor: "bob", Op: "publish", Incident: "INC-1", Item: "status-page", Channels: []string{"page"}, Text: "Mail is delayed.", At: at(4 * time.Minute)})
	w.wantAck("p")
	w.send(protocol.Command{ID: "r", Actor: "alice", Op: "status", Incident: "INC-1", Status: "resolved", At: at(90 * time.Minute)})
	w.wantAck("r")
	// Too far back: the server's own time, for every time it sets.
	w.send(protocol.Command{ID: "d2", Actor: "alice", Op: "declare", Title: "Web slow", Severity: "SEV3", Kind: "outage", At: protocol.TimePtr(now.Add(-25 * time.Hour))})
	w.wantAck("d2")
	w.send(protocol.Command{ID: "r2", Actor: "alice", Op: "status", Incident: "INC-2", Status: "resolved", At: protocol.TimePtr(now.Add(time.Hour))})
	w.wantAck("r2")

	incs := srv.hub.Incidents()
	step := func(in protocol.Incident, id string) *protocol.Time {
		for _, it := range in.Checklist {
			if it.ID == id {
				return it.DoneAt
			}
		}
		t.Fatalf("no step %s", id)
		return nil
	}
	when := func(p *protocol.Time) time.Time {
		if p == nil {
			return time.Time{}
		}
		return p.Time
	}
	tests := []struct {
		name      string
		got, want time.Time
	}{
		{"declare sets opened_at", incs[0].OpenedAt.Time, opened},
		{"check sets done_at", when(step(incs[0], "ack")), opened.Add(3 * time.Minute)},
		{"publish sets the done_at of the step it ticks", when(step(incs[0], "status-page")), opened.Add(4 * time.Minute)},
		{"status resolved sets resolved_at", when(incs[0].ResolvedAt), opened.Add(90 * time.Minute)},
		{"an at a day back is not used for opened_at", incs[1].OpenedAt.Time, now},
		{"an at in the future is not used for resolved_at", when(incs[1].ResolvedAt), now},
	}
	for _, tt := range tests {
		if !tt.got.Equal(tt.want) {
			t.Errorf("%s: got %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}
