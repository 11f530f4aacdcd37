package server

import (
	"hash/fnv"
	"sync"
	"time"
)

// DefaultLoadPace is how often a subscriber is sent the load samples that
// arrived since the last time: once a second.
const DefaultLoadPace = time.Second

// loadBox holds a subscriber's load frames not yet sent, the newest per
// host: a load is state, so a newer sample replaces an unsent one. The
// writer sends them together at the subscriber's turn of each pace
// interval (paceOffset). Agents report at their own moments; forwarding
// each as it came woke a dashboard twenty times a second for twenty
// hosts. A journal message about a host takes that host's waiting frame
// with it (takeHost), and nothing else: a note does not drag a fleet's
// worth of samples through every subscriber's connection ahead of it.
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
	first := len(b.frames) == 1
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
	if len(b.frames) == 0 {
		b.order = b.order[:0]
		return nil
	}
	out := make([][]byte, 0, len(b.frames))
	for _, host := range b.order {
		// A host taken alone (takeHost) and put again since is listed
		// twice: it goes out once, in its first place.
		if f, ok := b.frames[host]; ok {
			out = append(out, f)
			delete(b.frames, host)
		}
	}
	b.order = b.order[:0]
	return out
}

// takeHost removes and returns host's waiting frame, nil if none waits.
// Its place in the order is left behind and skipped by take.
func (b *loadBox) takeHost(host string) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.frames[host]
	if ok {
		delete(b.frames, host)
	}
	return f
}

// untilPace is how long from now to a subscriber's next turn: the next
// instant on the wall clock that is offset past a multiple of pace.
func untilPace(now time.Time, pace, offset time.Duration) time.Duration {
	return now.Add(-offset).Truncate(pace).Add(pace).Add(offset).Sub(now)
}

// paceOffset places the turn of the subscriber known by key (its actor,
// else its address) within each pace interval. Turning every subscriber
// on the same instant made each second begin with the whole fleet sent to
// every dashboard at once (10,000 hosts are 2 MB each), and a journal
// message arriving then waited for all of it. The offset is a function of
// the actor alone, so one person's dashboard on many hubs still turns on
// one instant and wakes once for all of them.
func paceOffset(key string, pace time.Duration) time.Duration {
	if pace <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return time.Duration(h.Sum64() % uint64(pace))
}
