package ingest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func TestParseRealNodeExporterOutput(t *testing.T) {
	data, err := os.ReadFile("testdata/node_exporter-1.5.0.txt")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseNodeMetrics(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	// Captured from Debian's prometheus-node-exporter 1.5.0 on a 2-CPU
	// machine: node_load1 101.17, MemAvailable 2.4316207104e+10 of
	// MemTotal 2.527602688e+10.
	if s.Load1 != 101.17 || s.Load5 != 35.5 || s.Load15 != 13.19 || s.CPUs != 2 || s.MemUsedPct == nil || *s.MemUsedPct != 3.8 {
		t.Fatalf("stats = %+v (mem %v)", s, s.MemUsedPct)
	}
	l := s.Load("db-1", time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC), 15*time.Second)
	if l.Host != "db-1" || l.Interval.Std() != 15*time.Second || l.CPUs != 2 {
		t.Fatalf("load = %+v", l)
	}
}

func TestParseNodeMetricsErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"not metrics", "<html>hello</html>\n", "metrics:"},
		{"no load", "node_memory_MemTotal_bytes 10\n", "no node_load1"},
		{"NaN load", "node_load1 NaN\nnode_load5 1\nnode_load15 1\n", "node_load1 is NaN"},
		{"negative", "node_load1 -1\nnode_load5 1\nnode_load15 1\n", "node_load1 is -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseNodeMetrics(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	s, err := ParseNodeMetrics(strings.NewReader("# TYPE node_load1 gauge\nnode_load1 0.5\nnode_load5 0.4\nnode_load15 0.3\n"))
	if err != nil || s.CPUs != 0 || s.MemUsedPct != nil {
		t.Fatalf("minimal page: %+v %v: CPUs and memory unknown, not an error", s, err)
	}
}

func FuzzParseNodeMetrics(f *testing.F) {
	data, _ := os.ReadFile("testdata/node_exporter-1.5.0.txt")
	f.Add(data)
	f.Add([]byte("node_load1 1\nnode_load5 2\nnode_load15 3\nnode_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 1\n"))
	f.Add([]byte("node_load1{a=\"\\\"\"} 1e400\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ParseNodeMetrics(bytes.NewReader(in))
		if err != nil {
			return
		}
		l := s.Load("h", time.Now(), time.Second)
		if _, err := protocol.Encode(&l); err != nil {
			t.Fatalf("a parsed page gives a load that cannot be sent: %v (%+v)", err, s)
		}
	})
}

func TestAlertToService(t *testing.T) {
	now := time.Date(2026, 11, 22, 2, 14, 0, 0, time.UTC)
	alert := func(status string, labels, ann map[string]string) Alert {
		return Alert{Status: status, Labels: labels, Annotations: ann, StartsAt: "2026-11-22T02:10:00.5Z", EndsAt: "0001-01-01T00:00:00Z"}
	}
	tests := []struct {
		name                         string
		a                            Alert
		host, service, state, detail string
		err                          string
	}{
		{"critical", alert("firing", map[string]string{"alertname": "MailQueue", "host": "web-3", "severity": "critical"}, map[string]string{"summary": "queue 4812"}), "web-3", "MailQueue", "down", "queue 4812", ""},
		{"page", alert("firing", map[string]string{"alertname": "Down", "instance": "10.0.0.7:9100", "severity": "page"}, map[string]string{"description": "gone"}), "10.0.0.7", "Down", "down", "gone", ""},
		{"warning", alert("firing", map[string]string{"alertname": "Disk", "instance": "db-1", "severity": "warning"}, nil), "db-1", "Disk", "warn", "", ""},
		{"no severity", alert("firing", map[string]string{"alertname": "X", "instance": "[::1]:9100"}, nil), "::1", "X", "warn", "", ""},
		{"info", alert("firing", map[string]string{"alertname": "X", "host": "h", "severity": "info"}, nil), "h", "X", "warn", "", ""},
		{"resolved", alert("resolved", map[string]string{"alertname": "X", "host": "h", "severity": "critical"}, map[string]string{"summary": "s", "description": "d"}), "h", "X", "ok", "resolved", ""},
		{"resolved with its own words", alert("resolved", map[string]string{"alertname": "X", "host": "h", "severity": "critical"}, map[string]string{"summary": "mysqld not answering", "resolved_summary": "mysqld answers again"}), "h", "X", "ok", "mysqld answers again", ""},
		{"no host", alert("firing", map[string]string{"alertname": "X"}, nil), "", "", "", "", "neither a host nor an instance"},
		{"no alertname", alert("firing", map[string]string{"host": "h"}, nil), "", "", "", "", "alertname is empty"},
		{"space in host", alert("firing", map[string]string{"alertname": "X", "host": "my host"}, nil), "", "", "", "", "holds a space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.a.Service(now)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || s.Host != tt.host || s.Service != tt.service || s.State != tt.state || s.Detail != tt.detail {
				t.Fatalf("service = %+v, %v", s, err)
			}
			if tt.state != "ok" && !s.Since.Equal(time.Date(2026, 11, 22, 2, 10, 0, 500e6, time.UTC)) {
				t.Fatalf("since = %s, want startsAt", s.Since)
			}
			if tt.state == "ok" && !s.Since.Equal(now) {
				t.Fatalf("resolved since = %s: a zero endsAt reads as now", s.Since)
			}
		})
	}
}

