package state

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

var t0 = time.Date(2026, 11, 22, 2, 14, 0, 0, time.UTC)

func TestSanitize(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "web-3", "web-3"},
		{"unicode kept", "サーバー ✓", "サーバー ✓"},
		{"retitle the terminal", "web\x1b]0;pwned\x07-3", "web-3"},
		{"clipboard write", "a\x1b]52;c;ZWNobyBoaQ==\x1b\\b", "ab"},
		{"csi colour and clear", "\x1b[31m\x1b[2Jred", "red"},
		{"c1 csi", "x\u009b2Jy", "xy"},
		{"dcs", "a\x1bPq#0;2;0;0;0\x1b\\b", "ab"},
		{"newlines and tabs", "line1\nline2\tend\r", "line1 line2 end "},
		{"bell and nul", "a\x07b\x00c", "abc"},
		{"bidi override", "abc\u202edcba", "abcdcba"},
		{"invalid utf8", "a\xffb", "a\uFFFDb"},
		{"lone escape at end", "abc\x1b", "abc"},
		{"two byte escape", "a\x1bcb", "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sanitize(tt.in); got != tt.want {
				t.Fatalf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzSanitize(f *testing.F) {
	f.Add("web\x1b]0;pwned\x07-3")
	f.Add("\x1b[31mred\u009b2J")
	f.Fuzz(func(t *testing.T, s string) {
		out := Sanitize(s)
		for _, r := range out {
			if r < 0x20 || (r >= 0x7f && r < 0xa0) || isBidiControl(r) {
				t.Fatalf("Sanitize(%q) left control %U in %q", s, r, out)
			}
		}
	})
}

func load(host string, l1 float64, cpus int, received time.Time) HostLoad {
	return HostLoad{Feed: "hub", Load: protocol.Load{Host: host, At: protocol.At(received), Interval: protocol.Duration(5 * time.Second), Load1: l1, CPUs: cpus}, Received: received}
}

func svc(host, name, st string, since time.Time, changes ...time.Time) ServiceState {
	return ServiceState{Feed: "hub", Service: protocol.Service{Host: host, Service: name, State: st, Since: protocol.At(since)}, Received: since, Changes: changes}
}

func TestHostsWorstFirstAndStale(t *testing.T) {
	s := New(level.Defaults(), 0)
	s.Apply(Batch{Loads: []HostLoad{
		load("calm", 0.1, 4, t0), load("busy", 3.0, 4, t0), load("melting", 9, 4, t0),
		load("silent", 0.1, 4, t0.Add(-time.Minute)), load("alpha", 0.1, 4, t0),
	}}, t0)
	var got []string
	for _, h := range s.Hosts(t0) {
		got = append(got, h.Name)
	}
	if strings.Join(got, " ") != "melting silent busy alpha calm" {
		t.Fatalf("order = %v", got)
	}
	if !s.Hosts(t0)[1].Stale(t0) {
		t.Fatal("a host silent for 3 intervals is stale")
	}
}

func TestServicesProblemsFirstAndFlapping(t *testing.T) {
	s := New(level.Defaults(), 0)
	s.Apply(Batch{Services: []ServiceState{
		svc("a", "httpd", "ok", t0), svc("b", "exim", "down", t0.Add(-time.Minute)),
		svc("c", "mysql", "warn", t0), svc("a", "exim", "down", t0.Add(-5*time.Minute)),
		svc("d", "dns", "flappy", t0, t0.Add(-3*time.Minute), t0.Add(-2*time.Minute), t0.Add(-time.Minute)),
	}}, t0)
	var got []string
	for _, sv := range s.Services() {
		got = append(got, sv.Host+"/"+sv.Name)
	}
	if strings.Join(got, " ") != "a/exim b/exim c/mysql d/dns a/httpd" {
		t.Fatalf("order = %v", got)
	}
	for _, sv := range s.Services() {
		if (sv.Name == "dns") != sv.Flapping(t0) {
			t.Fatalf("%s flapping = %v", sv.Name, sv.Flapping(t0))
		}
	}
}

func TestAlertsOncePerEvent(t *testing.T) {
	s := New(level.Defaults(), 0)
	s.Apply(Batch{Loads: []HostLoad{load("h", 0.1, 1, t0)}, Services: []ServiceState{svc("h", "exim", "ok", t0)}}, t0)
	if len(s.TakeAlerts()) != 0 {
		t.Fatal("first sight of a healthy fleet rang")
	}
	s.Apply(Batch{Loads: []HostLoad{load("h", 5, 1, t0)}, Services: []ServiceState{svc("h", "exim", "down", t0, t0)}}, t0)
	if a := s.TakeAlerts(); len(a) != 2 {
		t.Fatalf("alerts = %+v, want crit and down", a)
	}
	s.Apply(Batch{Loads: []HostLoad{load("h", 6, 1, t0)}, Services: []ServiceState{svc("h", "exim", "down", t0, t0)}}, t0)
	if a := s.TakeAlerts(); len(a) != 0 {
		t.Fatalf("still crit and down rang again: %+v", a)
	}
}

func declared(seq uint64, opened time.Time) JournalEvent {
	inc := protocol.Incident{ID: "INC-1", Title: "t\x1b[2J", Severity: "SEV2", Kind: "outage", Status: "investigating", OpenedAt: protocol.At(opened),
		Checklist: []protocol.Item{{ID: "ack", Title: "Acknowledge", Due: protocol.DurationPtr(5 * time.Minute)}}}
	return JournalEvent{Feed: "hub", Msg: &protocol.IncidentMsg{Seq: seq, Incident: inc}}
}

func TestOverdueRingsOnce(t *testing.T) {
	s := New(level.Defaults(), 0)
	s.Apply(Batch{Events: []Event{declared(1, t0)}}, t0)
	if s.Incident("INC-1").Title != "t" {
		t.Fatalf("title not sanitised: %q", s.Incident("INC-1").Title)
	}
	s.Tick(t0.Add(4 * time.Minute))
	if len(s.TakeAlerts()) != 0 {
		t.Fatal("rang before the deadline")
	}
	s.Tick(t0.Add(6 * time.Minute))
	s.Tick(t0.Add(7 * time.Minute))
	if a := s.TakeAlerts(); len(a) != 1 || !strings.Contains(a[0].Text, "overdue") {
		t.Fatalf("alerts = %+v", a)
	}
}

func TestPendingThenAckOrNack(t *testing.T) {
	s := New(level.Defaults(), 0)
	done := true
	cmd := protocol.Command{ID: "c-1", Op: "check", Incident: "INC-1", Item: "ack", Done: &done}
	s.Apply(Batch{Events: []Event{declared(1, t0), QueuedEvent{Feed: "hub", Command: cmd}}}, t0)
	if s.PendingCheck("INC-1", "ack") == nil {
		t.Fatal("tick not pending")
	}
	s.Apply(Batch{Events: []Event{NackEvent{Feed: "hub", ID: "c-1", Code: "forbidden", Error: "commands need a token\x1b]0;x\x07"}}}, t0)
	if s.PendingCheck("INC-1", "ack") != nil {
		t.Fatal("still pending after nack")
	}
	ref, ok := s.RefusedCheck("INC-1", "ack")
	if !ok || ref.Code != "forbidden" || ref.Error != "commands need a token" || !s.Notice.Error {
		t.Fatalf("refusal = %+v %v", ref, s.Notice)
	}
	cmd.ID = "c-2"
	s.Apply(Batch{Events: []Event{QueuedEvent{Feed: "hub", Command: cmd}, AckEvent{Feed: "hub", ID: "c-2"}}}, t0)
	if _, still := s.RefusedCheck("INC-1", "ack"); still || s.PendingCount() != 0 {
		t.Fatal("a new tick should clear the old refusal, and the ack the pending")
	}
}

func TestDisconnectionBecomesAGap(t *testing.T) {
	s := New(level.Defaults(), 0)
	s.Apply(Batch{Events: []Event{
		StatusEvent{Feed: "hub", State: FeedSynced, At: t0},
		StatusEvent{Feed: "hub", State: FeedDisconnected, Reason: "connection lost", At: t0.Add(time.Minute)},
		StatusEvent{Feed: "hub", State: FeedDisconnected, Reason: "dial: refused", At: t0.Add(2 * time.Minute)},
	}}, t0)
	if _, open := s.Gaps()["hub"]; !open {
		t.Fatal("gap not open while disconnected")
	}
	s.Apply(Batch{Events: []Event{StatusEvent{Feed: "hub", State: FeedSynced, At: t0.Add(5 * time.Minute)}}}, t0)
	if s.Timeline.Len("") != 1 {
		t.Fatalf("timeline len = %d", s.Timeline.Len(""))
	}
	e := s.Timeline.At("", 0)
	if e.Kind != KindGap || !strings.Contains(e.Text, "from 02:15:00 to 02:19:00 UTC") || !strings.Contains(e.Text, "connection lost") {
		t.Fatalf("gap entry = %+v", e)
	}
}

func TestTimelineIndexAndCap(t *testing.T) {
	tl := NewTimeline(100)
	tl.Add(Entry{Text: "before"}) // system entry before any incident
	for i := 0; i < 250; i++ {
		inc := "INC-1"
		if i%5 == 0 {
			inc = ""
		}
		if i%7 == 0 {
			inc = "INC-2"
		}
		tl.Add(Entry{Incident: inc, Text: fmt.Sprint(i)})
	}
	if tl.Total() > 100 || tl.Dropped == 0 {
		t.Fatalf("total %d dropped %d", tl.Total(), tl.Dropped)
	}
	for _, id := range []string{"INC-1", "INC-2"} {
		for i := 0; i < tl.Len(id); i++ {
			e := tl.At(id, i)
			if e.Incident != id && e.Incident != "" {
				t.Fatalf("%s list holds %+v", id, e)
			}
		}
	}
	if last := tl.At("INC-1", tl.Len("INC-1")-1); last.Text != "249" {
		t.Fatalf("last INC-1 entry = %+v", last)
	}
}

func TestJournalResetDropsTheFeed(t *testing.T) {
	s := New(level.Defaults(), 0)
	s.Apply(Batch{Events: []Event{declared(1, t0),
		JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: 2, Incident: "INC-1", At: protocol.At(t0), Kind: "note", Text: "x"}}}}, t0)
	s.Apply(Batch{Events: []Event{ResetEvent{Feed: "hub", OldJournal: "j-1", NewJournal: "j-2"}}}, t0)
	if s.Incident("INC-1") != nil || s.Timeline.Total() != 0 {
		t.Fatal("state from the old journal survived the reset")
	}
}

