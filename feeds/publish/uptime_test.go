package publish

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02T15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func resolvedAt(in protocol.Incident, at time.Time) protocol.Incident {
	in.Status, in.ResolvedAt = protocol.StatusResolved, protocol.TimePtr(at)
	return in
}

func TestUptime(t *testing.T) {
	now := day("2026-11-22T12:00")
	always := []Span{{From: now.AddDate(0, 0, -100), To: now}}
	for _, tc := range []struct {
		name    string
		tracked []protocol.Incident
		running []Span
		rules   UptimeRules
		// of component mail, day 2026-11-21 unless date says
		date                                string
		major, partial, degraded, maint, nd int64
		uptime                              string // "nil" for none
		month                               string
	}{
		{name: "a quiet day is 100%", running: always, date: "2026-11-21", uptime: "100", month: "100"},
		{name: "30 minutes of major outage",
			tracked: []protocol.Incident{resolvedAt(inc("I1", "SEV1", "outage", "", day("2026-11-21T10:00"), "mail"), day("2026-11-21T10:30"))},
			running: always, date: "2026-11-21", major: 1800, uptime: "97.917", month: "99.903"},
		{name: "partial counts half, overlapping major wins",
			tracked: []protocol.Incident{
				resolvedAt(inc("I1", "SEV2", "outage", "", day("2026-11-21T10:00"), "mail"), day("2026-11-21T12:00")),
				resolvedAt(inc("I2", "SEV1", "outage", "", day("2026-11-21T11:00"), "mail", "web"), day("2026-11-21T11:30")),
			},
			running: always, date: "2026-11-21", major: 1800, partial: 5400, uptime: "94.792", month: "99.758"},
		{name: "an incident across midnight is split between days",
			tracked: []protocol.Incident{resolvedAt(inc("I1", "SEV1", "outage", "", day("2026-11-20T23:00"), "mail"), day("2026-11-21T01:00"))},
			running: always, date: "2026-11-21", major: 3600, uptime: "95.833", month: "99.612"},
		{name: "maintenance is left out",
			tracked: []protocol.Incident{maint("M1", protocol.StatusIdentified, day("2026-11-21T02:00"), day("2026-11-21T04:00"), "mail")},
			running: always, date: "2026-11-21", maint: 7200, uptime: "100", month: "100"},
		{name: "the hub not running is no data, not uptime",
			running: []Span{{From: day("2026-11-21T12:00"), To: now}},
			date:    "2026-11-21", nd: 43200, uptime: "100", month: "100"},
		{name: "a day with no running at all has no uptime",
			running: []Span{{From: day("2026-11-22T00:00"), To: now}},
			date:    "2026-11-21", nd: 86400, uptime: "nil", month: "100"},
		{name: "degraded weighs what the rules say",
			tracked: []protocol.Incident{resolvedAt(inc("I1", "SEV3", "outage", "", day("2026-11-21T00:00"), "mail"), day("2026-11-21T12:00"))},
			running: always, rules: UptimeRules{PartialWeight: 0.5, DegradedWeight: 1, Days: 90}, date: "2026-11-21", degraded: 43200, uptime: "50", month: "97.674"},
		{name: "today runs to now",
			tracked: []protocol.Incident{inc("I1", "SEV1", "outage", protocol.StatusIdentified, day("2026-11-22T06:00"), "mail")},
			running: always, date: "2026-11-22", major: 21600, uptime: "50", month: "98.837"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tracked []Tracked
			for _, in := range tc.tracked {
				tracked = append(tracked, Tracked{Incident: in})
			}
			rules := tc.rules
			if rules.Days == 0 {
				rules = DefaultUptimeRules()
			}
			u := Uptime(site, tracked, tc.running, now, rules)
			mail := u.Components[0]
			if mail.ID != "mail" || len(mail.Days) != 90 || mail.Days[89].Date != "2026-11-22" || mail.Days[0].Date != "2026-08-25" {
				t.Fatalf("days: %d, %s .. %s", len(mail.Days), mail.Days[0].Date, mail.Days[len(mail.Days)-1].Date)
			}
			var d UptimeDay
			for _, x := range mail.Days {
				if x.Date == tc.date {
					d = x
				}
			}
			if d.MajorS != tc.major || d.PartialS != tc.partial || d.DegradedS != tc.degraded || d.MaintenanceS != tc.maint || d.NoDataS != tc.nd {
				t.Errorf("%s: major %d partial %d degraded %d maintenance %d no data %d", d.Date, d.MajorS, d.PartialS, d.DegradedS, d.MaintenanceS, d.NoDataS)
			}
			if got := pct(d.Uptime); got != tc.uptime {
				t.Errorf("uptime %s, want %s", got, tc.uptime)
			}
			if got := pct(mail.Month.Uptime); got != tc.month || mail.Month.Month != "2026-11" {
				t.Errorf("month %s %s, want %s", mail.Month.Month, got, tc.month)
			}
		})
	}
}

