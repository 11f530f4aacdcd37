package publish

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	stdhtml "html"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

var t0 = time.Date(2026, 11, 22, 2, 14, 0, 0, time.UTC)

var site = Site{Name: "Example Hosting", URL: "https://status.example.com/", Components: []protocol.Component{
	{ID: "mail", Name: "Mail"}, {ID: "web", Name: "Web hosting"}, {ID: "dns", Name: "DNS"},
}}

func inc(id, sev, kind, status string, opened time.Time, comps ...string) protocol.Incident {
	in := protocol.Incident{ID: id, Title: "Title of " + id, Severity: sev, Kind: kind, Status: status,
		Commander: "alice", OpenedAt: protocol.At(opened), Components: comps,
		Checklist: []protocol.Item{{ID: "status-page", Title: "First notice"}}}
	if status == protocol.StatusResolved {
		in.ResolvedAt = protocol.TimePtr(opened.Add(time.Hour))
	}
	return in
}

func maint(id, status string, start, end time.Time, comps ...string) protocol.Incident {
	in := inc(id, "SEV4", MaintenanceKind, status, t0.Add(-10*24*time.Hour), comps...)
	in.ScheduledStart, in.ScheduledEnd = protocol.TimePtr(start), protocol.TimePtr(end)
	return in
}

func published(in protocol.Incident, ref, text string, at time.Time, channels ...string) []protocol.Message {
	return publishedAs(in, ref, "", text, at, channels...)
}

func publishedAs(in protocol.Incident, ref, subject, text string, at time.Time, channels ...string) []protocol.Message {
	if len(channels) == 0 {
		channels = []string{protocol.ChannelPage}
	}
	return []protocol.Message{
		&protocol.IncidentMsg{Incident: in},
		&protocol.Entry{Incident: in.ID, At: protocol.At(at), Actor: "alice", Kind: protocol.EntryPublish, Subject: subject, Text: text, Channels: channels, Ref: ref},
	}
}

func board(msgs ...[]protocol.Message) *Board {
	b := NewBoard(site)
	for _, ms := range msgs {
		for _, m := range ms {
			b.Observe(m)
		}
	}
	return b
}

func TestComponentStates(t *testing.T) {
	now := t0.Add(2 * time.Hour)
	tests := []struct {
		name      string
		incidents []protocol.Incident
		want      string // mail web dns
		indicator string
	}{
		{"nothing", nil, "operational operational operational", ImpactNone},
		{"SEV1", []protocol.Incident{inc("I1", "SEV1", "outage", "investigating", t0, "mail")}, "major_outage operational operational", ImpactCritical},
		{"SEV2", []protocol.Incident{inc("I1", "SEV2", "outage", "identified", t0, "mail", "web")}, "partial_outage partial_outage operational", ImpactMajor},
		{"SEV3", []protocol.Incident{inc("I1", "SEV3", "outage", "monitoring", t0, "dns")}, "operational operational degraded_performance", ImpactMinor},
		{"SEV4", []protocol.Incident{inc("I1", "SEV4", "security", "investigating", t0, "dns")}, "operational operational degraded_performance", ImpactMinor},
		{"resolved", []protocol.Incident{inc("I1", "SEV1", "outage", "resolved", t0, "mail")}, "operational operational operational", ImpactNone},
		{"worst wins", []protocol.Incident{
			inc("I1", "SEV3", "outage", "investigating", t0, "mail"),
			inc("I2", "SEV1", "outage", "investigating", t0, "mail"),
			inc("I3", "SEV2", "outage", "investigating", t0, "mail"),
		}, "major_outage operational operational", ImpactCritical},
		{"maintenance in progress", []protocol.Incident{maint("M1", "investigating", t0, t0.Add(4*time.Hour), "web")}, "operational under_maintenance operational", ImpactNone},
		{"maintenance scheduled", []protocol.Incident{maint("M1", "investigating", now.Add(time.Hour), now.Add(2*time.Hour), "web")}, "operational operational operational", ImpactNone},
		{"maintenance overrun stays", []protocol.Incident{maint("M1", "investigating", t0, t0.Add(time.Hour), "web")}, "operational under_maintenance operational", ImpactNone},
		{"maintenance completed", []protocol.Incident{maint("M1", "resolved", t0, t0.Add(time.Hour), "web")}, "operational operational operational", ImpactNone},
		{"outage beats maintenance", []protocol.Incident{
			maint("M1", "investigating", t0, t0.Add(4*time.Hour), "web"),
			inc("I1", "SEV3", "outage", "investigating", t0, "web"),
		}, "operational degraded_performance operational", ImpactMinor},
		{"unknown component ignored", []protocol.Incident{inc("I1", "SEV1", "outage", "investigating", t0, "ftp")}, "operational operational operational", ImpactCritical},
		{"no component, unpublished: not on the indicator", []protocol.Incident{inc("I1", "SEV1", "outage", "investigating", t0)}, "operational operational operational", ImpactNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBoard(site)
			for _, in := range tt.incidents {
				b.Observe(&protocol.IncidentMsg{Incident: in})
			}
			p := BuildPage(site, b.Snapshot(), now)
			var got []string
			for _, c := range p.Components {
				got = append(got, c.Status)
			}
			if strings.Join(got, " ") != tt.want || p.Indicator != tt.indicator {
				t.Fatalf("components %v indicator %s; want %s, %s", got, p.Indicator, tt.want, tt.indicator)
			}
		})
	}
}