func TestStaleByFeedOrSilence(t *testing.T) {
	s := New(level.Defaults(), 0)
	s.Apply(Batch{Loads: []HostLoad{load("web-1", 0.1, 4, t0), load("web-2", 0.1, 4, t0.Add(-time.Minute))},
		Services: []ServiceState{svc("web-1", "httpd", "ok", t0), svc("web-2", "httpd", "ok", t0), svc("agentless", "dns", "ok", t0)},
		Health:   []Health{{Feed: "hub", State: FeedSynced}}}, t0)
	stale := func(host, name string) bool { return s.ServiceStale(s.Service(host, name), t0) }
	if stale("web-1", "httpd") || !stale("web-2", "httpd") || stale("agentless", "dns") {
		t.Fatalf("stale: web-1 %v web-2 %v agentless %v; want only web-2 (its host stopped reporting)", stale("web-1", "httpd"), stale("web-2", "httpd"), stale("agentless", "dns"))
	}
	v := s.ServicesVersion
	s.Apply(Batch{Health: []Health{{Feed: "hub", State: FeedDisconnected}}}, t0)
	if !stale("web-1", "httpd") || !stale("agentless", "dns") || !s.HostStale(s.Host("web-1"), t0) || s.StaleHosts(t0) != 2 {
		t.Fatal("a dead feed's hosts and services must read as stale")
	}
	if s.ServicesVersion == v {
		t.Fatal("a health change must redraw the services")
	}
}

