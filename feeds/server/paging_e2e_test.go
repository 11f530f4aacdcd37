package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/ingest"
	"github.com/vigil-oncall/vigil/feeds/journal"
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
	// /metrics says so.
	resp, err := http.Get(hubHTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	for _, want := range []string{"vigil_pages_open 0", "vigil_page_notifications_sent_total 2", "vigil_journal_seq"} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text)
		}
	}
}