func pct(p *float64) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func TestUptimeJSONShape(t *testing.T) {
	now := day("2026-11-22T12:00")
	u := Uptime(site, nil, []Span{{From: now.Add(-time.Hour), To: now}}, now, DefaultUptimeRules())
	b, _ := json.Marshal(u)
	var doc map[string][]map[string]any
	json.Unmarshal(b, &doc)
	c := doc["components"][0]
	for _, k := range []string{"id", "name", "uptime_90d", "month", "days"} {
		if _, ok := c[k]; !ok {
			t.Errorf("component lacks %q: %s", k, b[:200])
		}
	}
	d := c["days"].([]any)[89].(map[string]any)
	for _, k := range []string{"date", "uptime", "major_s", "partial_s", "degraded_s", "maintenance_s", "no_data_s"} {
		if _, ok := d[k]; !ok {
			t.Errorf("day lacks %q", k)
		}
	}
	if d["no_data_s"].(float64) != 11*3600 || d["uptime"].(float64) != 100 {
		t.Errorf("today: %v", d)
	}
	if c["days"].([]any)[0].(map[string]any)["uptime"] != nil {
		t.Error("a day the hub never ran has an uptime")
	}
}

// The bars and the sign-up form at 390 px: no horizontal overflow, the
// percentages in text.
func TestUptimeBarsAndFormInChromium(t *testing.T) {
	t.Parallel() // waits on chromium
	bin := chromium(t)
	now := day("2026-11-22T12:00")
	b := NewBoard(site)
	b.Observe(&protocol.IncidentMsg{Incident: resolvedAt(inc("I1", "SEV1", "outage", "", day("2026-11-21T10:00"), "mail"), day("2026-11-21T10:30"))})
	b.SetExtras(func(p *Page, at time.Time) {
		p.Subscribe = true
		p.Uptime = Uptime(b.Site(), b.Snapshot(), []Span{{From: now.AddDate(0, 0, -40), To: at}}, at, DefaultUptimeRules()).Bars()
	})
	mux := http.NewServeMux()
	mux.Handle("/status", Handler(b, func() time.Time { return now }))
	serveProbe(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	dir := t.TempDir()
	if d := os.Getenv("VIGIL_STATUS_SCREENSHOTS"); d != "" {
		dir = d
	}

	// The screenshot is of the page whose DOM is read: one browser.
	dom := headless(t, bin, "--window-size=390,2400", "--hide-scrollbars", "--screenshot="+filepath.Join(dir, "status-uptime.png"), "--dump-dom", srv.URL+"/status")
	for _, want := range []string{"Uptime, last 90 days", "99.95% uptime", `title="2026-11-21: 97.92% up, worst Major outage"`, `title="2026-08-25: no data"`,
		`action="/status/subscribe"`, `name="components" value="mail"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	url, window := probeURL(srv.URL, 390)
	out := headless(t, bin, window, "--virtual-time-budget=2000", "--dump-dom", url)
	m := measuredAt(out, 390)
	if m == nil || m[0] != m[1] {
		t.Fatalf("at 390 px the page overflows (scrollWidth/clientWidth %v)", m)
	}
}