func TestFleetEntriesSkipResolvedIncidents(t *testing.T) {
	s := New(level.Defaults(), 0)
	open, closed := declared(1, t0), declared(2, t0)
	closed.Msg.(*protocol.IncidentMsg).Incident.ID = "INC-2"
	closed.Msg.(*protocol.IncidentMsg).Incident.Status = protocol.StatusResolved
	s.Apply(Batch{Events: []Event{open, closed, JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: 3, At: protocol.At(t0), Kind: "alert", Text: "db down"}}}}, t0)
	if s.Timeline.Len("INC-1") != 1 || s.Timeline.Len("INC-2") != 0 || s.Timeline.Len("") != 1 {
		t.Fatalf("open %d, resolved %d, all %d; want 1, 0, 1", s.Timeline.Len("INC-1"), s.Timeline.Len("INC-2"), s.Timeline.Len(""))
	}
}

func TestPresenceMergedAndSanitised(t *testing.T) {
	s := New(level.Defaults(), 0)
	s.Apply(Batch{Events: []Event{
		PresenceEvent{Feed: "a", Watchers: []protocol.Watcher{{Actor: "carol"}, {Actor: "bob\x1b]0;x\x07"}}},
		PresenceEvent{Feed: "b", Watchers: []protocol.Watcher{{Actor: "carol"}, {Actor: "alice"}, {Actor: ""}}},
	}}, t0)
	var names []string
	for _, w := range s.Watchers() {
		names = append(names, w.Actor)
	}
	if strings.Join(names, ",") != "alice,bob,carol" {
		t.Fatalf("watchers = %v", names)
	}
	s.Apply(Batch{Events: []Event{PresenceEvent{Feed: "a"}}}, t0)
	if len(s.Watchers()) != 2 {
		t.Fatalf("a feed's new set replaces its old one: %v", s.Watchers())
	}
}

