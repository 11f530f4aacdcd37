package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/ingest"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/paging"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
	"github.com/vigil-oncall/vigil/internal/testprog"
)

// The real Alertmanager posts a critical alert: it pages the on-call by
// email as an alert, and its resolution resolves the page.
func TestAlertmanagerCriticalAlertPages(t *testing.T) {
	alertmanager := testprog.Need(t, "prometheus-alertmanager", "prometheus-alertmanager")
	mail, relayAddr := startRelay(t)
	dir := t.TempDir()
	j, _, err := journal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := pagingConfig()
	cfg.Rules[0].Group = 0
	secret, _ := LoadPagingSecret(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hubHTTP := "http://" + ln.Addr().String()
	hub := NewHub(j, Options{Paging: &PagingOptions{Config: cfg, Secret: secret, URL: hubHTTP, Tick: 20 * time.Millisecond,
		Email: &publish.Email{Name: "pager-mail", Addr: relayAddr, TLS: publish.TLSNone, From: "pager@example.com"}}})
	hub.Handle("POST /alertmanager", &ingest.Alertmanager{Sink: hub.AlertSink()})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { Serve(ctx, hub, ln, "/feed", "", ""); close(served) }()
	t.Cleanup(func() { cancel(); <-served; j.Close() })

	amAddr := freeAddr(t)
	amDir := t.TempDir()
	amConfig := fmt.Sprintf(`route:
  receiver: vigil
  group_by: [alertname, host]
  group_wait: 100ms
  group_interval: 500ms
  repeat_interval: 1h
receivers:
  - name: vigil
    webhook_configs:
      - url: %s/alertmanager
        send_resolved: true
`, hubHTTP)
	if err := os.WriteFile(filepath.Join(amDir, "alertmanager.yml"), []byte(amConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	startProgram(t, "http://"+amAddr+"/-/ready", alertmanager,
		"--config.file="+filepath.Join(amDir, "alertmanager.yml"), "--storage.path="+filepath.Join(amDir, "data"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	push := func(endsAt time.Time) {
		body := fmt.Sprintf(`[{"labels":{"alertname":"DiskFull","host":"db-1","severity":"critical"},"annotations":{"summary":"/var 99%%"},"startsAt":%q,"endsAt":%q}]`,
			time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), endsAt.UTC().Format(time.RFC3339))
		resp, err := http.Post("http://"+amAddr+"/api/v2/alerts", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("pushing the alert: HTTP %d", resp.StatusCode)
		}
	}
	push(time.Now().Add(time.Hour))
	eventually(t, "alice paged by email for the alert", func() bool {
		m := mail.received()
		return len(m) == 1 && strings.Contains(m[0], "Subject: [PG-1] db-1: DiskFull alert") && strings.Contains(m[0], "To: <alice@example.com>")
	})
	if ps := hub.Pages(); len(ps) != 1 || ps[0].Events[0].What != protocol.WhatAlert {
		t.Fatalf("pages %+v", ps)
	}
	push(time.Now().Add(-time.Second))
	eventually(t, "the page resolved with the alert, and alice told", func() bool {
		ps := hub.Pages()
		m := mail.received()
		return len(ps) == 1 && ps[0].Status == protocol.PageResolved && len(m) == 2 && strings.Contains(m[1], "resolved")
	})
	// /metrics says so (the counter moves once the relay's answer is in).
	var text string
	eventually(t, "/metrics to count both mails", func() bool {
		resp, err := http.Get(hubHTTP + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		text = string(body)
		return strings.Contains(text, "vigil_page_notifications_sent_total 2")
	})
	for _, want := range []string{"vigil_pages_open 0", "vigil_journal_seq"} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text)
		}
	}
}

// The heartbeat is fetched while the hub is healthy and stops once its
// journal cannot be written: the outside switch then pages.
func TestHeartbeatStopsWhenTheJournalFails(t *testing.T) {
	var mu sync.Mutex
	beats := 0
	hc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		beats++
		mu.Unlock()
	}))
	defer hc.Close()
	count := func() int { mu.Lock(); defer mu.Unlock(); return beats }
	disk := &faultyDisk{}
	srv := startServerWith(t, t.TempDir(), "", Options{Paging: &PagingOptions{Heartbeat: hc.URL, HeartbeatEvery: 10 * time.Millisecond}},
		journal.Options{WrapFile: disk.wrap})
	eventually(t, "heartbeats", func() bool { return count() >= 3 })
	full := errors.New("no space left on device")
	disk.writeErr.Store(&full)
	srv.hub.Apply(protocol.Command{ID: "d", Actor: "a", Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"}, true, nil)
	eventually(t, "the journal failed", func() bool { return srv.hub.JournalFailed() != nil })
	settled := count() + 1 // one may have been under way
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		if count() > settled {
			t.Fatalf("heartbeat went on after the journal failed: %d beats", count())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A page to an ntfy webhook carries the acknowledge button; the button's
// POST acknowledges.
func TestNtfyPageHasAnAcknowledgeButton(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	var bodies []string
	topic := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r.Header.Clone()), append(bodies, string(b))
		mu.Unlock()
	}))
	defer topic.Close()
	r := newPagingRig(t)
	r.stop()
	r.opts.Paging.Webhooks["bob-phone"] = &publish.Webhook{Name: "bob-phone", URL: topic.URL, Format: publish.FormatNtfy}
	cfg := pagingConfig()
	cfg.Rotations["primary"] = paging.Rotation{Name: "primary", People: []string{"bob"}, Start: pagingT0, Shift: time.Hour * 24}
	r.opts.Paging.Config = cfg
	r.start(t)
	r.hub.PublishService(protocol.Service{Host: "h", Service: "s", State: protocol.StateDown, At: protocol.At(pagingT0)})
	r.step(t, pagingT0.Add(time.Minute))
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d posts to the topic", len(got))
	}
	actions := got[0].Get("X-Actions")
	ack := regexp.MustCompile(`^http, Acknowledge, (http://\S+/ack/\S+), method=POST, clear=true$`).FindStringSubmatch(actions)
	if ack == nil || got[0].Get("X-Priority") != "urgent" || !strings.Contains(got[0].Get("X-Title"), "[PG-1]") || !strings.Contains(bodies[0], "h s down") {
		t.Fatalf("ntfy post: %v\n%s", got[0], bodies[0])
	}
	resp, err := http.Post(ack[1], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if p := r.page(t, "PG-1"); p.Status != protocol.PageAcknowledged || *p.AckedBy != "bob" {
		t.Fatalf("after the button: %+v", p)
	}
	r.stop()
}
