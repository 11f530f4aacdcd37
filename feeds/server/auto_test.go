package server

import (
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
)

func TestAutoComponentFollowsItsHosts(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	at := func(m int) protocol.Time { return protocol.At(t0.Add(time.Duration(m) * time.Minute)) }
	tr := newAutoTrack([]AutoComponent{{ID: "mail", Hosts: []string{"shared-*"}, Services: []string{"exim"}}, {ID: "web", Hosts: []string{"web-1"}}})
	for _, e := range []*protocol.Entry{
		{Host: "shared-04", Service: "exim", State: protocol.StateWarn, At: at(0)},
		{Host: "shared-04", Service: "httpd", State: protocol.StateDown, At: at(1)}, // not a mail service
		{Host: "db-1", Service: "exim", State: protocol.StateDown, At: at(2)},       // not a mail host
		{Host: "shared-05", Service: "exim", State: protocol.StateDown, At: at(10)},
		{Host: "shared-05", Service: "exim", State: protocol.StateOK, At: at(40)},
		{Host: "shared-04", Service: "exim", State: protocol.StateOK, At: at(50)},
		{Host: "web-1", Kind: protocol.EntryAlert, Text: "web-1 stopped reporting (silent 45s)", At: at(60)},
	} {
		tr.observe(e)
	}
	spans, now := tr.snapshot()
	want := []publish.StateSpan{
		{From: t0, To: t0.Add(10 * time.Minute), State: publish.DegradedPerformance},
		{From: t0.Add(10 * time.Minute), To: t0.Add(40 * time.Minute), State: publish.PartialOutage},
		{From: t0.Add(40 * time.Minute), To: t0.Add(50 * time.Minute), State: publish.DegradedPerformance},
	}
	if len(spans["mail"]) != len(want) {
		t.Fatalf("mail spans %+v", spans["mail"])
	}
	for i, w := range want {
		if g := spans["mail"][i]; !g.From.Equal(w.From) || !g.To.Equal(w.To) || g.State != w.State {
			t.Errorf("span %d = %+v, want %+v", i, g, w)
		}
	}
	if now["mail"] != publish.Operational || now["web"] != publish.PartialOutage || len(spans["web"]) != 1 || !spans["web"][0].To.IsZero() {
		t.Fatalf("now %v, web spans %+v", now, spans["web"])
	}

	// On the page: web is set from its host unless an open incident names it.
	page := publish.Page{Components: []publish.ComponentState{{ID: "mail", Status: publish.Operational}, {ID: "web", Status: publish.Operational}}}
	applyAuto(&page, now, nil)
	if c := page.Components[1]; c.Status != publish.PartialOutage || !c.Auto || page.Components[0].Auto {
		t.Fatalf("page %+v", page.Components)
	}
	page.Components[1] = publish.ComponentState{ID: "web", Status: publish.Operational}
	applyAuto(&page, now, map[string]bool{"web": true})
	if page.Components[1].Auto {
		t.Fatal("a component an incident names was set from its hosts")
	}

	// Uptime: the host spans count where no incident names the component.
	site := publish.Site{Components: []protocol.Component{{ID: "mail", Name: "Mail"}}}
	end := t0.Add(24 * time.Hour)
	inc := protocol.Incident{ID: "I1", Kind: "outage", Severity: "SEV1", Status: protocol.StatusResolved, OpenedAt: protocol.At(t0.Add(10 * time.Minute)),
		ResolvedAt: protocol.TimePtr(t0.Add(20 * time.Minute)), Components: []string{"mail"}}
	u := publish.UptimeWithAuto(site, []publish.Tracked{{Incident: inc}}, spans, []publish.Span{{From: t0.Add(-48 * time.Hour), To: end}}, end, publish.DefaultUptimeRules())
	mail := u.Components[0]
	d := mail.Days[len(mail.Days)-2] // 2026-11-21
	if d.Date != "2026-11-21" || !mail.Auto || d.MajorS != 600 || d.PartialS != 1200 || d.DegradedS != 1200 {
		t.Fatalf("day %+v auto %v", d, mail.Auto)
	}
}

