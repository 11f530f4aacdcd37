package server

import (
	"context"
	"time"

	"github.com/vigil-oncall/vigil/feeds/paging"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// liveSharer is a cluster journal that shares hosts' live load and
// service state between hubs (not through the journal).
type liveSharer interface {
	Live(in func(frame []byte)) (out func(frame []byte))
}

// shareLive connects the hub to the other hubs' live fleet, if the
// journal is a cluster's: what reports here is published to them, what
// reports there is shown here.
func (h *Hub) shareLive() {
	if ls, ok := h.journal.(liveSharer); ok {
		h.liveOut = ls.Live(h.applyLive)
	}
}

// shareLiveFrame publishes a frame of a host that reports to this hub.
func (h *Hub) shareLiveFrame(frame []byte) {
	if h.liveOut != nil {
		h.liveOut(frame)
	}
}

// applyLive shows another hub's host to this hub's dashboards: its load
// with the level that hub gave it, its services as they are. Nothing is
// journaled here: the hub the host reports to journals its transitions.
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
		h.loads[v.Host] = frame
		if h.opts.LoadPace < 0 {
			h.broadcastLocked(frame)
		} else {
			for s := range h.subs {
				s.loads.put(v.Host, frame)
			}
		}
		// A host that moved to another hub is not silent here.
		if h.fleet.life.heardElsewhere(v.Host, h.opts.Now()) {
			back = v.Host
		}
	case *protocol.Service:
		key := serviceKey(v.Host, v.Service)
		h.services[key] = v
		h.svcFrames[key] = frame
		h.broadcastLocked(frame)
	}
	h.mu.Unlock()
	if back != "" {
		h.record(protocol.Entry{Actor: back, Kind: protocol.EntrySystem, Host: back, Text: back + " is reporting again, to another hub"})
		h.pageEvent(paging.Event{What: protocol.WhatSilent, Host: back, Clear: true})
	}
}

// leaser is a cluster journal that runs work on one live hub at a time.
type leaser interface {
	Hold(ctx context.Context, name string, lease time.Duration, work func(ctx context.Context))
}

// holdOrRun runs work on this hub alone, or, in a cluster, while this hub
// owns the lease name: one hub of the cluster does it, another within
// lease of that one's loss.
func (h *Hub) holdOrRun(ctx context.Context, name string, lease time.Duration, work func(ctx context.Context)) {
	if l, ok := h.journal.(leaser); ok && lease > 0 {
		l.Hold(ctx, name, lease, work)
		return
	}
	work(ctx)
}