func FuzzDecodeWebhook(f *testing.F) {
	f.Add([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A","instance":"h:1","severity":"critical"},"annotations":{"summary":"s"},"startsAt":"2026-11-22T02:10:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f"}]}`))
	f.Add([]byte(`{"version":"3"}`))
	f.Add([]byte(`{"version":"4","alerts":[{"labels":{"host":"\u0000"}}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		w, err := DecodeWebhook(in)
		if err != nil {
			return
		}
		now := time.Now()
		for _, a := range w.Alerts {
			s, err := a.Service(now)
			if err != nil {
				continue
			}
			if err := protocol.CheckID("host", s.Host); err != nil || !protocol.ValidState(s.State) {
				t.Fatalf("invalid service %+v from %s", s, in)
			}
			frame, err := protocol.Encode(&s)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := protocol.Decode(frame); err != nil {
				t.Fatalf("the service does not decode back: %v", err)
			}
		}
	})
}

type services struct {
	mu   sync.Mutex
	list []protocol.Service
}

func (s *services) PublishService(sv protocol.Service) {
	s.mu.Lock()
	s.list = append(s.list, sv)
	s.mu.Unlock()
}

func TestAlertmanagerHandler(t *testing.T) {
	got := &services{}
	srv := httptest.NewServer(&Alertmanager{Token: "am-token", Sink: got})
	defer srv.Close()
	payload := `{"version":"4","status":"firing","alerts":[` +
		`{"status":"firing","labels":{"alertname":"A","host":"web-1","severity":"critical"},"startsAt":"2026-11-22T02:10:00Z"},` +
		`{"status":"firing","labels":{"alertname":"B"}}]}`
	post := func(token, body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("", payload); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d", r.StatusCode)
	}
	if r := post("wrong", payload); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", r.StatusCode)
	}
	if r := post("am-token", `{"version":"3","alerts":[]}`); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("version 3: %d", r.StatusCode)
	}
	if r := post("am-token", payload); r.StatusCode != http.StatusOK {
		t.Fatalf("good payload: %d", r.StatusCode)
	}
	if len(got.list) != 1 || got.list[0].Host != "web-1" || got.list[0].State != "down" {
		t.Fatalf("services = %+v", got.list)
	}
	resp, _ := http.Get(srv.URL)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

type reports struct {
	mu       sync.Mutex
	loads    []protocol.Load
	failures []string
}

func (r *reports) ReportLoad(l protocol.Load) {
	r.mu.Lock()
	r.loads = append(r.loads, l)
	r.mu.Unlock()
}
func (r *reports) ReportFailure(host, reason string, every time.Duration) {
	r.mu.Lock()
	r.failures = append(r.failures, host+": "+reason)
	r.mu.Unlock()
}

func TestScrapeFailuresCarryTheReason(t *testing.T) {
	notMetrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }))
	defer notMetrics.Close()
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	tests := []struct{ url, want string }{
		{"http://127.0.0.1:1/metrics", "connection refused"},
		{missing.URL, "HTTP 404"},
		{notMetrics.URL, "metrics:"},
	}
	for _, tt := range tests {
		_, err := Target{Host: "db-1", URL: tt.url, Every: 5 * time.Second}.Scrape(context.Background(), http.DefaultClient)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.url) {
			t.Fatalf("%s: err = %v, want it to name the URL and %q", tt.url, err, tt.want)
		}
	}
	r := &reports{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		Target{Host: "db-1", URL: missing.URL, Every: time.Second}.Run(ctx, http.DefaultClient, r)
		close(done)
	}()
	for i := 0; i < 1000; i++ {
		r.mu.Lock()
		n := len(r.failures)
		r.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if len(r.failures) == 0 || !strings.HasPrefix(r.failures[0], "db-1: scrape "+missing.URL+": HTTP 404") {
		t.Fatalf("failures = %q", r.failures)
	}
}
