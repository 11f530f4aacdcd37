package customers

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// down and up are the journal's transition entries for a service.
func down(host, svc, when string) *protocol.Entry {
	return &protocol.Entry{Kind: protocol.EntryAlert, Actor: host, Host: host, Service: svc, State: protocol.StateDown, At: protocol.At(at(when))}
}
func up(host, svc, when string) *protocol.Entry {
	return &protocol.Entry{Kind: protocol.EntrySystem, Actor: host, Host: host, Service: svc, State: protocol.StateOK, At: protocol.At(at(when))}
}
func silent(host, when string) *protocol.Entry {
	return &protocol.Entry{Kind: protocol.EntryAlert, Actor: host, Host: host, Text: host + " stopped reporting (silent 45s)", At: protocol.At(at(when))}
}
func back(host, when string) *protocol.Entry {
	return &protocol.Entry{Kind: protocol.EntrySystem, Actor: host, Host: host, Text: host + " is reporting again after 10m", At: protocol.At(at(when))}
}
func inc(id, opened, resolved string, comps ...string) *protocol.IncidentMsg {
	in := protocol.Incident{ID: id, Kind: "outage", OpenedAt: protocol.At(at(opened)), Components: comps}
	if resolved != "" {
		in.ResolvedAt = protocol.TimePtr(at(resolved))
		in.Status = protocol.StatusResolved
	}
	return &protocol.IncidentMsg{Incident: in}
}
func maint(id, start, end string, comps ...string) *protocol.IncidentMsg {
	in := protocol.Incident{ID: id, Kind: Maintenance, OpenedAt: protocol.At(at(start)), Components: comps,
		ScheduledStart: protocol.TimePtr(at(start)), ScheduledEnd: protocol.TimePtr(at(end))}
	return &protocol.IncidentMsg{Incident: in}
}