// What one entry says of a host for the auto components.
func TestAutoReading(t *testing.T) {
	for _, tt := range []struct {
		name        string
		e           protocol.Entry
		key, status string
		ok          bool
	}{
		{"service down", protocol.Entry{Host: "web-1", Service: "httpd", State: protocol.StateDown}, "web-1\x00httpd", publish.PartialOutage, true},
		{"service warning", protocol.Entry{Host: "web-1", Service: "httpd", State: protocol.StateWarn}, "web-1\x00httpd", publish.DegradedPerformance, true},
		{"service ok clears", protocol.Entry{Host: "web-1", Service: "httpd", State: protocol.StateOK}, "web-1\x00httpd", "", true},
		{"service unknown clears", protocol.Entry{Host: "web-1", Service: "httpd", State: protocol.StateUnknown}, "web-1\x00httpd", "", true},
		{"service in maintenance clears", protocol.Entry{Host: "web-1", Service: "httpd", State: protocol.StateMaintenance}, "web-1\x00httpd", "", true},
		{"no state of the protocol", protocol.Entry{Host: "web-1", Service: "httpd", State: "sideways"}, "", "", false},
		{"a service without a state", protocol.Entry{Host: "web-1", Service: "httpd", Kind: protocol.EntryAlert, Text: "web-1 stopped reporting"}, "", "", false},
		{"host silent", protocol.Entry{Host: "web-1", Kind: protocol.EntryAlert, Text: "web-1 stopped reporting (silent 45s)"}, "web-1\x00", publish.PartialOutage, true},
		{"host back", protocol.Entry{Host: "web-1", Kind: protocol.EntrySystem, Text: "web-1 reporting again"}, "web-1\x00", "", true},
		{"another alert", protocol.Entry{Host: "web-1", Kind: protocol.EntryAlert, Text: "disk full"}, "", "", false},
		{"another system entry", protocol.Entry{Host: "web-1", Kind: protocol.EntrySystem, Text: "web-1 stopped reporting"}, "", "", false},
		{"a note", protocol.Entry{Host: "web-1", Kind: protocol.EntryNote, Text: "web-1 stopped reporting"}, "", "", false},
		{"no host", protocol.Entry{Service: "httpd", State: protocol.StateDown}, "", "", false},
		{"a load level", protocol.Entry{Host: "web-1", Service: "httpd", State: protocol.StateDown, Level: "crit"}, "", "", false},
		{"an incident's entry", protocol.Entry{Host: "web-1", Service: "httpd", State: protocol.StateDown, Incident: "INC-1"}, "", "", false},
	} {
		key, status, ok := autoReading(&tt.e)
		if key != tt.key || status != tt.status || ok != tt.ok {
			t.Errorf("%s: got %q %q %v, want %q %q %v", tt.name, key, status, ok, tt.key, tt.status, tt.ok)
		}
	}
}

// A component's state is the worst its hosts set.
func TestWorstAutoStatus(t *testing.T) {
	for _, tt := range []struct {
		bad  map[string]string
		want string
	}{
		{nil, publish.Operational},
		{map[string]string{"a\x00x": publish.DegradedPerformance}, publish.DegradedPerformance},
		{map[string]string{"a\x00x": publish.PartialOutage}, publish.PartialOutage},
		{map[string]string{"a\x00x": publish.DegradedPerformance, "a\x00y": publish.PartialOutage, "b\x00": publish.DegradedPerformance}, publish.PartialOutage},
		{map[string]string{"a\x00x": publish.DegradedPerformance, "b\x00y": publish.DegradedPerformance}, publish.DegradedPerformance},
	} {
		for range 20 { // the map's order varies; the answer must not
			if got := worstAutoStatus(tt.bad); got != tt.want {
				t.Fatalf("%v: got %q, want %q", tt.bad, got, tt.want)
			}
		}
	}
}
