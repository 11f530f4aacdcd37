package state

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// dlNow is the board's clock in the deadline tests: a Monday morning.
var dlNow = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

var watches = []ExpiryWatch{
	{Service: "shop-cert", Kind: DeadlineCertificate, WarnDays: 21, CritDays: 7},
	{Service: "shop-domain", Kind: DeadlineDomain, WarnDays: 30, CritDays: 7},
}

// maintenance is a maintenance declared from the built-in runbook, as the
// hub would have sent it, starting at start for two hours.
func maintenance(id string, seq uint64, start time.Time, mutate func(*protocol.Incident)) JournalEvent {
	inc, _, ref := incident.Defaults().Declare(id, protocol.Command{Actor: "alice", Title: "Move " + id + " to the new rack", Severity: "SEV3", Kind: "maintenance", ScheduledStart: protocol.TimePtr(start)}, start.Add(-10*24*time.Hour))
	if ref != nil {
		panic(ref)
	}
	inc.ScheduledEnd = protocol.TimePtr(start.Add(2 * time.Hour))
	if mutate != nil {
		mutate(&inc)
	}
	return JournalEvent{Feed: "hub", Msg: &protocol.IncidentMsg{Seq: seq, Incident: inc}}
}

func outage(opened time.Time) JournalEvent {
	inc, _, ref := incident.Defaults().Declare("INC-9", protocol.Command{Actor: "bob", Title: "Mail down", Severity: "SEV2", Kind: "outage"}, opened)
	if ref != nil {
		panic(ref)
	}
	return JournalEvent{Feed: "hub", Msg: &protocol.IncidentMsg{Seq: 1, Incident: inc}}
}

func tick(inc *protocol.Incident, id string, at time.Time) {
	for i := range inc.Checklist {
		if inc.Checklist[i].ID == id {
			by := "alice"
			inc.Checklist[i].DoneAt, inc.Checklist[i].DoneBy = protocol.TimePtr(at), &by
		}
	}
}

func row(ds []Deadline) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		due := "-"
		if !d.Due.IsZero() {
			due = d.Due.UTC().Format("01-02 15:04")
			if d.Bound {
				due = "<=" + due
			}
		}
		out[i] = fmt.Sprintf("%s|%s|%s|%s", due, d.Kind, d.State, strings.TrimSpace(d.Item+" "+d.Service))
	}
	return out
}

