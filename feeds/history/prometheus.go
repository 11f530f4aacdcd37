package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Prometheus answers load history from a Prometheus that scrapes the
// fleet's node_exporters, through its HTTP API (query_range, query),
// instead of the hub keeping its own: for a company that already runs
// one. A host is the instance label without its port.
type Prometheus struct {
	URL    string // e.g. http://prom:9090
	Client *http.Client
}

// The queries: node_exporter's metric names.
const (
	promLoad = `max by (instance) (node_load1{%s})`
	promCPUs = `count by (instance) (node_cpu_seconds_total{mode="idle",%s})`
	promMem  = `100 * (1 - max by (instance) (node_memory_MemAvailable_bytes{%s}) / max by (instance) (node_memory_MemTotal_bytes{%s}))`
	// promMaxPoints stays under Prometheus's 11,000 points a series.
	promMaxPoints = 10_000
	// promBody bounds what is read of one answer.
	promBody = 64 << 20
)

// Add does nothing: Prometheus keeps the samples.
func (p *Prometheus) Add(protocol.Load) {}

func instanceMatcher(host string) string {
	return `instance=~"` + strings.ReplaceAll(regexp.QuoteMeta(host), `\`, `\\`) + `(:[0-9]+)?"`
}

// LoadSamples asks query_range for host's load1, CPUs and memory from
// from to to, at 10 s within 48 hours of now and 5 minutes beyond (fewer
// points where the range would pass Prometheus's limit).
func (p *Prometheus) LoadSamples(ctx context.Context, host string, from, to time.Time, limit int) ([]protocol.LoadSample, bool, error) {
	if !to.After(from) {
		return nil, false, nil
	}
	step := FineStep
	if from.Before(time.Now().Add(-FineKeep)) {
		step = CoarseStep
	}
	if n := to.Sub(from) / step; n > promMaxPoints {
		step = (to.Sub(from)/promMaxPoints + time.Second - 1).Truncate(time.Second)
	}
	m := instanceMatcher(host)
	byAt := map[int64]*protocol.LoadSample{}
	for _, q := range []struct {
		query string
		set   func(s *protocol.LoadSample, v float64)
	}{
		{fmt.Sprintf(promLoad, m), func(s *protocol.LoadSample, v float64) { s.Load1 = math.Round(v*100) / 100 }},
		{fmt.Sprintf(promCPUs, m), func(s *protocol.LoadSample, v float64) { s.CPUs = int(v) }},
		{fmt.Sprintf(promMem, m, m), func(s *protocol.LoadSample, v float64) { v = math.Round(v*100) / 100; s.MemUsedPct = &v }},
	} {
		series, err := p.query(ctx, "/api/v1/query_range", url.Values{
			"query": {q.query}, "start": {promTime(from)}, "end": {promTime(to)}, "step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
		})
		if err != nil {
			return nil, false, err
		}
		for _, s := range series {
			for _, pt := range s.Values {
				at, v, ok := point(pt)
				if !ok {
					continue
				}
				ls := byAt[at.UnixMilli()]
				if ls == nil {
					ls = &protocol.LoadSample{At: protocol.At(at)}
					byAt[at.UnixMilli()] = ls
				}
				q.set(ls, v)
			}
		}
	}
	out := make([]protocol.LoadSample, 0, len(byAt))
	for _, s := range byAt {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At.Time) })
	if limit > 0 && len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// LoadsAt asks an instant query for every instance's load at at.
func (p *Prometheus) LoadsAt(ctx context.Context, at time.Time) ([]protocol.Load, error) {
	all := `instance=~".+"`
	by := map[string]*protocol.Load{}
	for _, q := range []struct {
		query string
		set   func(l *protocol.Load, v float64)
	}{
		{fmt.Sprintf(promLoad, all), func(l *protocol.Load, v float64) { l.Load1 = math.Round(v*100) / 100 }},
		{fmt.Sprintf(promCPUs, all), func(l *protocol.Load, v float64) { l.CPUs = int(v) }},
		{fmt.Sprintf(promMem, all, all), func(l *protocol.Load, v float64) { v = math.Round(v*100) / 100; l.MemUsedPct = &v }},
	} {
		series, err := p.query(ctx, "/api/v1/query", url.Values{"query": {q.query}, "time": {promTime(at)}})
		if err != nil {
			return nil, err
		}
		for _, s := range series {
			host := s.Metric["instance"]
			if h, _, ok := strings.Cut(host, ":"); ok && !strings.Contains(host, "]") {
				host = h
			}
			if protocol.CheckID("host", host) != nil {
				continue
			}
			t, v, ok := point(s.Value)
			if !ok {
				continue
			}
			l := by[host]
			if l == nil {
				l = &protocol.Load{Host: host, At: protocol.At(t), Interval: protocol.Duration(FineStep)}
				by[host] = l
			}
			q.set(l, v)
		}
	}
	out := make([]protocol.Load, 0, len(by))
	for _, l := range by {
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out, nil
}

type promSeries struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
	Value  [2]any            `json:"value"`
}

// decodePromAnswer reads a Prometheus API answer: its series, or the
// error it reports.
func decodePromAnswer(body []byte) ([]promSeries, error) {
	var ans struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []promSeries `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("not a Prometheus API answer: %w", err)
	}
	if ans.Status != "success" {
		if ans.Error == "" {
			ans.Error = "status " + strconv.Quote(ans.Status)
		}
		return nil, errors.New(ans.Error)
	}
	return ans.Data.Result, nil
}

func (p *Prometheus) query(ctx context.Context, path string, v url.Values) ([]promSeries, error) {
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(p.URL, "/")+path, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, promBody))
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	series, err := decodePromAnswer(body)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: HTTP %d: %w", path, resp.StatusCode, err)
	}
	return series, nil
}

func promTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// point reads one [unix seconds, "value"] pair.
func point(pt [2]any) (time.Time, float64, bool) {
	secs, ok := pt[0].(float64)
	s, ok2 := pt[1].(string)
	if !ok || !ok2 {
		return time.Time{}, 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return time.Time{}, 0, false
	}
	return time.UnixMilli(int64(math.Round(secs * 1000))).UTC(), v, true
}