// scenario is a night's journal: an open outage with two updates, one
// email-only update, a scheduled maintenance announced, one resolved
// incident in the history and one older than the window, an unpublished
// incident, and the internal entries the page must never show.
func scenario() *Board {
	open := inc("INC-42", "SEV2", "outage", protocol.StatusInvestigating, t0, "mail")
	open.Title = "exim wedged on web-3" // for responders: the page never shows it
	identified := open.Clone()
	identified.Status = protocol.StatusIdentified
	m := maint("INC-43", protocol.StatusInvestigating, t0.Add(7*24*time.Hour), t0.Add(7*24*time.Hour+2*time.Hour), "web")
	m.Title = "kernel 6.12 on web-1 to web-4"
	old := inc("INC-7", "SEV1", "outage", protocol.StatusResolved, t0.Add(-30*24*time.Hour), "dns")
	old.Title = "DNS not answering"
	ancient := inc("INC-1", "SEV1", "outage", protocol.StatusResolved, t0.Add(-200*24*time.Hour), "dns")
	secret := inc("INC-44", "SEV3", "outage", protocol.StatusInvestigating, t0, "web")
	secret.Title = "load 12.9 on 8 CPUs on web-3"
	return board(
		published(ancient, "c-0", "Ancient history.", ancient.OpenedAt.Add(time.Minute)),
		published(old, "c-1", "DNS is not answering for some domains.", old.OpenedAt.Add(5*time.Minute)),
		[]protocol.Message{&protocol.Entry{Incident: "INC-7", At: protocol.At(old.OpenedAt.Add(50 * time.Minute)), Kind: protocol.EntryPublish, Channels: []string{"page"}, Ref: "c-2", Text: "DNS answers again. Sorry."}},
		publishedAs(open, "c-3", "Mail delayed", "Mail is delayed. We are investigating.\n\nNext update by 03:00 UTC.", t0.Add(5*time.Minute)),
		[]protocol.Message{
			&protocol.Entry{Incident: "INC-42", At: protocol.At(t0.Add(6 * time.Minute)), Kind: protocol.EntryNote, Text: "exim on web-3 is wedged, queue 48211"},
			&protocol.Entry{Incident: "INC-42", At: protocol.At(t0.Add(7 * time.Minute)), Kind: protocol.EntryAlert, Host: "web-3", Text: "exim on web-3 ok → down"},
		},
		published(identified, "c-4", "We found the cause: a stuck mail queue.", t0.Add(20*time.Minute), "page", "customers"),
		published(identified, "c-5", "Email-only words.", t0.Add(21*time.Minute), "customers"),
		publishedAs(m, "c-6", "Web server upgrade", "On 29 Nov from 02:14 UTC for two hours, web hosting will be upgraded.", t0.Add(30*time.Minute), "page"),
		[]protocol.Message{&protocol.IncidentMsg{Incident: secret}},
	)
}

