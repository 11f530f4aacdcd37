package review

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/review/reviewtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMonthFiguresFromARealHub(t *testing.T) {
	h := reviewtest.November(t)
	url := h.URL
	fromFeed, err := Read(context.Background(), "", url, "", reviewtest.TS("2026-11-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	h.Stop()
	fromJournal, err := Read(context.Background(), h.Dir, "", "", reviewtest.TS("2026-11-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Month: reviewtest.TS("2026-11-01T00:00:00Z"), TargetPct: 99.9, Now: reviewtest.TS("2026-12-01T00:00:00Z")}
	for name, msgs := range map[string][]protocol.Message{"journal": fromJournal, "feed": fromFeed} {
		t.Run(name, func(t *testing.T) {
			m := Review(msgs, opts)
			var got bytes.Buffer
			if err := m.JSON(&got); err != nil {
				t.Fatal(err)
			}
			golden(t, "november.json", got.Bytes())
			var md bytes.Buffer
			if err := m.Markdown(&md); err != nil {
				t.Fatal(err)
			}
			golden(t, "november.md", md.Bytes())
		})
	}
}

// The figures the golden files hold, computed by hand from november's
// times, so the golden files cannot drift from them unnoticed.
func TestMonthFiguresByHand(t *testing.T) {
	h := reviewtest.November(t)
	h.Stop()
	msgs, err := Read(context.Background(), h.Dir, "", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	m := Review(msgs, Options{Month: reviewtest.TS("2026-11-20T00:00:00Z"), TargetPct: 99.9, Now: reviewtest.TS("2026-12-01T00:00:00Z")})
	var doc struct {
		Month     string `json:"month"`
		Incidents []struct {
			ID     string `json:"id"`
			Ack    *int64 `json:"time_to_ack_s"`
			Notice *int64 `json:"time_to_first_notice_s"`
			Res    *int64 `json:"time_to_resolve_s"`
			Steps  []struct {
				ID   string `json:"id"`
				Late *int64 `json:"late_s"`
			} `json:"steps"`
		} `json:"incidents"`
		MTTA, MTTR, P50, P90 *int64
		StepsLate            int `json:"steps_late"`
		Availability         struct {
			Pct        float64 `json:"pct"`
			Downtime   int64   `json:"downtime_s"`
			Budget     int64   `json:"budget_s"`
			BudgetLeft int64   `json:"budget_left_s"`
		} `json:"availability"`
	}
	var buf bytes.Buffer
	m.JSON(&buf)
	raw := map[string]json.RawMessage{}
	json.Unmarshal(buf.Bytes(), &raw)
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw["mtta_s"], &doc.MTTA)
	json.Unmarshal(raw["mttr_s"], &doc.MTTR)
	json.Unmarshal(raw["first_notice_p50_s"], &doc.P50)
	json.Unmarshal(raw["first_notice_p90_s"], &doc.P90)
	v := func(p *int64) int64 {
		if p == nil {
			return -1
		}
		return *p
	}
	lates := map[string]int64{}
	var ids []string
	for _, in := range doc.Incidents {
		ids = append(ids, in.ID)
		for _, s := range in.Steps {
			lates[in.ID+"/"+s.ID] = v(s.Late)
		}
	}
	day := int64(86400)
	tests := []struct {
		name      string
		got, want int64
	}{
		{"incidents of November (INC-1 opened in October)", int64(len(ids)), 3},
		{"INC-2 time to ack", v(doc.Incidents[0].Ack), 600},
		{"INC-2 time to first notice", v(doc.Incidents[0].Notice), 1200},
		{"INC-2 time to resolve", v(doc.Incidents[0].Res), 1500},
		{"INC-2 first notice 5 minutes late", lates["INC-2/status-page"], 300},
		{"INC-2 resolution notice never sent: late until the review", lates["INC-2/resolved-notice"], 25*day + 9*3600 + 5*60},
		{"INC-2 post-mortem never published", lates["INC-2/postmortem"], 22*day + 9*3600 + 35*60},
		{"INC-3 maintenance has no ack", v(doc.Incidents[1].Ack), -1},
		{"INC-3 announced 10 minutes after it was declared", v(doc.Incidents[1].Notice), 600},
		{"INC-3 a week's notice given five days ahead is not late", lates["INC-3/announce-week"], -1},
		{"INC-3 channels an hour late", lates["INC-3/channels"], 3600},
		{"INC-3 start notice 2 minutes late", lates["INC-3/start-notice"], 120},
		{"INC-4 time to ack", v(doc.Incidents[2].Ack), 180},
		{"INC-4 first notice after 4 minutes", v(doc.Incidents[2].Notice), 240},
		{"INC-4 first notice within its 15 minutes", lates["INC-4/status-page"], -1},
		{"INC-4 email 10 minutes late", lates["INC-4/email-customers"], 600},
		{"INC-4 first update 5 minutes late", lates["INC-4/updates"], 300},
		{"INC-4 resolution notice 2 hours late", lates["INC-4/resolved-notice"], 7200},
		{"INC-4 post-mortem in time", lates["INC-4/postmortem"], -1},
		{"MTTA: (600+180)/2", v(doc.MTTA), 390},
		{"MTTR: (1500+5400)/2, maintenance not counted", v(doc.MTTR), 3450},
		{"first notice p50 of 240, 600, 1200", v(doc.P50), 600},
		{"first notice p90", v(doc.P90), 1200},
		{"steps late", int64(doc.StepsLate), 8},
		{"downtime: INC-1's November half hour, INC-2, INC-4", doc.Availability.Downtime, 1800 + 1500 + 5400},
		{"budget: 0.1% of 30 days", doc.Availability.Budget, 2592},
		{"budget left", doc.Availability.BudgetLeft, 2592 - 8700},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	if doc.Month != "2026-11" || doc.Availability.Pct != 99.664 {
		t.Errorf("month %q availability %v; want 2026-11, 99.664", doc.Month, doc.Availability.Pct)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}
