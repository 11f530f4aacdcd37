package state

import (
	"strings"
	"testing"

	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A command refused for want of a token says where the dashboard looks
// for one; a read-only key's refusal does not talk of tokens.
func TestRefusedForATokenNamesTheVariable(t *testing.T) {
	tests := []struct {
		name   string
		health Health
		err    string
		want   string
	}{
		{"variable unset", Health{Feed: "hub", TokenEnv: "VIGIL_TOKEN"}, "commands need a valid token", "the dashboard reads the token from $VIGIL_TOKEN, which is empty or unset"},
		{"token wrong", Health{Feed: "hub", TokenEnv: "VIGIL_TOKEN", TokenSent: true}, "commands need a valid token", "the token in $VIGIL_TOKEN is not one the hub accepts"},
		{"no variable named", Health{Feed: "hub"}, "commands need a valid token", "name the variable that holds it with token_env"},
		{"read-only key", Health{Feed: "hub"}, "read-only key: bob can watch, not act", ""},
	}
	for _, tt := range tests {
		s := New(level.Defaults(), 100)
		s.Apply(Batch{Health: []Health{tt.health}}, t0)
		s.Apply(Batch{Events: []Event{NackEvent{Feed: "hub", ID: "c-1", Code: protocol.CodeForbidden, Error: tt.err}}}, t0)
		got := s.Notice.Text
		if tt.want == "" && strings.Contains(got, "token") || tt.want != "" && !strings.Contains(got, tt.want) {
			t.Errorf("%s: notice %q, want %q", tt.name, got, tt.want)
		}
	}
}

// "declaring SEV1 outage: …" says a command is on its way; it goes once
// the hub acknowledges that command, not before, and not on another's.
func TestProgressNoticeGoesWithItsAck(t *testing.T) {
	s := New(level.Defaults(), 100)
	s.Notice = Notice{At: t0, Text: "declaring SEV1 outage: db", Progress: true}
	declare := protocol.Command{ID: "c-1", Op: protocol.OpDeclare}
	other := protocol.Command{ID: "c-2", Op: protocol.OpNote}
	s.Apply(Batch{Events: []Event{QueuedEvent{Feed: "hub", Command: declare}, QueuedEvent{Feed: "hub", Command: other}}}, t0)
	s.Apply(Batch{Events: []Event{AckEvent{Feed: "hub", ID: "c-2"}}}, t0)
	if s.Notice.Text == "" {
		t.Fatal("another command's ack cleared the notice")
	}
	s.Apply(Batch{Events: []Event{AckEvent{Feed: "hub", ID: "c-1"}}}, t0)
	if s.Notice.Text != "" {
		t.Fatalf("the notice stays after its command was acknowledged: %q", s.Notice.Text)
	}
	s.Notice = Notice{At: t0, Text: "n: no incident", Error: true}
	s.Apply(Batch{Events: []Event{QueuedEvent{Feed: "hub", Command: protocol.Command{ID: "c-3"}}, AckEvent{Feed: "hub", ID: "c-3"}}}, t0)
	if s.Notice.Text == "" {
		t.Fatal("an ack cleared a notice that was not progress")
	}
}