func TestEvidenceKeepsLinesAndDropsEscapes(t *testing.T) {
	s := New(level.Defaults(), 0)
	s.Apply(Batch{Events: []Event{JournalEvent{Feed: "hub", Msg: &protocol.Entry{Seq: 1, At: protocol.At(t0), Kind: "evidence", Host: "web-3", Text: "x",
		Evidence: &protocol.EvidenceData{Processes: []protocol.Process{{User: "u\x1b[2J"}}, Outputs: []protocol.Output{{Name: "mailq", Text: "line 1\nline 2\x1b]52;c;x\x07"}}}}}}}, t0)
	e := s.LatestEvidence("web-3")
	if e == nil || e.Evidence.Outputs[0].Text != "line 1\nline 2" || e.Evidence.Processes[0].User != "u" {
		t.Fatalf("evidence = %+v", e)
	}
}

func TestFailedDeliveryShowsUntilItSucceeds(t *testing.T) {
	s := New(level.Defaults(), 0)
	entry := func(seq uint64, kind, channel, outcome string) Event {
		e := &protocol.Entry{Seq: seq, Incident: "INC-1", At: protocol.At(t0), Kind: kind, Text: kind, Ref: "c-7", Channel: channel}
		if kind == protocol.EntryPublish {
			e.Item, e.Channels = "status-page", []string{"page", "email"}
		} else {
			e.Delivery = &protocol.Delivery{Outcome: outcome, Attempt: 1}
		}
		return JournalEvent{Feed: "hub", Msg: e}
	}
	s.Apply(Batch{Events: []Event{declared(1, t0), entry(2, protocol.EntryPublish, "", ""),
		entry(3, protocol.EntryDelivery, "page", protocol.DeliveryDelivered),
		entry(4, protocol.EntryDelivery, "email", protocol.DeliveryFailed)}}, t0)
	if failed, retrying := s.UndeliveredChannels("INC-1", "status-page"); strings.Join(failed, ",") != "email" || len(retrying) != 0 {
		t.Fatalf("failed %v retrying %v", failed, retrying)
	}
	s.Apply(Batch{Events: []Event{entry(5, protocol.EntryDelivery, "email", protocol.DeliveryDelivered)}}, t0)
	if failed, _ := s.UndeliveredChannels("INC-1", "status-page"); len(failed) != 0 {
		t.Fatalf("still failed after a delivery: %v", failed)
	}
}
