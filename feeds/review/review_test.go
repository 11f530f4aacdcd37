package review

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/history"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

var update = flag.Bool("update", false, "rewrite golden files")

// hub is a real hub on loopback whose clock the test sets before each
// command, so every command's at is honoured.
type hub struct {
	t      *testing.T
	levels map[string]level.Level
	hub    *server.Hub
	store  *history.Store
	dir    string
	url    string
	conn   *websocket.Conn
	mu     sync.Mutex
	now    time.Time
	stop   func()
}

func startHub(t *testing.T) *hub {
	t.Helper()
	h := &hub{t: t, dir: t.TempDir()}
	clock := func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now }
	j, _, err := journal.OpenWith(h.dir, journal.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	store, err := history.Open(h.dir, clock)
	if err != nil {
		t.Fatal(err)
	}
	h.store = store
	hb := server.NewHub(j, server.Options{Now: clock, History: store})
	h.hub = hb
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	stored := make(chan struct{})
	go func() { store.Run(ctx); close(stored) }()
	go func() { server.Serve(ctx, hb, ln, "/feed", "", ""); close(done) }()
	h.url = "ws://" + ln.Addr().String() + "/feed"
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(h.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.conn = conn
	if err := conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{Since: 0})); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			conn.Close()
			cancel()
			<-done
			<-stored
			hb.Close()
			hb.Wait(5 * time.Second)
			j.Close()
		})
	}
	t.Cleanup(h.stop)
	return h
}

// do sends cmd acted at at (the hub's clock a second later) and waits
// for its ack.
func (h *hub) do(at time.Time, cmd protocol.Command) {
	h.t.Helper()
	h.mu.Lock()
	h.now = at.Add(time.Second)
	h.mu.Unlock()
	cmd.ID = "c-" + at.Format("0102150405") + "-" + cmd.Op + "-" + cmd.Item
	cmd.At = protocol.TimePtr(at)
	if cmd.Actor == "" {
		cmd.Actor = "alice"
	}
	if err := h.conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&cmd)); err != nil {
		h.t.Fatal(err)
	}
	for {
		h.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := h.conn.ReadMessage()
		if err != nil {
			h.t.Fatal(err)
		}
		m, _ := protocol.Decode(data)
		switch v := m.(type) {
		case *protocol.Ack:
			if v.ID == cmd.ID {
				return
			}
		case *protocol.Nack:
			if v.ID == cmd.ID {
				h.t.Fatalf("%s: %s %s", cmd.ID, v.Code, v.Error)
			}
		}
	}
}

// set moves the hub's clock.
func (h *hub) set(at time.Time) {
	h.mu.Lock()
	h.now = at
	h.mu.Unlock()
}

// journaled runs f at at and waits until what it journals asynchronously
// is on disk.
func (h *hub) journaled(at time.Time, f func()) {
	h.t.Helper()
	h.set(at)
	before := h.hub.Seq()
	f()
	for deadline := time.Now().Add(10 * time.Second); h.hub.Seq() == before; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			h.t.Fatal("never journaled")
		}
	}
}

// loads reports host's load every 10 s from from to to, load1 from f.
func (h *hub) loads(host string, from, to time.Time, f func(at time.Time) float64) {
	h.t.Helper()
	prev, known := h.levels[host]
	for at := from; at.Before(to); at = at.Add(10 * time.Second) {
		mem := 40 + f(at)
		l := protocol.Load{Host: host, At: protocol.At(at), Interval: protocol.Duration(10 * time.Second), Load1: f(at), CPUs: 4, MemUsedPct: &mem}
		lvl := level.Defaults().From(prev, l.Load1, l.CPUs)
		if (known && lvl != prev) || (!known && lvl != level.OK) {
			h.journaled(at, func() { h.hub.PublishLoad(l) }) // a crossing the hub journals
		} else {
			h.set(at)
			h.hub.PublishLoad(l)
		}
		prev, known = lvl, true
	}
	if h.levels == nil {
		h.levels = map[string]level.Level{}
	}
	h.levels[host] = prev
	last := to.Add(-10 * time.Second)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if got, _, _ := h.store.Samples(host, last, last, 0); len(got) == 1 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatal("load never stored")
		}
	}
}

