package state

import (
	"reflect"
	"testing"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func TestInternalNames(t *testing.T) {
	s := New(level.Defaults(), 100)
	s.Apply(Batch{
		Loads:    []HostLoad{load("web-1", 0.1, 4, t0), load("db-1", 0.1, 4, t0)},
		Services: []ServiceState{svc("web-1", "mysql", protocol.StateDown, t0), svc("mx-1", "smtp", protocol.StateOK, t0), svc("web-1", "smtp", protocol.StateOK, t0)},
	}, t0)
	want := []incident.Internal{{Kind: "host", Name: "db-1"}, {Kind: "host", Name: "mx-1"}, {Kind: "host", Name: "web-1"},
		{Kind: "service", Name: "mysql"}, {Kind: "service", Name: "smtp"}}
	if got := s.InternalNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("InternalNames() = %v, want %v", got, want)
	}
}
