package state

import (
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func pageMsg(seq uint64, p protocol.Page) JournalEvent {
	return JournalEvent{Feed: "hub", Msg: &protocol.PageMsg{Seq: seq, Page: p}}
}

func TestPagesAndOncall(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	s := New(Thresholds{}, 100)
	alice := "alice"
	s.Apply(Batch{Events: []Event{
		pageMsg(1, protocol.Page{ID: "PG-11", Title: "old", Status: protocol.PageResolved, OpenedAt: protocol.At(t0)}),
		pageMsg(2, protocol.Page{ID: "PG-12", Title: "shared-04: exim down\x1b[2J", Status: protocol.PageTriggered, OpenedAt: protocol.At(t0), Level: 1,
			Notified: []protocol.Notified{{Person: "alice", Via: "email", Level: 1}}, Next: []string{"bob"}, NextAt: protocol.TimePtr(t0.Add(5 * time.Minute))}),
		pageMsg(3, protocol.Page{ID: "PG-13", Title: "db", Status: protocol.PageAcknowledged, OpenedAt: protocol.At(t0), AckedBy: &alice}),
		OncallEvent{Feed: "hub", Oncall: protocol.Oncall{Rotations: []protocol.OncallRotation{{Name: "primary", Now: "alice"}, {Name: "secondary", Now: "carol"}}}},
	}}, t0)
	ps := s.Pages()
	if len(ps) != 3 || ps[0].ID != "PG-12" || ps[1].ID != "PG-13" || ps[2].ID != "PG-11" {
		t.Fatalf("order %v %v %v", ps[0].ID, ps[1].ID, ps[2].ID)
	}
	if ps[0].Title != "shared-04: exim down" {
		t.Fatalf("title not sanitised: %q", ps[0].Title)
	}
	for _, c := range []struct {
		p    *Page
		want string
	}{
		{ps[0], "PG-12 paging alice · bob in 3m"},
		{ps[1], "PG-13 acked by alice"},
		{ps[2], "PG-11 resolved"},
	} {
		if got := c.p.Paging(t0.Add(2 * time.Minute)); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
	if open := s.OpenPages(); len(open) != 2 {
		t.Fatalf("open %d", len(open))
	}
	rots, _ := s.OnCall()
	if got := OncallLine(rots); got != "on call: alice (primary), carol (secondary)" {
		t.Fatal(got)
	}
	s.Apply(Batch{Events: []Event{ResetEvent{Feed: "hub"}}}, t0)
	if len(s.Pages()) != 0 {
		t.Fatal("pages kept across a journal reset")
	}
}