// service reports a service's state; a change of state is journaled
// (a new service that is ok is not).
func (h *hub) service(at time.Time, host, svc, state, detail string) {
	s := protocol.Service{Host: host, Service: svc, State: state, Detail: detail, At: protocol.At(at), Since: protocol.At(at)}
	if _, known := h.hub.Service(host, svc); !known && state == protocol.StateOK {
		h.set(at)
		h.hub.PublishService(s)
		return
	}
	h.journaled(at, func() { h.hub.PublishService(s) })
}

func yes() *bool { b := true; return &b }

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// november builds, through a real hub, a month with known times of action:
// an October outage running into November, a short outage on the 5th, a
// maintenance declared five days ahead, and the night of the 22nd.
func november(t *testing.T) *hub {
	h := startHub(t)
	check := func(inc, item string) protocol.Command {
		return protocol.Command{Op: "check", Incident: inc, Item: item, Done: yes()}
	}
	publish := func(inc, item, text string) protocol.Command {
		return protocol.Command{Op: "publish", Incident: inc, Item: item, Channels: []string{"page"}, Text: text}
	}
	resolve := func(inc string) protocol.Command {
		return protocol.Command{Op: "status", Incident: inc, Status: "resolved"}
	}
	// INC-1: opened in October, resolved half an hour into November.
	h.do(ts("2026-10-31T23:00:00Z"), protocol.Command{Op: "declare", Title: "DNS failing", Severity: "SEV2", Kind: "outage"})
	h.do(ts("2026-11-01T00:30:00Z"), resolve("INC-1"))
	// INC-2: 25 minutes; first notice 5 minutes late, nothing after.
	h.do(ts("2026-11-05T14:00:00Z"), protocol.Command{Op: "declare", Title: "Web slow", Severity: "SEV3", Kind: "outage"})
	h.do(ts("2026-11-05T14:10:00Z"), check("INC-2", "ack"))
	h.do(ts("2026-11-05T14:20:00Z"), publish("INC-2", "status-page", "Web pages load slowly; we are on it."))
	h.do(ts("2026-11-05T14:25:00Z"), resolve("INC-2"))
	// INC-3: a maintenance declared five days ahead of its start.
	start := ts("2026-11-15T09:00:00Z")
	h.do(ts("2026-11-10T09:00:00Z"), protocol.Command{Op: "declare", Title: "Database upgrade", Severity: "SEV4", Kind: "maintenance", ScheduledStart: protocol.TimePtr(start)})
	h.do(ts("2026-11-10T09:10:00Z"), publish("INC-3", "announce-week", "On 15 November from 09:00 UTC the database is upgraded."))
	h.do(ts("2026-11-14T08:00:00Z"), check("INC-3", "announce-day"))
	h.do(ts("2026-11-14T10:00:00Z"), check("INC-3", "channels"))
	h.do(ts("2026-11-15T09:02:00Z"), publish("INC-3", "start-notice", "The database upgrade has started."))
	h.do(ts("2026-11-15T11:00:00Z"), resolve("INC-3"))
	// The night of the 22nd: shared-04's load climbs, exim goes down.
	h.loads("shared-04", ts("2026-11-22T01:50:00Z"), ts("2026-11-22T02:11:00Z"), func(at time.Time) float64 {
		return 0.4 + 8*at.Sub(ts("2026-11-22T01:50:00Z")).Hours()*3
	})
	h.loads("web-1", ts("2026-11-22T01:50:00Z"), ts("2026-11-22T02:11:00Z"), func(time.Time) float64 { return 0.3 })
	h.service(ts("2026-11-22T01:55:00Z"), "web-1", "http", "ok", "HTTP 200")
	h.service(ts("2026-11-22T02:11:40Z"), "shared-04", "exim", "down", "connect 127.0.0.1:25: connection refused")
	h.loads("shared-04", ts("2026-11-22T02:11:00Z"), ts("2026-11-22T02:12:00Z"), func(time.Time) float64 { return 9.8 })
	// INC-4.
	h.do(ts("2026-11-22T02:12:00Z"), protocol.Command{Op: "declare", Title: "Mail delayed", Severity: "SEV2", Kind: "outage"})
	h.do(ts("2026-11-22T02:15:00Z"), check("INC-4", "ack"))
	h.do(ts("2026-11-22T02:16:00Z"), publish("INC-4", "status-page", "Mail is delayed; we are investigating."))
	// What was running on the host, captured by its agent before anyone
	// touched it; the hub journals it asynchronously.
	h.mu.Lock()
	h.now = ts("2026-11-22T02:20:01Z")
	h.mu.Unlock()
	before := h.hub.Seq()
	h.hub.RecordEvidence(protocol.Evidence{Host: "shared-04", At: protocol.At(ts("2026-11-22T02:20:00Z")),
		EvidenceData: protocol.EvidenceData{Reason: "load crit: 9.8 on 4 CPUs", Processes: []protocol.Process{{PID: 4123, User: "shop42", Command: "php-cgi", Count: 240, CPUPct: 96.1}}}})
	for deadline := time.Now().Add(10 * time.Second); h.hub.Seq() == before; {
		if time.Now().After(deadline) {
			t.Fatal("the evidence was never journaled")
		}
		time.Sleep(time.Millisecond)
	}
	h.do(ts("2026-11-22T02:32:00Z"), check("INC-4", "social"))
	h.do(ts("2026-11-22T02:40:00Z"), check("INC-4", "root-cause"))
	h.do(ts("2026-11-22T02:47:00Z"), check("INC-4", "updates"))
	h.do(ts("2026-11-22T02:52:00Z"), publish("INC-4", "email-customers", "Mail to your mailboxes is delayed."))
	h.do(ts("2026-11-22T03:02:00Z"), check("INC-4", "answer-messages"))
	h.loads("shared-04", ts("2026-11-22T02:12:10Z"), ts("2026-11-22T03:10:00Z"), func(at time.Time) float64 { return 9.8 - at.Sub(ts("2026-11-22T02:12:00Z")).Hours()*8 })
	h.do(ts("2026-11-22T03:10:00Z"), protocol.Command{Op: "note", Incident: "INC-4", Text: "rebooted shared-04 after the queue drained"})
	h.service(ts("2026-11-22T03:35:00Z"), "shared-04", "exim", "ok", "")
	h.loads("shared-04", ts("2026-11-22T03:10:00Z"), ts("2026-11-22T03:50:00Z"), func(time.Time) float64 { return 0.6 })
	h.do(ts("2026-11-22T03:42:00Z"), resolve("INC-4"))
	h.do(ts("2026-11-22T06:12:00Z"), publish("INC-4", "resolved-notice", "Mail is delivered again."))
	h.do(ts("2026-11-23T03:42:00Z"), check("INC-4", "postmortem"))
	return h
}

func TestMonthFiguresFromARealHub(t *testing.T) {
	h := november(t)
	url := h.url
	fromFeed, err := Read(context.Background(), "", url, "", ts("2026-11-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	h.stop()
	fromJournal, err := Read(context.Background(), h.dir, "", "", ts("2026-11-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Month: ts("2026-11-01T00:00:00Z"), TargetPct: 99.9, Now: ts("2026-12-01T00:00:00Z")}
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
	h := november(t)
	h.stop()
	msgs, err := Read(context.Background(), h.dir, "", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	m := Review(msgs, Options{Month: ts("2026-11-20T00:00:00Z"), TargetPct: 99.9, Now: ts("2026-12-01T00:00:00Z")})
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
