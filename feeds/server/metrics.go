package server

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the hub's own state for Prometheus: who watches the watcher.
// It is made before the journal is opened (the journal reports its fsync
// latency to it) and bound to the hub once that exists.
type Metrics struct {
	reg   *prometheus.Registry
	fsync prometheus.Histogram
	// command is from a command's arrival to its answer.
	command prometheus.Histogram
	hub     atomic.Pointer[Hub]
}

// NewMetrics returns the hub's metrics, in a registry of their own.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.fsync = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "vigil_journal_fsync_seconds", Help: "Time the journal's fsync took.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	})
	m.command = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "vigil_command_seconds", Help: "Time from a command's arrival to its answer: validation, the journal's fsync and the broadcast of what it journaled.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	})
	gauge := func(name, help string, f func(h *Hub) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			if h := m.hub.Load(); h != nil {
				return f(h)
			}
			return 0
		})
	}
	counter := func(name, help string, f func(p *pager) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
			if h := m.hub.Load(); h != nil && h.pager != nil {
				return f(h.pager)
			}
			return 0
		})
	}
	m.reg.MustRegister(m.fsync, m.command,
		gauge("vigil_pages_open", "Pages not resolved.", func(h *Hub) float64 {
			if h.pager == nil {
				return 0
			}
			h.pager.mu.Lock()
			defer h.pager.mu.Unlock()
			return float64(h.pager.eng.OpenPages())
		}),
		gauge("vigil_subscribers", "Live subscribers (dashboards).", func(h *Hub) float64 { return float64(h.Subscribers()) }),
		gauge("vigil_journal_seq", "The newest durable journal seq.", func(h *Hub) float64 { return float64(h.Seq()) }),
		gauge("vigil_journal_failed", "1 when the journal stopped after a failed write.", func(h *Hub) float64 {
			if h.JournalFailed() != nil {
				return 1
			}
			return 0
		}),
		counter("vigil_page_notifications_sent_total", "Page notifications delivered.", func(p *pager) float64 { return float64(p.stats.sent.Load()) }),
		counter("vigil_page_notifications_failed_total", "Page notification tries that failed.", func(p *pager) float64 { return float64(p.stats.failed.Load()) }),
		clusterCollector{m},
	)
	return m
}

// ObserveFsync records one fsync's duration (journal.Options.OnSync).
func (m *Metrics) ObserveFsync(d time.Duration) { m.fsync.Observe(d.Seconds()) }

// ObserveCommand records how long one command took to be answered.
func (m *Metrics) ObserveCommand(d time.Duration) { m.command.Observe(d.Seconds()) }

func (h *Hub) metricsHandler() http.Handler {
	return promhttp.HandlerFor(h.metrics.reg, promhttp.HandlerOpts{})
}
