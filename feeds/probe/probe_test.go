package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func TestReadLoad(t *testing.T) {
	l1, l5, l15, err := ReadLoad([]byte("12.80 9.10 4.20 3/712 4242\n"))
	if err != nil || l1 != 12.8 || l5 != 9.1 || l15 != 4.2 {
		t.Fatalf("got %v %v %v %v", l1, l5, l15, err)
	}
	for _, bad := range []string{"", "1 2", "a b c"} {
		if _, _, _, err := ReadLoad([]byte(bad)); err == nil {
			t.Errorf("ReadLoad(%q) accepted", bad)
		}
	}
}

func TestReadMemUsedPct(t *testing.T) {
	pct, err := ReadMemUsedPct([]byte("MemTotal:       1000 kB\nMemFree:  100 kB\nMemAvailable:    285 kB\n"))
	if err != nil || pct != 71.5 {
		t.Fatalf("got %v %v", pct, err)
	}
	if _, err := ReadMemUsedPct([]byte("MemTotal: 10 kB\n")); err == nil {
		t.Fatal("missing MemAvailable accepted")
	}
}

func TestHostProbeMissingProcWarnsOnce(t *testing.T) {
	var warnings []string
	p := &HostProbe{Host: "h", Interval: time.Second, ProcDir: t.TempDir(), Warn: func(m string) { warnings = append(warnings, m) }}
	for i := 0; i < 3; i++ {
		if _, ok := p.Sample(time.Now()); ok {
			t.Fatal("sample without loadavg")
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "cannot read load") {
		t.Fatalf("warnings = %q", warnings)
	}
}

func TestHostProbeReal(t *testing.T) {
	if _, err := os.Stat("/proc/loadavg"); err != nil {
		t.Skip("no /proc/loadavg on this system")
	}
	l, ok := (&HostProbe{Host: "me", Interval: time.Second}).Sample(time.Now())
	if !ok || l.CPUs < 1 || l.MemUsedPct == nil {
		t.Fatalf("sample = %+v ok=%v", l, ok)
	}
}

func plugin(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	staged := filepath.Join(dir, "check_thing.txt")
	if err := os.WriteFile(staged, []byte("#!/bin/sh\n"+body+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "check_thing")
	installExecutable(t, staged, path)
	return path
}

// installExecutable copies src to an executable dst with cp, never
// holding dst open here: a test running beside this one may fork while
// this process holds a file open for writing, and exec'ing that file
// would then fail with "text file busy".
func installExecutable(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v: %s", src, err, out)
	}
	if err := os.Chmod(dst, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestNagiosExitCodes(t *testing.T) {
	tests := []struct {
		body, state, detail string
	}{
		{"echo 'OK - all good'; echo 'perfdata'; exit 0", protocol.StateOK, "OK - all good"},
		{"echo 'WARNING - queue 900'; exit 1", protocol.StateWarn, "WARNING - queue 900"},
		{"echo 'CRITICAL - exim not responding'; exit 2", protocol.StateDown, "CRITICAL - exim not responding"},
		{"echo 'UNKNOWN - no config'; exit 3", protocol.StateUnknown, "UNKNOWN - no config"},
		{"exit 7", protocol.StateUnknown, "exited 7"},
		{"sleep 5", protocol.StateUnknown, "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.state+"/"+tt.detail, func(t *testing.T) {
			c := Check{Type: "command", Target: plugin(t, tt.body), Timeout: 300 * time.Millisecond}
			r := c.Run(context.Background(), "")
			if r.State != tt.state || !strings.Contains(r.Detail, tt.detail) {
				t.Fatalf("got %+v", r)
			}
		})
	}
}

func TestTCPAndHTTPChecks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	tcp := Check{Type: "tcp", Target: addr, Timeout: time.Second}
	if r := tcp.Run(context.Background(), ""); r.State != protocol.StateOK {
		t.Fatalf("tcp up: %+v", r)
	}
	ln.Close()
	if r := tcp.Run(context.Background(), ""); r.State != protocol.StateDown || !strings.Contains(r.Detail, "refused") {
		t.Fatalf("tcp down: %+v", r)
	}
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	h := Check{Type: "http", Target: srv.URL, Timeout: time.Second}
	if r := h.Run(context.Background(), ""); r.State != protocol.StateOK {
		t.Fatalf("http ok: %+v", r)
	}
	status = http.StatusBadGateway
	if r := h.Run(context.Background(), ""); r.State != protocol.StateDown || !strings.Contains(r.Detail, "502") {
		t.Fatalf("http 502: %+v", r)
	}
}

func TestProcessCheck(t *testing.T) {
	if _, err := os.Stat("/proc/self/comm"); err != nil {
		t.Skip("no /proc")
	}
	self, _ := os.ReadFile("/proc/self/comm")
	c := Check{Type: "process", Target: strings.TrimSpace(string(self)), Timeout: time.Second}
	if r := c.Run(context.Background(), ""); r.State != protocol.StateOK {
		t.Fatalf("own process not found: %+v", r)
	}
	c.Target = "no-such-process-vigil"
	if r := c.Run(context.Background(), ""); r.State != protocol.StateDown {
		t.Fatalf("got %+v", r)
	}
}

func TestDebouncerRiseFall(t *testing.T) {
	ok, down, warn := Result{State: protocol.StateOK}, Result{State: protocol.StateDown}, Result{State: protocol.StateWarn}
	tests := []struct {
		name       string
		rise, fall int
		seq        []Result
		wants      []string // "" while no state is confirmed
	}{
		{"first failure waits for fall", 2, 3, []Result{down}, []string{""}},
		{"fall from the first result", 2, 3, []Result{down, down, down}, []string{"", "", "down"}},
		{"rise from the first result", 2, 3, []Result{ok, ok}, []string{"", "ok"}},
		{"a first blip confirms nothing", 2, 3, []Result{down, ok, ok}, []string{"", "", "ok"}},
		{"one blip does not page", 2, 3, []Result{ok, ok, down, ok, down, ok}, []string{"", "ok", "ok", "ok", "ok", "ok"}},
		{"three failures go down", 2, 3, []Result{ok, ok, down, down, down}, []string{"", "ok", "ok", "ok", "down"}},
		{"two successes come back", 2, 3, []Result{down, down, down, ok, down, ok, ok}, []string{"", "", "down", "down", "down", "down", "ok"}},
		{"mixed failures restart the count", 2, 3, []Result{down, warn, down, down, down}, []string{"", "", "", "", "down"}},
		{"rise and fall of 1 take the first result", 1, 1, []Result{down, ok}, []string{"down", "ok"}},
		{"zero counts as 1", 0, 0, []Result{ok, down}, []string{"ok", "down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Debouncer{Rise: tt.rise, Fall: tt.fall}
			now := time.Unix(0, 0)
			for i, r := range tt.seq {
				now = now.Add(time.Second)
				if got, _ := d.Observe(r, now); got != tt.wants[i] {
					t.Fatalf("step %d: %q, want %q", i, got, tt.wants[i])
				}
			}
		})
	}
}

func TestDebouncerSinceIsWhenConfirmed(t *testing.T) {
	d := &Debouncer{Rise: 2, Fall: 2}
	t0 := time.Unix(100, 0)
	d.Observe(Result{State: protocol.StateDown}, t0)
	_, since := d.Observe(Result{State: protocol.StateDown}, t0.Add(time.Second))
	_, again := d.Observe(Result{State: protocol.StateDown}, t0.Add(2*time.Second))
	if !since.Equal(t0.Add(time.Second)) || !again.Equal(since) {
		t.Fatalf("since %s then %s", since, again)
	}
}

type recordSink struct{ services chan protocol.Service }

func (r *recordSink) PublishLoad(protocol.Load)         {}
func (r *recordSink) PublishService(s protocol.Service) { r.services <- s }

func TestRunCheckStopsWithContext(t *testing.T) {
	sink := &recordSink{services: make(chan protocol.Service, 10)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		RunCheck(ctx, "h", Check{Name: "ok", Type: "command", Target: plugin(t, "echo fine; exit 0"), Every: 10 * time.Millisecond, Timeout: time.Second}, "", sink)
		close(done)
	}()
	s := <-sink.services
	if s.State != protocol.StateOK || s.Host != "h" || s.Service != "ok" || s.Detail != "fine" {
		t.Fatalf("got %+v", s)
	}
	cancel()
	for {
		select {
		case <-sink.services:
		case <-done:
			return
		}
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		bad  bool
	}{
		{"check_load -w 5,4,3 -c 10,8,6", []string{"check_load", "-w", "5,4,3", "-c", "10,8,6"}, false},
		{`sh -c 'echo WARNING - queue; exit 1'`, []string{"sh", "-c", "echo WARNING - queue; exit 1"}, false},
		{`check_http -u "/health check" -s a\ b`, []string{"check_http", "-u", "/health check", "-s", "a b"}, false},
		{`x ''`, []string{"x", ""}, false},
		{`x 'open`, nil, true},
	}
	for _, tt := range tests {
		got, err := SplitCommand(tt.in)
		if (err != nil) != tt.bad || strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("SplitCommand(%q) = %q, %v", tt.in, got, err)
		}
	}
}