func list(t *testing.T) *List {
	t.Helper()
	l, err := Parse(strings.NewReader(header+
		"a,Ada,ada@example.com,h1,,shared,100\n"+
		"b,Bob,bob@example.com,h2,mail,shared,50\n"+
		"c,Cy,cy@example.com,h1 h2,,shared,10\n"+
		"d,Di,di@example.com,h3,web,gold,1000\n"+
		"e,Ed,ed@example.com,h4,,shared,10\n"), "t.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func facts(ms ...protocol.Message) *Facts {
	f := NewFacts()
	for _, m := range ms {
		f.Observe(m)
	}
	return f
}

func TestAffected(t *testing.T) {
	l := list(t)
	now := at("2026-11-22T06:00:00Z")
	for _, tc := range []struct {
		name string
		msgs []protocol.Message
		want string
	}{
		{"two hosts down during the incident",
			[]protocol.Message{inc("I1", "2026-11-22T02:00:00Z", ""), down("h1", "exim", "2026-11-22T02:05:00Z"), up("h1", "exim", "2026-11-22T02:30:00Z"),
				silent("h2", "2026-11-22T02:10:00Z")}, "a b c"},
		{"outage before the incident opened does not count",
			[]protocol.Message{down("h1", "exim", "2026-11-22T00:05:00Z"), up("h1", "exim", "2026-11-22T00:30:00Z"), inc("I1", "2026-11-22T02:00:00Z", "")}, ""},
		{"outage after it was resolved does not count",
			[]protocol.Message{inc("I1", "2026-11-22T02:00:00Z", "2026-11-22T03:00:00Z"), down("h1", "exim", "2026-11-22T04:00:00Z")}, ""},
		{"host already down when opened",
			[]protocol.Message{down("h4", "httpd", "2026-11-22T01:00:00Z"), inc("I1", "2026-11-22T02:00:00Z", "")}, "e"},
		{"named component",
			[]protocol.Message{inc("I1", "2026-11-22T02:00:00Z", "", "web")}, "d"},
		{"component and host, once each",
			[]protocol.Message{inc("I1", "2026-11-22T02:00:00Z", "", "mail"), down("h2", "imap", "2026-11-22T02:01:00Z")}, "b c"},
		{"a warn is not down",
			[]protocol.Message{inc("I1", "2026-11-22T02:00:00Z", ""), &protocol.Entry{Kind: protocol.EntryAlert, Host: "h1", Service: "x", State: protocol.StateWarn, At: protocol.At(at("2026-11-22T02:01:00Z"))}}, ""},
		{"load level is not down",
			[]protocol.Message{inc("I1", "2026-11-22T02:00:00Z", ""), &protocol.Entry{Kind: protocol.EntryAlert, Host: "h1", Level: "crit", Text: "load on h1 ok → crit: load1 9", At: protocol.At(at("2026-11-22T02:01:00Z"))}}, ""},
		{"unknown incident", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(facts(tc.msgs...).Affected(l, "I1", now), " ")
			if got != tc.want {
				t.Fatalf("affected %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCredits(t *testing.T) {
	shared := Plan{Name: "shared", Target: 99.9, Credits: []Tier{{99.9, 10}, {99.0, 25}, {95.0, 50}}, ExcludeMaintenance: true}
	gold := Plan{Name: "gold", Target: 99.99, Credits: []Tier{{99.99, 5}}}
	ps := map[string]Plan{"shared": shared, "gold": gold}
	nov := Month{at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z")} // 43,200 minutes
	after := at("2027-01-01T00:00:00Z")
	type row struct {
		id    string
		mins  float64
		avail float64
		pct   float64
		amt   float64
		incs  string
	}
	for _, tc := range []struct {
		name string
		msgs []protocol.Message
		now  time.Time
		want []row
	}{
		{"60 minutes down: under 99.9 earns 10%",
			[]protocol.Message{inc("I1", "2026-11-10T10:00:00Z", "2026-11-10T12:00:00Z"), down("h1", "exim", "2026-11-10T10:00:00Z"), up("h1", "exim", "2026-11-10T11:00:00Z")}, after,
			[]row{{"a", 60, 99.861, 10, 10, "I1"}, {"c", 60, 99.861, 10, 1, "I1"}}},
		{"month boundary: only November's part counts",
			[]protocol.Message{down("h4", "x", "2026-10-31T23:00:00Z"), up("h4", "x", "2026-11-01T00:30:00Z"), down("h4", "x", "2026-11-30T23:50:00Z"), up("h4", "x", "2026-12-01T05:00:00Z")}, after,
			[]row{{"e", 40, 99.907, 0, 0, ""}}},
		{"times in another zone are read in UTC",
			// 2026-11-01T00:30+02:00 is 2026-10-31T22:30Z: October's.
			[]protocol.Message{down("h4", "x", "2026-11-01T00:30:00+02:00"), up("h4", "x", "2026-11-01T01:30:00+02:00"), down("h4", "x", "2026-11-30T20:00:00-05:00"), up("h4", "x", "2026-11-30T20:30:00-05:00")}, after,
			nil},
		{"overlapping outages and incidents count once",
			[]protocol.Message{inc("I1", "2026-11-05T00:00:00Z", "2026-11-05T10:00:00Z"), inc("I2", "2026-11-05T01:00:00Z", "2026-11-05T02:00:00Z"),
				down("h1", "exim", "2026-11-05T00:00:00Z"), down("h1", "imap", "2026-11-05T05:00:00Z"), up("h1", "exim", "2026-11-05T06:00:00Z"), up("h1", "imap", "2026-11-05T08:00:00Z"),
				down("h2", "web", "2026-11-05T07:00:00Z"), up("h2", "web", "2026-11-05T09:00:00Z")}, after,
			[]row{{"a", 480, 98.889, 25, 25, "I1 I2"}, {"b", 120, 99.722, 10, 5, "I1"}, {"c", 540, 98.75, 25, 2.5, "I1 I2"}}},
		{"announced maintenance is excluded when the plan says so",
			[]protocol.Message{maint("M1", "2026-11-07T02:00:00Z", "2026-11-07T04:00:00Z"), down("h1", "x", "2026-11-07T02:00:00Z"), up("h1", "x", "2026-11-07T04:30:00Z"),
				down("h3", "x", "2026-11-07T02:00:00Z"), up("h3", "x", "2026-11-07T04:00:00Z")}, after,
			[]row{{"a", 30, 99.931, 0, 0, ""}, {"c", 30, 99.931, 0, 0, ""}, {"d", 120, 99.722, 5, 50, ""}}},
		{"maintenance of another component is not excluded",
			[]protocol.Message{maint("M1", "2026-11-07T02:00:00Z", "2026-11-07T04:00:00Z", "web"), down("h2", "x", "2026-11-07T02:00:00Z"), up("h2", "x", "2026-11-07T03:00:00Z")}, after,
			[]row{{"b", 60, 99.861, 10, 5, ""}, {"c", 60, 99.861, 10, 1, ""}}},
		{"silence is downtime; still open counts up to now",
			[]protocol.Message{silent("h4", "2026-11-20T00:00:00Z"), back("h4", "2026-11-20T06:00:00Z"), down("h4", "x", "2026-11-29T23:00:00Z")}, at("2026-11-30T00:00:00Z"),
			[]row{{"e", 420, 99.028, 10, 1, ""}}},
		{"a long month-long outage earns the top tier",
			[]protocol.Message{down("h4", "x", "2026-11-01T00:00:00Z"), up("h4", "x", "2026-11-03T00:00:00Z")}, after,
			[]row{{"e", 2880, 93.333, 50, 5, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Credits(list(t), facts(tc.msgs...), ps, nov, tc.now)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d rows %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Customer.ID != w.id || g.DownMinutes != w.mins || g.Availability != w.avail || g.CreditPercent != w.pct || g.Credit != w.amt || strings.Join(g.Incidents, " ") != w.incs {
					t.Errorf("row %d = %s %v min %v%% tier %v%% credit %v incidents %v; want %+v", i, g.Customer.ID, g.DownMinutes, g.Availability, g.CreditPercent, g.Credit, g.Incidents, w)
				}
			}
		})
	}
}

func TestParseMonth(t *testing.T) {
	m, err := ParseMonth("2026-02")
	if err != nil || m.End.Sub(m.Start) != 28*24*time.Hour || m.String() != "2026-02" {
		t.Fatalf("%v %v", m, err)
	}
	if _, err := ParseMonth("2026-13"); err == nil {
		t.Fatal("month 13 accepted")
	}
	// A moment late on the 31st in New York is already December in UTC.
	ny := time.FixedZone("EST", -5*3600)
	if got := MonthOf(time.Date(2026, 11, 30, 20, 0, 0, 0, ny)).String(); got != "2026-12" {
		t.Fatalf("month of 20:00 EST on Nov 30: %s", got)
	}
}

func TestSummarize(t *testing.T) {
	got := Summarize([]Credit{{CreditPercent: 10, Credit: 1}, {CreditPercent: 25, Credit: 2.5}, {CreditPercent: 10, Credit: 3.33}, {}})
	if len(got) != 2 || got[0] != (Due{25, 1, 2.5}) || got[1] != (Due{10, 2, 4.33}) {
		t.Fatalf("%+v", got)
	}
}

func TestOldOutagesAreForgotten(t *testing.T) {
	f := facts(down("h1", "x", "2025-01-01T00:00:00Z"), up("h1", "x", "2025-01-01T01:00:00Z"),
		down("h1", "x", "2026-11-01T00:00:00Z"), up("h1", "x", "2026-11-01T01:00:00Z"))
	if got := f.Outages("h1", at("2020-01-01T00:00:00Z"), at("2030-01-01T00:00:00Z"), at("2030-01-01T00:00:00Z")); len(got) != 1 || !got[0].From.Equal(at("2026-11-01T00:00:00Z")) {
		t.Fatalf("outages kept: %+v", got)
	}
}