func TestSummaryGolden(t *testing.T) {
	p := BuildPage(site, scenario().Snapshot(), t0.Add(time.Hour))
	out, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden.RequireEqual(t, append(out, '\n'))
	// The field names of Statuspage's summary, read back generically.
	var generic map[string]any
	if err := json.Unmarshal(out, &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"page", "status", "components", "incidents", "scheduled_maintenances"} {
		if _, ok := generic[k]; !ok {
			t.Fatalf("summary lacks %q", k)
		}
	}
}

// More summaries against golden files: a quiet page, and maintenance
// under way beside an incident that names no component.
func TestSummaryGoldenStates(t *testing.T) {
	start := t0.Add(-30 * time.Minute)
	running := maint("INC-50", protocol.StatusInvestigating, start, start.Add(2*time.Hour), "web", "dns")
	nameless := inc("INC-51", "SEV3", "outage", protocol.StatusMonitoring, t0.Add(-10*time.Minute))
	tests := map[string]*Board{
		"quiet": NewBoard(site),
		"maintenance-under-way": board(
			publishedAs(running, "c-1", "Network maintenance", "Maintenance has started; DNS and web hosting may be slow until 03:44 UTC.", start),
			published(nameless, "c-2", "Some customers see slow logins; a fix is in place and we are watching it.", t0.Add(-5*time.Minute)),
		),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := BuildPage(site, b.Snapshot(), t0).JSON()
			if err != nil {
				t.Fatal(err)
			}
			golden.RequireEqual(t, append(out, '\n'))
		})
	}
}

func TestPageShowsOnlyWhatWasPublished(t *testing.T) {
	p := BuildPage(site, scenario().Snapshot(), t0.Add(time.Hour))
	html, _ := p.HTML()
	js, _ := p.JSON()
	atom, _ := p.Atom()
	for name, out := range map[string][]byte{"html": html, "json": js, "atom": atom} {
		for _, never := range []string{"web-3", "48211", "wedged", "load 12.9", "Email-only", "Ancient history", "INC-44", "alice", "Title of", "DNS not answering", "kernel 6.12"} {
			if strings.Contains(string(out), never) {
				t.Errorf("%s shows %q", name, never)
			}
		}
		for _, must := range []string{"Mail delayed", "a stuck mail queue", "Web server upgrade", "DNS answers again", "Disruption to DNS"} {
			if name == "json" && (must == "DNS answers again" || must == "Disruption to DNS") {
				continue // the summary lists unresolved incidents only, as Statuspage's does
			}
			if !strings.Contains(string(out), must) {
				t.Errorf("%s lacks %q", name, must)
			}
		}
	}
	if len(p.Active) != 1 || len(p.Maintenance) != 1 || len(p.Past) != 1 || p.Past[0].ID != "INC-7" {
		t.Fatalf("active %d maintenance %d past %+v", len(p.Active), len(p.Maintenance), p.Past)
	}
	if got := p.Active[0].Updates; len(got) != 2 || got[0].Status != "identified" || got[1].Status != "investigating" {
		t.Fatalf("updates, newest first with their status then: %+v", got)
	}
}

func TestHistoryWindowIsConfigurable(t *testing.T) {
	short := site
	short.History = 7 * 24 * time.Hour
	b := NewBoard(short)
	for _, m := range published(inc("INC-7", "SEV1", "outage", "resolved", t0.Add(-30*24*time.Hour), "dns"), "c-1", "x", t0.Add(-30*24*time.Hour)) {
		b.Observe(m)
	}
	if p := BuildPage(short, b.Snapshot(), t0); len(p.Past) != 0 {
		t.Fatalf("a 30-day-old incident is listed with a 7-day history: %+v", p.Past)
	}
	if p := BuildPage(site, board(published(inc("INC-7", "SEV1", "outage", "resolved", t0.Add(-30*24*time.Hour), "dns"), "c-1", "x", t0.Add(-30*24*time.Hour))).Snapshot(), t0); len(p.Past) != 1 {
		t.Fatal("a 30-day-old incident is not listed with the default 90 days")
	}
}

