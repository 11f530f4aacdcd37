package server

import (
	"sync"
	"time"
)

// DefaultLoadPace is how often a subscriber is sent the load samples that
// arrived since the last time: once a second, on the second.
const DefaultLoadPace = time.Second

// loadBox holds a subscriber's load frames not yet sent, the newest per
// host: a load is state, so a newer sample replaces an unsent one. The
// writer sends them together at the turn of each pace interval on the
// wall clock, or sooner with any other frame it writes. Agents report at
// their own moments; forwarding each as it came woke a dashboard twenty
// times a second for twenty hosts, and every hub paces on the same
// instants, so a dashboard on a hundred feeds wakes once for all of them.
type loadBox struct {
	mu     sync.Mutex
	frames map[string][]byte
	order  []string      // hosts in arrival order, so a host's frame keeps its place
	ready  chan struct{} // one slot: the box went from empty to not
}

func newLoadBox() *loadBox {
	return &loadBox{frames: map[string][]byte{}, ready: make(chan struct{}, 1)}
}

// put keeps frame as host's newest unsent load.
func (b *loadBox) put(host string, frame []byte) {
	b.mu.Lock()
	if _, ok := b.frames[host]; !ok {
		b.order = append(b.order, host)
	}
	b.frames[host] = frame
	first := len(b.order) == 1
	b.mu.Unlock()
	if first {
		select {
		case b.ready <- struct{}{}:
		default:
		}
	}
}

// take empties the box, returning its frames in arrival order.
func (b *loadBox) take() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.order) == 0 {
		return nil
	}
	out := make([][]byte, len(b.order))
	for i, host := range b.order {
		out[i] = b.frames[host]
	}
	clear(b.frames)
	b.order = b.order[:0]
	return out
}

// untilPace is how long from now to the next multiple of pace on the
// wall clock.
func untilPace(now time.Time, pace time.Duration) time.Duration {
	return now.Truncate(pace).Add(pace).Sub(now)
}