func TestDeadlines(t *testing.T) {
	day := 24 * time.Hour
	inFive := dlNow.Add(5 * day) // a maintenance on Saturday 09:00
	tests := []struct {
		name     string
		services []ServiceState
		events   []Event
		now      time.Time
		want     []string
	}{
		{
			name: "nothing watched, nothing due",
			want: []string{},
		},
		{
			name: "expiries: crit bound first, then warn, unknown and ok undated; other services ignored",
			services: []ServiceState{
				svc("web-1", "shop-cert", protocol.StateDown, dlNow.Add(-2*day)),
				svc("web-1", "shop-domain", protocol.StateWarn, dlNow.Add(-10*day)),
				svc("web-2", "shop-cert", protocol.StateOK, dlNow.Add(-40*day)),
				svc("web-2", "shop-domain", protocol.StateUnknown, dlNow.Add(-time.Hour)),
				svc("web-1", "exim", protocol.StateDown, dlNow.Add(-time.Hour)),
			},
			want: []string{
				"<=12-12 09:00|certificate|crit|shop-cert",  // down two days ago: within 7 days then
				"<=12-27 09:00|domain|expiring|shop-domain", // warn since ten days: within 30 then
				"-|domain|unknown|shop-domain",
				"-|certificate|ok|shop-cert",
			},
		},
		{
			name:   "a maintenance five days ahead: the week-ahead notice is overdue, the day-ahead due",
			events: []Event{maintenance("INC-4", 1, inFive, nil)},
			want: []string{
				"12-05 09:00|announcement|overdue|announce-week",
				"12-11 09:00|announcement|due|announce-day",
				"12-11 09:00|announcement|due|channels",
				"12-12 09:00|maintenance|scheduled|",
				"12-12 09:00|step|due|start-notice",
				"-|follow-up|after|complete-notice",
				"-|follow-up|after|follow-up",
			},
		},
		{
			name: "the week-ahead notice went out: announced, at when it went",
			events: []Event{maintenance("INC-4", 1, inFive, func(in *protocol.Incident) {
				tick(in, "announce-week", inFive.Add(-8*day))
			})},
			want: []string{
				"12-11 09:00|announcement|due|announce-day",
				"12-11 09:00|announcement|due|channels",
				"12-12 09:00|maintenance|scheduled|",
				"12-12 09:00|step|due|start-notice",
				"-|follow-up|after|complete-notice",
				"-|follow-up|after|follow-up",
				"12-04 09:00|announcement|announced|announce-week", // settled: last
			},
		},
		{
			name: "in progress past its end: overrun, with the end as its date",
			events: []Event{maintenance("INC-4", 1, dlNow.Add(-3*time.Hour), func(in *protocol.Incident) {
				for _, id := range []string{"announce-week", "announce-day", "channels", "start-notice"} {
					tick(in, id, dlNow.Add(-4*time.Hour))
				}
			})},
			want: []string{
				"12-07 08:00|maintenance|overrun|",
				"-|follow-up|after|complete-notice",
				"-|follow-up|after|follow-up",
				"12-07 05:00|announcement|announced|announce-week",
				"12-07 05:00|announcement|announced|announce-day",
				"12-07 05:00|announcement|announced|channels",
				"12-07 05:00|step|done|start-notice",
			},
		},
		{
			name: "resolved: only the follow-ups still to do remain",
			events: []Event{maintenance("INC-4", 1, dlNow.Add(-3*time.Hour), func(in *protocol.Incident) {
				in.Status, in.ResolvedAt = protocol.StatusResolved, protocol.TimePtr(dlNow.Add(-time.Hour))
				tick(in, "complete-notice", dlNow.Add(-50*time.Minute))
			})},
			want: []string{"-|follow-up|due|follow-up"},
		},
		{
			name:   "an outage's recurring update and its follow-ups; undated steps are the checklist's",
			events: []Event{outage(dlNow.Add(-20 * time.Minute))},
			want: []string{
				"12-07 09:10|recurring|due|updates",
				"12-07 09:40|recurring|due|answer-messages",
				"-|follow-up|after|resolved-notice",
				"-|follow-up|after|postmortem",
				"-|follow-up|after|make-right",
				"-|follow-up|after|debrief",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(level.Defaults(), 0)
			now := tc.now
			if now.IsZero() {
				now = dlNow
			}
			s.Apply(Batch{Services: tc.services, Events: tc.events}, now)
			got := row(s.Deadlines(now, watches))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestRenewedExpiry(t *testing.T) {
	s := New(level.Defaults(), 0)
	s.Apply(Batch{Services: []ServiceState{svc("web-1", "shop-cert", protocol.StateWarn, dlNow.Add(-3*24*time.Hour))}}, dlNow)
	s.Apply(Batch{Services: []ServiceState{svc("web-1", "shop-cert", protocol.StateOK, dlNow.Add(-time.Hour))}}, dlNow)
	if got := s.Deadlines(dlNow, watches); len(got) != 1 || got[0].State != DueRenewed || !got[0].Due.IsZero() {
		t.Fatalf("got %+v", got)
	}
	if got := s.Deadlines(dlNow.Add(RenewedFor), watches); got[0].State != DueOK {
		t.Fatalf("a week on, still %s", got[0].State)
	}
}

func TestOverruns(t *testing.T) {
	s := New(level.Defaults(), 0)
	s.Apply(Batch{Events: []Event{
		maintenance("INC-7", 1, dlNow.Add(-3*time.Hour), nil), // ended 08:00
		maintenance("INC-8", 2, dlNow.Add(-time.Hour), nil),   // ends 10:00
		declared(3, dlNow.Add(-5*time.Hour)),
	}}, dlNow)
	got := s.Overruns(dlNow)
	if len(got) != 1 || got[0].ID != "INC-7" {
		t.Fatalf("overruns %+v", got)
	}
}

// BenchmarkDeadlines is the list of a large board: 2,000 services of which
// 400 watch an expiry, and 40 maintenances with their checklists. The pane
// recomputes it only when services or incidents changed, or the minute.
func BenchmarkDeadlines(b *testing.B) {
	s := New(level.Defaults(), 0)
	var svcs []ServiceState
	var ws []ExpiryWatch
	states := []string{protocol.StateOK, protocol.StateWarn, protocol.StateDown, protocol.StateOK}
	for i := 0; i < 2000; i++ {
		name := fmt.Sprintf("svc-%d", i%50)
		if i%50 < 10 {
			name = fmt.Sprintf("cert-%d", i%50)
		}
		svcs = append(svcs, svc(fmt.Sprintf("web-%d", i/50), name, states[i%4], dlNow.Add(-time.Duration(i)*time.Hour)))
	}
	for i := 0; i < 10; i++ {
		ws = append(ws, ExpiryWatch{Service: fmt.Sprintf("cert-%d", i), Kind: DeadlineCertificate, WarnDays: 21, CritDays: 7})
	}
	var events []Event
	for i := 0; i < 40; i++ {
		events = append(events, maintenance(fmt.Sprintf("INC-%d", i+1), uint64(i+1), dlNow.Add(time.Duration(i-5)*24*time.Hour), nil))
	}
	s.Apply(Batch{Services: svcs, Events: events}, dlNow)
	b.ResetTimer()
	for b.Loop() {
		if len(s.Deadlines(dlNow, ws)) == 0 {
			b.Fatal("nothing due")
		}
	}
}
