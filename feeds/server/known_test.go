package server

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/ingest"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
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
