package history_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/history"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
	"github.com/vigil-oncall/vigil/internal/testprog"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs a real program until the test ends and waits until url
// answers.
func start(t *testing.T, url, name string, args ...string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logFile.Close(); close(exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-exited })
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
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
}

// A hub whose history is a real Prometheus scraping a real node_exporter,
// both on loopback: the same history request, answered from query_range.
func TestHubAnswersLoadHistoryFromPrometheus(t *testing.T) {
	t.Parallel() // waits for Prometheus to have scraped twice
	prometheus := testprog.Need(t, "prometheus", "prometheus")
	nodeExporter := testprog.Need(t, "prometheus-node-exporter", "prometheus-node-exporter")
	neAddr := freeAddr(t)
	start(t, "http://"+neAddr+"/metrics", nodeExporter, "--web.listen-address="+neAddr,
		"--collector.disable-defaults", "--collector.loadavg", "--collector.cpu", "--collector.meminfo")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: [%q]\n", neAddr)), 0o644)
	promAddr := freeAddr(t)
	start(t, "http://"+promAddr+"/-/ready", prometheus, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)
	prom := &history.Prometheus{URL: "http://" + promAddr}
	// A range's points are from, from+10s, ...: from on the first
	// scrape puts a point on it, so two points 10 s apart are there 10 s
	// after it, not up to 20 s as from a time the scrapes ignore.
	first := firstScrape(t, "http://"+promAddr)
	from := first.Add(-6 * history.FineStep)
	// Wait for two points 10 s apart: history to answer with. The
	// second cannot be there before its time; asking sooner only costs.
	time.Sleep(time.Until(first.Add(history.FineStep)))
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got, _, err := prom.LoadSamples(context.Background(), "127.0.0.1", from, time.Now(), 0)
		if err == nil && len(got) >= 2 && got[len(got)-1].MemUsedPct != nil && got[len(got)-1].CPUs > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has no history yet: %v %+v", err, got)
		}
	}

	j, _, err := journal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	hub := server.NewHub(j, server.Options{History: prom})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); server.Serve(ctx, hub, ln, "/feed", "", "") }()
	t.Cleanup(func() { cancel(); wg.Wait(); hub.Close(); j.Close() })
	url := "ws://" + ln.Addr().String() + "/feed"

	ans, ok := ask(t, url, &protocol.History{ID: "h-1", Kind: "load", Host: "127.0.0.1",
		From: protocol.TimePtr(from), To: protocol.TimePtr(time.Now())}, "h-1").(*protocol.History)
	if !ok || len(ans.Samples) < 2 || ans.More {
		t.Fatalf("answer %+v", ans)
	}
	for i, s := range ans.Samples {
		if s.CPUs <= 0 || s.Load1 < 0 || s.MemUsedPct == nil || *s.MemUsedPct <= 0 || *s.MemUsedPct >= 100 {
			t.Fatalf("sample %d: %+v", i, s)
		}
		if i > 0 && s.At.Sub(ans.Samples[i-1].At.Time) != history.FineStep {
			t.Fatalf("samples not at 10 s: %s then %s", ans.Samples[i-1].At, s.At)
		}
	}
	// A rewind's loads come from the same Prometheus.
	rw, ok := ask(t, url, &protocol.Rewind{ID: "r-1", At: protocol.At(time.Now())}, "r-1").(*protocol.Rewind)
	if !ok || len(rw.Loads) != 1 || rw.Loads[0].Host != "127.0.0.1" || rw.Loads[0].CPUs != ans.Samples[0].CPUs || rw.Loads[0].Level == "" {
		t.Fatalf("rewind loads %+v", rw)
	}
}

// firstScrape waits for Prometheus's first sample of node_exporter's
// load and returns its time, as Prometheus stamped it.
func firstScrape(t *testing.T, promURL string) time.Time {
	t.Helper()
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.PostForm(promURL+"/api/v1/query", url.Values{"query": {"node_load1[5m]"}})
		if err != nil {
			last = err.Error()
			continue
		}
		var ans struct {
			Data struct {
				Result []struct {
					Values [][2]any `json:"values"`
				} `json:"result"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if err != nil {
			last = err.Error()
			continue
		}
		if len(ans.Data.Result) == 1 && len(ans.Data.Result[0].Values) > 0 {
			if secs, ok := ans.Data.Result[0].Values[0][0].(float64); ok {
				return time.UnixMilli(int64(math.Round(secs * 1000)))
			}
		}
		last = fmt.Sprintf("%+v", ans.Data.Result)
	}
	t.Fatalf("Prometheus never scraped node_exporter: %s", last)
	return time.Time{}
}
