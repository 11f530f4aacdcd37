package server

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/ingest"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/internal/testprog"
)

// startWithWebhook serves a hub over dir with the Alertmanager webhook
// mounted, as vigil serve does; stop ends it and closes its journal.
func startWithWebhook(t *testing.T, dir string, opts Options) (r *running, base string, stop func()) {
	t.Helper()
	j, _, err := journal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	hub := NewHub(j, opts)
	hub.Handle("POST /alertmanager", &ingest.Alertmanager{Sink: hub})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { Serve(ctx, hub, ln, "/feed", "", ""); close(served) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-served
			j.Close()
		}
	}
	t.Cleanup(stop)
	return &running{hub: hub, addr: ln.Addr().String(), url: "ws://" + ln.Addr().String() + "/feed"}, "http://" + ln.Addr().String(), stop
}

// An alert Alertmanager posted before a restart is a down service in the
// first snapshot after it, with its detail and since, though Alertmanager
// will not post it again for hours.
func TestAlertmanagerServiceSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	_, base, stop := startWithWebhook(t, dir, Options{})
	started := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	body := `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Persist1","host":"web-88","severity":"critical"},"annotations":{"summary":"disk 97% full"},"startsAt":"` + started.Format(time.RFC3339) + `","endsAt":"0001-01-01T00:00:00Z"}]}`
	resp, err := http.Post(base+"/alertmanager", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("webhook: HTTP %d", resp.StatusCode)
	}
	stop()

	srv, _, _ := startWithWebhook(t, dir, Options{})
	dash, _ := watch(t, srv.url)
	eventually(t, "the alert's service after the restart", func() bool {
		return dash.service("web-88/Persist1").State == protocol.StateDown
	})
	s := dash.service("web-88/Persist1")
	if s.Detail != "disk 97% full" || !s.Since.Equal(started) {
		t.Fatalf("restored as %+v; want detail %q since %s", s, "disk 97% full", started)
	}
	// Alertmanager's resolve after the restart is a transition from down.
	resolved := strings.Replace(strings.Replace(body, `"status":"firing"`, `"status":"resolved"`, 2), `"endsAt":"0001-01-01T00:00:00Z"`, `"endsAt":"`+time.Now().UTC().Format(time.RFC3339)+`"`, 1)
	resp, err = http.Post("http://"+srv.addr+"/alertmanager", "application/json", strings.NewReader(resolved))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	eventually(t, "the resolve journaled from down", func() bool { return dash.count("Persist1 on web-88 down → ok") == 1 })
}

// A host that is down when the hub restarts is still in every snapshot:
// stale from the first frame, with its last known figures and since when.
// The scraped host is a real node_exporter, killed before the restart;
// web-9 is known from the journal only (its load went crit).
func TestHostDownAcrossRestartStaysStale(t *testing.T) {
	nodeExporter := testprog.Need(t, "prometheus-node-exporter", "prometheus-node-exporter")
	dir := t.TempDir()
	logPath := filepath.Join(dir, LoadLogName)
	every := 200 * time.Millisecond
	hosts := []KnownHost{{Host: "db-1", Every: every}}
	open := func(now func() time.Time) (*running, *os.File) {
		loadLog, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
		if err != nil {
			t.Fatal(err)
		}
		last, err := ReadLastPeaks(logPath)
		if err != nil {
			t.Fatal(err)
		}
		srv := startServer(t, dir, "", Options{LoadLog: loadLog, Hosts: hosts, LastLoads: last, Now: now, StaleCheck: 10 * time.Millisecond})
		return srv, loadLog
	}
	scrape := func(srv *running, url string) (stop func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			ingest.Target{Host: "db-1", URL: url, Every: every}.Run(ctx, http.DefaultClient, srv.hub)
		}()
		return func() { cancel(); <-done }
	}

	srv, loadLog := open(nil)
	neAddr := freeAddr(t)
	ne := startProgram(t, "http://"+neAddr+"/metrics", nodeExporter,
		"--web.listen-address="+neAddr, "--collector.disable-defaults", "--collector.loadavg", "--collector.cpu", "--collector.meminfo")
	stopScrape := scrape(srv, "http://"+neAddr+"/metrics")
	srv.hub.ReportLoad(protocol.Load{Host: "web-9", At: protocol.At(time.Now()), Interval: protocol.Duration(time.Second), Load1: 40, CPUs: 4})
	var before protocol.Load
	eventually(t, "db-1 scraped", func() bool {
		srv.hub.mu.Lock()
		frame := srv.hub.live.loads["db-1"]
		srv.hub.mu.Unlock()
		m, err := protocol.Decode(frame)
		if err != nil {
			return false
		}
		before = *m.(*protocol.Load)
		return before.CPUs > 0
	})
	ne.Process.Kill()
	eventually(t, "db-1 journaled as stopped reporting", func() bool {
		srv.hub.mu.Lock()
		defer srv.hub.mu.Unlock()
		hl := srv.hub.live.life.hosts["db-1"]
		return hl != nil && hl.stale
	})
	srv.hub.mu.Lock()
	lastAt, _ := protocol.Decode(srv.hub.live.loads["db-1"])
	srv.hub.mu.Unlock()
	stopScrape()
	srv.stop()
	loadLog.Close()

	// A minute later by the hub's clock; node_exporter still down.
	later := func() time.Time { return time.Now().Add(time.Minute) }
	srv2, loadLog2 := open(later)
	defer loadLog2.Close()
	defer scrape(srv2, "http://"+neAddr+"/metrics")()
	c, err := client.New([]client.FeedConfig{{Name: "hub", URL: srv2.url}}, "", fast())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { c.Run(ctx); close(ran) }()
	defer func() { cancel(); <-ran }()
	got := map[string]client.HostLoad{}
	eventually(t, "both hosts in the first snapshot", func() bool {
		for _, h := range c.Store().Drain().Loads {
			got[h.Load.Host] = h
		}
		return len(got) == 2
	})
	db := got["db-1"]
	if db.Load.CPUs != before.CPUs || !db.Load.At.Equal(lastAt.(*protocol.Load).At.Time) {
		t.Fatalf("db-1 after the restart: %+v; want %d CPUs, last heard %s", db.Load, before.CPUs, lastAt.(*protocol.Load).At)
	}
	if age := time.Since(db.Received); age <= 3*every {
		t.Fatalf("db-1 received as %s old: not stale", age)
	}
	web := got["web-9"]
	if web.Load.Level != protocol.LevelCrit || web.Load.Load1 != 40 || time.Since(web.Received) <= 3*5*time.Second {
		t.Fatalf("web-9 after the restart: %+v received %s ago; want crit, load1 40, stale", web.Load, time.Since(web.Received))
	}
}
