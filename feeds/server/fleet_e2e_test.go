package server

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/agent"
	"github.com/vigil-oncall/vigil/feeds/ingest"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/internal/testprog"
)

// freeAddr is a loopback address nothing listens on, for a program that
// takes its listen address as a flag.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startProgram runs a real program until the test ends and waits until
// url answers.
func startProgram(t *testing.T, url string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logFile.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	for i := 0; i < 500; i++ {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return cmd
		}
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			t.Fatalf("%s exited: %s", name, out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	out, _ := os.ReadFile(logPath)
	t.Fatalf("%s never answered %s: %s", name, url, out)
	return nil
}

// The whole fleet path against the real programs: a hub, two agents, a
// real node_exporter it scrapes and a real Alertmanager that posts a
// firing then a resolved alert to it; a dashboard's client sees it all.
func TestFleetEndToEndWithNodeExporterAndAlertmanager(t *testing.T) {
	nodeExporter := testprog.Need(t, "prometheus-node-exporter", "prometheus-node-exporter")
	alertmanager := testprog.Need(t, "prometheus-alertmanager", "prometheus-alertmanager")

	j, _, err := journal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hub := NewHub(j, fleetOptions())
	const amToken = "am-s3cret"
	hub.Handle("POST /alertmanager", &ingest.Alertmanager{Token: amToken, Sink: hub})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { Serve(ctx, hub, ln, "/feed", "", ""); close(served) }()
	t.Cleanup(func() { cancel(); <-served; j.Close() })
	hubHTTP := "http://" + ln.Addr().String()
	srv := &running{hub: hub, url: "ws://" + ln.Addr().String() + "/feed"}

	dash, _ := watch(t, srv.url)

	a1 := startAgent(t, agent.Config{Hosts: []string{"web-1"}, URLs: []string{srv.url}, Token: agentToken})
	a2 := startAgent(t, agent.Config{Hosts: []string{"web-2"}, URLs: []string{srv.url}, Token: agentToken})
	a1.PublishLoad(hostLoad("web-1", 0.5, time.Minute))
	a2.PublishLoad(hostLoad("web-2", 3.2, time.Minute))
	a2.PublishService(svc("web-2", "http", protocol.StateOK, "HTTP 200"))

	neAddr := freeAddr(t)
	ne := startProgram(t, "http://"+neAddr+"/metrics", nodeExporter,
		"--web.listen-address="+neAddr, "--collector.disable-defaults",
		"--collector.loadavg", "--collector.cpu", "--collector.meminfo")
	every := 200 * time.Millisecond
	scrapeCtx, stopScrape := context.WithCancel(context.Background())
	scraped := make(chan struct{})
	go func() {
		defer close(scraped)
		ingest.Target{Host: "db-1", URL: "http://" + neAddr + "/metrics", Every: every}.Run(scrapeCtx, http.DefaultClient, srv.hub)
	}()
	t.Cleanup(func() { stopScrape(); <-scraped })

	eventually(t, "every host with the hub's level", func() bool {
		for _, h := range []string{"web-1", "web-2", "db-1"} {
			if l, ok := dash.load(h); !ok || l.Level == "" {
				return false
			}
		}
		l, _ := dash.load("db-1")
		return l.CPUs > 0 && l.MemUsedPct != nil && dash.service("web-2/http").State == protocol.StateOK
	})

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
        http_config:
          authorization:
            credentials: %s
`, hubHTTP, amToken)
	if err := os.WriteFile(filepath.Join(amDir, "alertmanager.yml"), []byte(amConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	startProgram(t, "http://"+amAddr+"/-/ready", alertmanager,
		"--config.file="+filepath.Join(amDir, "alertmanager.yml"), "--storage.path="+filepath.Join(amDir, "data"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	push := func(endsAt time.Time) {
		body := fmt.Sprintf(`[{"labels":{"alertname":"MailQueue","host":"web-1","severity":"critical"},"annotations":{"summary":"queue 4812 messages"},"startsAt":%q,"endsAt":%q}]`,
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
	eventually(t, "the firing alert as a down service", func() bool {
		s := dash.service("web-1/MailQueue")
		return s.State == protocol.StateDown && s.Detail == "queue 4812 messages" && dash.count("MailQueue on web-1 new → down: queue 4812 messages") == 1
	})
	push(time.Now().Add(-time.Second))
	eventually(t, "the resolved alert as ok", func() bool {
		s := dash.service("web-1/MailQueue")
		return s.State == protocol.StateOK && s.Detail == "resolved" && dash.count("MailQueue on web-1 down → ok: resolved") == 1
	})

	// node_exporter gone: the scraped host goes stale with the reason.
	ne.Process.Kill()
	eventually(t, "db-1 stale with the reason", func() bool {
		for _, e := range dash.entries() {
			if e.Kind == protocol.EntryAlert && strings.HasPrefix(e.Text, "db-1 stopped reporting") && strings.Contains(e.Text, "connection refused") {
				return true
			}
		}
		return false
	})
}
