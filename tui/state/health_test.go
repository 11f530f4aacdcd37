package state

import (
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A hub's channels and components reach the dialogs sanitised, and the
// feed's own slices are not written to.
func TestHealthChannelsAndComponentsSanitised(t *testing.T) {
	s := New(Thresholds{}, 0)
	comps := []protocol.Component{{ID: "mail", Name: "Mail\x1b[2J"}, {ID: "w\x07eb", Name: "Web"}}
	chans := []string{"page", "ops\x1b]0;x\x07chat"}
	s.Apply(Batch{Health: []Health{{Feed: "hub", Channels: chans, Components: comps}}}, time.Unix(0, 0))
	h := s.FeedHealth("hub")
	if h == nil {
		t.Fatal("no health for the feed")
	}
	if h.Components[0].Name != "Mail" || h.Components[1].ID != "web" || h.Channels[1] != "opschat" {
		t.Fatalf("not sanitised: %+v %q", h.Components, h.Channels)
	}
	if comps[0].Name != "Mail\x1b[2J" || chans[1] != "ops\x1b]0;x\x07chat" {
		t.Fatal("the feed's slices were written to")
	}
	if s.FeedHealth("other") != nil {
		t.Fatal("health for a feed never seen")
	}
}

// An incident's component ids are sanitised like its other strings.
func TestIncidentComponentsSanitised(t *testing.T) {
	s := New(Thresholds{}, 0)
	in := protocol.Incident{ID: "INC-1", Title: "x", Status: "investigating", Components: []string{"mail\x1b[31m"}}
	s.Apply(Batch{Events: []Event{JournalEvent{Feed: "hub", Msg: &protocol.IncidentMsg{Seq: 1, Incident: in}}}}, time.Unix(0, 0))
	if got := s.Incident("INC-1").Components; len(got) != 1 || got[0] != "mail" {
		t.Fatalf("components %q", got)
	}
}
