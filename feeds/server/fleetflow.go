package server

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/paging"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A report flows one way: the fleet's live state (livefleet.go) turns it
// into events under the hub's mu, where the frame is also handed to the
// subscribers; then, outside the lock, the events are shared with the
// other hubs, kept in the load history and the load log, journaled and
// paged for.

// PublishLoad takes a host's load from a source that may stop at any time
// (the hub's own probe): shown, classified, its crossings journaled.
func (h *Hub) PublishLoad(l protocol.Load) { h.takeLoad(l, false) }

// ReportLoad is PublishLoad for a host that is expected to keep reporting
// (an agent's, a scraped node_exporter's): one silent for 3 of its
// intervals is journaled as stopped reporting, and again when it is back.
func (h *Hub) ReportLoad(l protocol.Load) {
	if err := checkLoad(&l); err != nil {
		h.log.Warn("load report refused", "host", l.Host, "err", err)
		return
	}
	h.takeLoad(l, true)
}

func (h *Hub) takeLoad(l protocol.Load, expected bool) {
	h.mu.Lock()
	ev := h.live.load(l, h.opts.Now(), expected)
	h.fanOutLoadLocked(ev.load.Host, ev.frame)
	h.mu.Unlock()
	h.shareLiveFrame(ev.frame)
	if h.opts.History != nil {
		h.opts.History.Add(ev.load)
	}
	if ev.peak != nil {
		h.writePeaks([]*LoadPeak{ev.peak})
	}
	if ev.crossed {
		h.recordCrossing(ev.load, ev.from, ev.to)
	}
	if ev.back {
		host := ev.load.Host
		h.record(protocol.Entry{Actor: host, Kind: protocol.EntrySystem, Host: host,
			Text: fmt.Sprintf("%s is reporting again after %s", host, protocol.FormatDuration(ev.silent.Round(time.Second)))})
		h.pageEvent(paging.Event{What: protocol.WhatSilent, Host: host, Clear: true})
	}
}

// fanOutLoadLocked hands a load frame to every subscriber: kept for the
// next pace, or queued at once when the hub does not pace.
func (h *Hub) fanOutLoadLocked(host string, frame []byte) {
	if h.opts.LoadPace < 0 {
		h.broadcastLocked(frame) // every sample, queued like any frame
		return
	}
	for s := range h.subs {
		s.loads.put(host, frame)
	}
}

// recordCrossing journals a host's load level changing, and pages for it.
func (h *Hub) recordCrossing(l protocol.Load, from, to level.Level) {
	kind := protocol.EntryAlert
	if to < from {
		kind = protocol.EntrySystem
	}
	text := fmt.Sprintf("load on %s %s → %s: load1 %.2f on %d CPUs (%.2f per CPU; warn %.2f, crit %.2f)",
		l.Host, from, to, l.Load1, l.CPUs, level.PerCPU(l.Load1, l.CPUs), h.opts.Thresholds.WarnPerCPU, h.opts.Thresholds.CritPerCPU)
	h.record(protocol.Entry{At: l.At, Actor: l.Host, Kind: kind, Text: text, Host: l.Host, Level: to.String()})
	h.pageLoad(l, from.String(), to.String())
}

// writePeaks writes minutes' peaks to the load log.
func (h *Hub) writePeaks(peaks []*LoadPeak) {
	if h.opts.LoadLog == nil || len(peaks) == 0 {
		return
	}
	var lines []byte
	for _, p := range peaks {
		if line, err := json.Marshal(p); err == nil {
			lines = append(append(lines, line...), '\n')
		}
	}
	h.loadLogMu.Lock()
	h.opts.LoadLog.Write(lines)
	h.loadLogMu.Unlock()
}

// ReportFailure says host could not be read (a scrape failed) and why;
// the reason goes with the stopped-reporting entry if the host goes stale.
func (h *Hub) ReportFailure(host, reason string, every time.Duration) {
	h.mu.Lock()
	h.live.life.failed(host, reason, every, h.opts.Now())
	h.mu.Unlock()
}

// PublishService records a service's state, broadcasts it, and journals a
// change of state.
func (h *Hub) PublishService(s protocol.Service) { h.publishService(s, protocol.WhatDown, "") }

// PublishServiceOnce is PublishService for a change with an identity
// (an Alertmanager notification): journaled at most once per id across
// the hubs of a cluster, each of which may be told it.
func (h *Hub) PublishServiceOnce(s protocol.Service, id string) {
	h.publishService(s, protocol.WhatAlert, id)
}

// publishService is PublishService for a service whose going down pages
// as what (down, or alert for Alertmanager's).
func (h *Hub) publishService(s protocol.Service, what, id string) {
	h.mu.Lock()
	ev := h.live.service(s)
	h.broadcastLocked(ev.frame)
	h.mu.Unlock()
	h.shareLiveFrame(ev.frame)
	if !ev.changed {
		return
	}
	s = ev.service
	text := fmt.Sprintf("%s on %s %s → %s", s.Service, s.Host, ev.from, s.State)
	if s.Detail != "" {
		text += ": " + s.Detail
	}
	h.recordOnce(transitionEntry(s, ev.from, text), id)
	h.pageService(s, ev.from, what)
}

// applyLive shows another hub's host to this hub's dashboards: its load
// with the level that hub gave it, its services as they are. Nothing is
// journaled here but a host coming back: the hub the host reports to
// journals its transitions.
func (h *Hub) applyLive(frame []byte) {
	m, err := protocol.Decode(frame)
	if err != nil {
		h.log.Debug("cluster: another hub's live frame does not decode", "err", err)
		return
	}
	h.mu.Lock()
	var back string
	switch v := m.(type) {
	case *protocol.Load:
		h.fanOutLoadLocked(v.Host, frame)
		// A host that moved to another hub is not silent here.
		if h.live.remoteLoad(v, frame, h.opts.Now()) {
			back = v.Host
		}
	case *protocol.Service:
		h.live.remoteService(v, frame)
		h.broadcastLocked(frame)
	}
	h.mu.Unlock()
	if back != "" {
		h.record(protocol.Entry{Actor: back, Kind: protocol.EntrySystem, Host: back, Text: back + " is reporting again, to another hub"})
		h.pageEvent(paging.Event{What: protocol.WhatSilent, Host: back, Clear: true})
	}
}

// watchHosts journals hosts that stop reporting until ctx ends.
func (h *Hub) watchHosts(ctx context.Context) {
	t := time.NewTicker(h.opts.StaleCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		gone := h.live.life.sweep(h.opts.Now())
		h.mu.Unlock()
		for _, s := range gone {
			h.log.Warn("host stopped reporting", "host", s.host, "silent", s.silent, "reason", s.reason)
			h.record(protocol.Entry{Actor: s.host, Kind: protocol.EntryAlert, Host: s.host, Text: s.text()})
			h.pageEvent(paging.Event{What: protocol.WhatSilent, Host: s.host, Text: s.text()})
		}
		h.sweepOverruns()
	}
}

// startWatch runs watchHosts until ctx ends or the returned stop is called,
// which waits for it.
func (h *Hub) startWatch(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); h.watchHosts(ctx) }()
	return func() { cancel(); <-done }
}

// Service returns the latest state of service on host, if the hub has one.
func (h *Hub) Service(host, service string) (protocol.Service, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.live.services[serviceKey(host, service)]
	if s == nil {
		return protocol.Service{}, false
	}
	return *s, true
}
