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
