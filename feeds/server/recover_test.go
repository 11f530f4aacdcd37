package server

import (
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func TestLegacyTransition(t *testing.T) {
	entry := func(kind, actor, text string) *protocol.Entry {
		return &protocol.Entry{Seq: 1, Kind: kind, Actor: actor, Text: text}
	}
	tests := []struct {
		name                  string
		e                     *protocol.Entry
		service, state, level string
		ok                    bool
	}{
		{"service down", entry("alert", "web-3", "exim on web-3 ok → down: connect 127.0.0.1:25: connection refused"), "exim", "down", "", true},
		{"service new", entry("alert", "web-3", "exim on web-3 new → warn"), "exim", "warn", "", true},
		{"service back", entry("system", "web-3", "exim on web-3 down → ok"), "exim", "ok", "", true},
		{"load crit", entry("alert", "web-3", "load on web-3 ok → crit: load1 9.00 on 4 CPUs (2.25 per CPU; warn 0.70, crit 1.00)"), "", "", "crit", true},
		{"load back", entry("system", "web-3", "load on web-3 crit → ok: load1 1.00 on 4 CPUs"), "", "", "ok", true},
		{"a service named load", entry("alert", "web-3", "load on web-3 ok → down: no answer"), "load", "down", "", true},
		{"a note", entry("note", "alice", "exim on web-3 ok → down"), "", "", "", false},
		{"another actor", entry("alert", "alice", "exim on web-3 ok → down"), "", "", "", false},
		{"unknown state", entry("alert", "web-3", "exim on web-3 ok → melted"), "", "", "", false},
		{"no arrow", entry("alert", "web-3", "web-3 stopped reporting (silent 15s)"), "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := legacyTransition(tt.e)
			if ok != tt.ok || got.Service != tt.service || got.State != tt.state || got.Level != tt.level || (ok && got.Host != "web-3") {
				t.Fatalf("got %+v %v", got, ok)
			}
		})
	}
	inc := entry("alert", "web-3", "exim on web-3 ok → down")
	inc.Incident = "INC-1"
	if _, ok := legacyTransition(inc); ok {
		t.Fatal("an incident's entry read as a transition")
	}
}

// A journal written before transition entries carried their fields: the
// first restart after the upgrade journals nothing new either.
func TestRestartOverLegacyJournal(t *testing.T) {
	dir := t.TempDir()
	j, _, err := journal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	since := protocol.At(time.Date(2026, 11, 22, 1, 58, 0, 0, time.UTC))
	j.Append("", &protocol.Entry{At: since, Actor: "web-3", Kind: protocol.EntryAlert, Text: "exim on web-3 ok → down: connect: connection refused"})
	j.Append("", &protocol.Entry{At: since, Actor: "web-3", Kind: protocol.EntryAlert, Text: "load on web-3 ok → crit: load1 9.00 on 4 CPUs (2.25 per CPU; warn 0.70, crit 1.00)"})
	j.Close()
	srv := startServer(t, dir, "", Options{})
	now := protocol.At(time.Now())
	srv.hub.PublishService(protocol.Service{Host: "web-3", Service: "exim", State: protocol.StateDown, Since: now, At: now})
	srv.hub.PublishLoad(protocol.Load{Host: "web-3", At: now, Interval: protocol.Duration(time.Second), Load1: 9, CPUs: 4})
	if seq := srv.hub.Seq(); seq != 2 {
		t.Fatalf("the restart journaled %d messages", seq-2)
	}
	srv.hub.mu.Lock()
	got := srv.hub.live.services[serviceKey("web-3", "exim")].Since
	srv.hub.mu.Unlock()
	if !got.Equal(since.Time) {
		t.Fatalf("since %s, want %s", got, since)
	}
}

func FuzzLegacyTransition(f *testing.F) {
	f.Add("alert", "web-3", "exim on web-3 ok → down: connect: refused")
	f.Add("system", "web-3", "load on web-3 crit → ok: load1 1.00 on 4 CPUs")
	f.Add("alert", "a", "on a  → ok")
	f.Fuzz(func(t *testing.T, kind, actor, text string) {
		got, ok := legacyTransition(&protocol.Entry{Seq: 1, Kind: kind, Actor: actor, Text: text})
		if !ok {
			return
		}
		if protocol.CheckID("host", got.Host) != nil || (got.Level == "") == (got.State == "") {
			t.Fatalf("read %q as %+v", text, got)
		}
		if got.State != "" && (!protocol.ValidState(got.State) || protocol.CheckID("service", got.Service) != nil) {
			t.Fatalf("read %q as %+v", text, got)
		}
	})
}