func TestHTMLGolden(t *testing.T) {
	p := BuildPage(site, scenario().Snapshot(), t0.Add(time.Hour))
	out, err := p.HTML()
	if err != nil {
		t.Fatal(err)
	}
	golden.RequireEqual(t, out)
	for _, want := range []string{`<html lang="en">`, "<header>", "<main>", "<footer>", "<h1>", "prefers-color-scheme:dark", `name="viewport"`, "Partial outage"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(string(out), "<script") {
		t.Error("the page needs no JavaScript and has none")
	}
}

// The Atom structure of RFC 4287 that readers need.
type atomCheck struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   string   `xml:"title"`
	Updated string   `xml:"updated"`
	Author  struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Content struct {
			Type string `xml:"type,attr"`
			Body string `xml:",chardata"`
		} `xml:"content"`
	} `xml:"entry"`
}

func TestAtomParses(t *testing.T) {
	p := BuildPage(site, scenario().Snapshot(), t0.Add(time.Hour))
	out, err := p.Atom()
	if err != nil {
		t.Fatal(err)
	}
	var f atomCheck
	if err := xml.Unmarshal(out, &f); err != nil {
		t.Fatalf("Atom does not parse: %v\n%s", err, out)
	}
	if f.ID != "https://status.example.com/status" || f.Title == "" || f.Author.Name == "" {
		t.Fatalf("feed head: %+v", f)
	}
	if _, err := time.Parse(time.RFC3339, f.Updated); err != nil {
		t.Fatalf("feed updated %q: %v", f.Updated, err)
	}
	// One entry per update published to the page: c-1, c-2, c-3, c-4, c-6.
	if len(f.Entries) != 5 {
		t.Fatalf("%d entries, want 5", len(f.Entries))
	}
	ids := map[string]bool{}
	for _, e := range f.Entries {
		if !strings.HasPrefix(e.ID, "https://status.example.com/status/") || ids[e.ID] || e.Title == "" || e.Content.Body == "" || e.Content.Type != "text" {
			t.Fatalf("entry %+v", e)
		}
		ids[e.ID] = true
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
			t.Fatalf("entry updated %q: %v", e.Updated, err)
		}
	}
	if f.Entries[0].Content.Body != "On 29 Nov from 02:14 UTC for two hours, web hosting will be upgraded." || !strings.HasPrefix(f.Entries[0].Title, "Maintenance: ") {
		t.Fatalf("newest entry first, the maintenance announcement: %+v", f.Entries[0])
	}
}

func TestAtomIDsAreAbsoluteWithoutAURL(t *testing.T) {
	p := BuildPage(Site{Name: "x"}, scenario().Snapshot(), t0)
	out, _ := p.Atom()
	var f atomCheck
	if err := xml.Unmarshal(out, &f); err != nil {
		t.Fatal(err)
	}
	if f.ID != "urn:vigil:status" || len(f.Entries) == 0 || !strings.HasPrefix(f.Entries[0].ID, "urn:vigil:status:INC-43:") {
		t.Fatalf("ids %q %+v", f.ID, f.Entries)
	}
}

// FuzzPublishedText: whatever a responder publishes reaches the HTML
// escaped and comes back unchanged from the Atom feed and summary.json.
func FuzzPublishedText(f *testing.F) {
	f.Add("Mail is delayed.")
	f.Add("<script>alert(1)</script> & \"quotes\"\n\nsecond paragraph")
	f.Add("]]> </content><entry>")
	f.Fuzz(func(t *testing.T, text string) {
		if !isXMLText(text) {
			t.Skip("not representable in XML 1.0")
		}
		b := board(published(inc("I1", "SEV2", "outage", "identified", t0, "mail"), "c-1", text, t0))
		p := BuildPage(site, b.Snapshot(), t0)
		html, err := p.HTML()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(strings.ToLower(string(html)), "<script") {
			t.Fatalf("text became markup: %q", text)
		}
		if strings.Contains(strings.TrimSpace(text), "<") && !strings.Contains(string(html), "&lt;") {
			t.Fatalf("text reached the page unescaped: %q", text)
		}
		for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
			for _, line := range strings.Split(strings.TrimSpace(para), "\n") {
				if !strings.Contains(stdhtml.UnescapeString(string(html)), line) {
					t.Fatalf("line %q of %q is not on the page, escaped", line, text)
				}
			}
		}
		atom, err := p.Atom()
		if err != nil {
			t.Fatal(err)
		}
		var fc atomCheck
		if err := xml.Unmarshal(atom, &fc); err != nil || len(fc.Entries) != 1 {
			t.Fatalf("atom: %v %d", err, len(fc.Entries))
		}
		if got := fc.Entries[0].Content.Body; got != strings.ReplaceAll(text, "\r", "\n") && got != text {
			t.Fatalf("atom content %q, published %q", got, text)
		}
		js, _ := p.JSON()
		var s Summary
		if err := json.Unmarshal(js, &s); err != nil || s.Incidents[0].IncidentUpdates[0].Body != strings.ToValidUTF8(text, "\uFFFD") {
			t.Fatalf("summary: %v %+v", err, s.Incidents)
		}
	})
}

