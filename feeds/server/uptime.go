package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/publish"
)

// RunLogName is the file in data_dir that says when the hub was running:
// uptime is counted only inside those spans, the rest is no data.
const RunLogName = "running.json"

// runLogEvery is how often the running span is extended on disk: a hub
// killed loses at most this much of its last span.
const runLogEvery = time.Minute

// runLog is the spans the hub ran, the last one growing while it runs.
type runLog struct {
	mu    sync.Mutex
	path  string
	spans []publish.Span
}

func openRunLog(path string, now time.Time) *runLog {
	r := &runLog{path: path}
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &r.spans)
	}
	r.spans = append(r.spans, publish.Span{From: now.UTC(), To: now.UTC()})
	r.prune(now)
	return r
}

// prune forgets spans older than the bars show (and a little).
func (r *runLog) prune(now time.Time) {
	cut := now.AddDate(0, 0, -100)
	i := 0
	for i < len(r.spans) && r.spans[i].To.Before(cut) {
		i++
	}
	r.spans = r.spans[i:]
}

// extend moves the current span's end to now and writes the log.
func (r *runLog) extend(now time.Time) error {
	r.mu.Lock()
	r.spans[len(r.spans)-1].To = now.UTC()
	r.prune(now)
	b, err := json.Marshal(r.spans)
	r.mu.Unlock()
	if err != nil || r.path == "" {
		return err
	}
	tmp := r.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, r.path)
}

// running is the spans up to now (the current one reaching now: the hub
// is running as it answers).
func (r *runLog) running(now time.Time) []publish.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]publish.Span(nil), r.spans...)
	if n := len(out); n > 0 && now.After(out[n-1].To) {
		out[n-1].To = now.UTC()
	}
	return out
}

// startRunLog keeps the run log until ctx ends or stop is called.
func (h *Hub) startRunLog(ctx context.Context) (stop func()) {
	if h.runs == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(runLogEvery)
		defer t.Stop()
		for {
			if err := h.runs.extend(h.opts.Now()); err != nil {
				h.log.Warn("run log not written: uptime will show this time as no data", "err", err)
			}
			select {
			case <-ctx.Done():
				h.runs.extend(h.opts.Now())
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// UptimeNow is every public component's uptime as the page shows it.
func (h *Hub) UptimeNow(now time.Time) publish.UptimeJSON {
	var running []publish.Span
	if h.runs != nil {
		running = h.runs.running(now)
	} else {
		running = []publish.Span{{From: h.started, To: now}}
	}
	auto, _ := h.auto.snapshot()
	return publish.UptimeWithAuto(h.board.Site(), h.board.Snapshot(), auto, running, now, h.opts.Uptime)
}

// uptimeJSON serves GET /status/uptime.json, worked out once a minute.
func (h *Hub) uptimeJSON() http.Handler {
	var mu sync.Mutex
	var minute time.Time
	var body []byte
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := h.opts.Now()
		mu.Lock()
		if m := now.Truncate(time.Minute); body == nil || !m.Equal(minute) {
			b, err := json.Marshal(h.UptimeNow(now))
			if err != nil {
				mu.Unlock()
				http.Error(w, "uptime could not be worked out", http.StatusInternalServerError)
				return
			}
			body, minute = b, m
		}
		b := body
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	})
}

func (h *Hub) initUptime() {
	if h.opts.Uptime.Days == 0 && h.opts.Uptime.PartialWeight == 0 && !h.opts.Uptime.CountMaintenance {
		h.opts.Uptime = publish.DefaultUptimeRules()
	}
	h.started = h.opts.Now().UTC()
	if len(h.opts.Auto) > 0 {
		h.auto = newAutoTrack(h.opts.Auto)
	}
	if h.opts.DataDir != "" {
		h.runs = openRunLog(filepath.Join(h.opts.DataDir, RunLogName), h.started)
	}
	h.Handle("GET /status/uptime.json", h.uptimeJSON())
}
