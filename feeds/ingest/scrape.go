// Package ingest turns the monitoring a hosting company already runs into
// hub reports: Prometheus node_exporter targets the hub scrapes (load,
// CPUs, memory) and Alertmanager's webhook (each alert a service).
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// NodeStats is what a node_exporter scrape says about a host.
type NodeStats struct {
	Load1, Load5, Load15 float64
	CPUs                 int      // distinct cpu labels of node_cpu_seconds_total; 0 if absent
	MemUsedPct           *float64 // from MemAvailable and MemTotal; nil if absent
}

// maxScrapeBytes bounds what one scrape reads; node_exporter's page is
// some 60 KiB, hundreds with many disks and interfaces.
const maxScrapeBytes = 16 << 20

// ParseNodeMetrics reads node_exporter's text exposition format.
func ParseNodeMetrics(r io.Reader) (NodeStats, error) {
	// Since v0.66 a parser needs a name validation scheme; UTF-8 accepts
	// everything the legacy scheme does, and newer exporters' names too.
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(io.LimitReader(r, maxScrapeBytes))
	if err != nil {
		return NodeStats{}, fmt.Errorf("metrics: %w", err)
	}
	var s NodeStats
	loads := []struct {
		name string
		dst  *float64
	}{{"node_load1", &s.Load1}, {"node_load5", &s.Load5}, {"node_load15", &s.Load15}}
	for _, l := range loads {
		v, ok := single(fams[l.name])
		if !ok {
			return NodeStats{}, fmt.Errorf("metrics: no %s (is this a node_exporter with the loadavg collector?)", l.name)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return NodeStats{}, fmt.Errorf("metrics: %s is %v", l.name, v)
		}
		*l.dst = v
	}
	cpus := map[string]bool{}
	if f := fams["node_cpu_seconds_total"]; f != nil {
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "cpu" {
					cpus[lp.GetValue()] = true
				}
			}
		}
	}
	s.CPUs = len(cpus)
	total, okT := single(fams["node_memory_MemTotal_bytes"])
	avail, okA := single(fams["node_memory_MemAvailable_bytes"])
	if okT && okA && total > 0 && avail >= 0 && avail <= total {
		pct := math.Round(1000*(total-avail)/total) / 10
		s.MemUsedPct = &pct
	}
	return s, nil
}

// single is the value of a family's one gauge, counter or untyped sample.
func single(f *dto.MetricFamily) (float64, bool) {
	if f == nil || len(f.GetMetric()) != 1 {
		return 0, false
	}
	m := f.GetMetric()[0]
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue(), true
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue(), true
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue(), true
	}
	return 0, false
}

// Load is the protocol load of host from s.
func (s NodeStats) Load(host string, at time.Time, every time.Duration) protocol.Load {
	return protocol.Load{Host: host, At: protocol.At(at), Interval: protocol.Duration(every),
		Load1: s.Load1, Load5: s.Load5, Load15: s.Load15, CPUs: s.CPUs, MemUsedPct: s.MemUsedPct}
}

// Reporter takes what scrapes find: the hub.
type Reporter interface {
	ReportLoad(protocol.Load)
	ReportFailure(host, reason string, every time.Duration)
}

// Target is one node_exporter the hub scrapes for host.
type Target struct {
	Host  string
	URL   string
	Every time.Duration
}

// Scrape reads the target once.
func (t Target) Scrape(ctx context.Context, client *http.Client) (NodeStats, error) {
	timeout := min(t.Every, 10*time.Second)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URL, nil)
	if err != nil {
		return NodeStats{}, err
	}
	// The text format, which every exporter serves; no protobuf.
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return NodeStats{}, fmt.Errorf("scrape %s: timed out after %s", t.URL, timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return NodeStats{}, fmt.Errorf("scrape %s: %w", t.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return NodeStats{}, fmt.Errorf("scrape %s: HTTP %d", t.URL, resp.StatusCode)
	}
	s, err := ParseNodeMetrics(resp.Body)
	if err != nil {
		return NodeStats{}, fmt.Errorf("scrape %s: %w", t.URL, err)
	}
	return s, nil
}

// Run scrapes the target every Every until ctx ends, reporting each load,
// and each failure with its reason (the hub journals a host whose scrapes
// fail for 3 intervals as stopped reporting, with the last reason).
func (t Target) Run(ctx context.Context, client *http.Client, r Reporter) {
	tick := time.NewTicker(t.Every)
	defer tick.Stop()
	for {
		s, err := t.Scrape(ctx, client)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			r.ReportFailure(t.Host, err.Error(), t.Every)
		} else {
			r.ReportLoad(s.Load(t.Host, time.Now(), t.Every))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
