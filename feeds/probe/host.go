// Package probe measures the host a feed server runs on: load and memory
// from /proc, and service checks (tcp, http, process, and Nagios-style
// commands) with rise/fall counts so one blip does not page anyone.
package probe

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Sink receives what probes measure; the feed server's Hub is one.
type Sink interface {
	PublishLoad(protocol.Load)
	PublishService(protocol.Service)
}

// HostProbe reads load and memory of this host.
type HostProbe struct {
	Host     string
	Interval time.Duration
	ProcDir  string // "/proc"; tests point it elsewhere
	// Warn is told, once per kind of problem, what could not be read.
	Warn   func(msg string)
	warned map[string]bool
}

// ReadLoad parses a /proc/loadavg file.
func ReadLoad(data []byte) (l1, l5, l15 float64, err error) {
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return 0, 0, 0, fmt.Errorf("loadavg: want 3 numbers, got %q", strings.TrimSpace(string(data)))
	}
	vals := [3]float64{}
	for i := range vals {
		if vals[i], err = strconv.ParseFloat(f[i], 64); err != nil {
			return 0, 0, 0, fmt.Errorf("loadavg: %w", err)
		}
	}
	return vals[0], vals[1], vals[2], nil
}

// ReadMemUsedPct parses a /proc/meminfo file: used = total - available.
func ReadMemUsedPct(data []byte) (float64, error) {
	var total, avail float64
	var haveTotal, haveAvail bool
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "MemTotal:":
			total, haveTotal = v, true
		case "MemAvailable:":
			avail, haveAvail = v, true
		}
	}
	if !haveTotal || !haveAvail || total <= 0 {
		return 0, fmt.Errorf("meminfo: MemTotal or MemAvailable missing")
	}
	return 100 * (total - avail) / total, nil
}

func (p *HostProbe) warnOnce(kind, msg string) {
	if p.warned == nil {
		p.warned = map[string]bool{}
	}
	if !p.warned[kind] && p.Warn != nil {
		p.Warn(msg)
	}
	p.warned[kind] = true
}

// Sample reads the host now. Load that cannot be read is reported once and
// the sample is skipped; memory that cannot be read is left out.
func (p *HostProbe) Sample(now time.Time) (protocol.Load, bool) {
	dir := p.ProcDir
	if dir == "" {
		dir = "/proc"
	}
	l := protocol.Load{Host: p.Host, At: protocol.At(now), Interval: protocol.Duration(p.Interval), CPUs: runtime.NumCPU()}
	data, err := os.ReadFile(dir + "/loadavg")
	if err == nil {
		l.Load1, l.Load5, l.Load15, err = ReadLoad(data)
	}
	if err != nil {
		p.warnOnce("load", fmt.Sprintf("cannot read load of this host (%v); serving checks and the journal without it", err))
		return l, false
	}
	if data, err := os.ReadFile(dir + "/meminfo"); err != nil {
		p.warnOnce("mem", fmt.Sprintf("cannot read memory use (%v); reporting load without it", err))
	} else if pct, err := ReadMemUsedPct(data); err != nil {
		p.warnOnce("mem", fmt.Sprintf("cannot read memory use (%v); reporting load without it", err))
	} else {
		pct = float64(int(pct*10+0.5)) / 10
		l.MemUsedPct = &pct
	}
	return l, true
}

// Run samples every Interval until ctx ends.
func (p *HostProbe) Run(ctx context.Context, sink Sink) {
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		if l, ok := p.Sample(time.Now()); ok {
			sink.PublishLoad(l)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
