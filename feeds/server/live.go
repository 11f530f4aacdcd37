package server

import (
	"context"
	"time"
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