func isXMLText(s string) bool {
	for _, r := range s {
		if r == 0xFFFD || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return strings.ToValidUTF8(s, "") == s
}

func TestHandlerRendersOncePerChange(t *testing.T) {
	b := scenario()
	clock := t0.Add(time.Hour)
	srv := httptest.NewServer(Handler(b, func() time.Time { return clock }))
	defer srv.Close()
	get := func(etag string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", srv.URL+"/status/summary.json", nil)
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	first, body := get("")
	etag := first.Header.Get("ETag")
	if first.StatusCode != 200 || etag == "" || !strings.Contains(body, "a stuck mail queue") {
		t.Fatalf("first: %d %q", first.StatusCode, etag)
	}
	if again, _ := get(etag); again.StatusCode != http.StatusNotModified {
		t.Fatalf("unchanged page: %d", again.StatusCode)
	}
	in, _ := b.Incident("INC-42")
	for _, m := range publishedAs(in, "c-9", "Mail delayed", "Fixed the queue; watching it.", clock) {
		b.Observe(m)
	}
	changed, body := get(etag)
	if changed.StatusCode != 200 || changed.Header.Get("ETag") == etag || !strings.Contains(body, "Fixed the queue") {
		t.Fatalf("after a publish: %d %q", changed.StatusCode, changed.Header.Get("ETag"))
	}
	clock = clock.Add(time.Minute)
	if later, _ := get(changed.Header.Get("ETag")); later.StatusCode != 200 {
		t.Fatalf("a new minute re-renders (maintenance may have started): %d", later.StatusCode)
	}
}

// BenchmarkStatusPage is a customer reloading the page during an outage,
// with 90 days of history behind it.
func BenchmarkStatusPage(b *testing.B) {
	board := NewBoard(site)
	for i := range 300 {
		opened := t0.Add(-time.Duration(i) * 7 * time.Hour)
		in := inc(fmt.Sprintf("INC-%d", i), "SEV2", "outage", protocol.StatusResolved, opened, "mail")
		for _, m := range publishedAs(in, fmt.Sprintf("c-%d", i), "Mail delayed", strings.Repeat("An update customers read. ", 20), opened.Add(time.Minute)) {
			board.Observe(m)
		}
	}
	h := Handler(board, func() time.Time { return t0 })
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/status", nil))
		}
	})
	b.Run("render", func(b *testing.B) {
		for b.Loop() {
			p := BuildPage(site, board.Snapshot(), t0)
			if _, err := p.HTML(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBoardReplay is a hub starting over years of journal: the board
// must stay linear in the messages and bounded by the history window.
func BenchmarkBoardReplay(b *testing.B) {
	var msgs []protocol.Message
	for i := range 20000 {
		opened := t0.Add(time.Duration(i) * 3 * time.Hour)
		in := inc(fmt.Sprintf("INC-%d", i), "SEV3", "outage", protocol.StatusResolved, opened, "mail")
		msgs = append(msgs, publishedAs(in, fmt.Sprintf("c-%d", i), "x", "An update.", opened.Add(time.Minute))...)
	}
	for b.Loop() {
		board := NewBoard(site)
		for _, m := range msgs {
			board.Observe(m)
		}
		if n := len(board.Snapshot()); n > 1000 {
			b.Fatalf("the board holds %d incidents; the 90-day window holds about 720 (and a tenth more between prunes)", n)
		}
	}
}
