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
// writer sends them at the subscriber's turn of each pace interval
// (paceOffset), in chunks (takeChunk) a moment apart, so a reader is never
// a whole fleet behind: a journal message written between two chunks
// waits for one chunk's decoding, not for 10,000 hosts'. A journal message
// about a host takes that host's waiting frame with it (holdHost), and
// nothing else. Agents report at their own moments; forwarding each as it
// came woke a dashboard twenty times a second for twenty hosts.
type loadBox struct {
	mu     sync.Mutex
	frames map[string][]byte
	order  []string // hosts waiting for the next turn, in arrival order
	turn   []string // hosts of the turn being sent, from turnAt on
	turnAt int
	// sent are the hosts this turn sent: one put again since waits for
	// the next turn (its place is in order).
	sent map[string]struct{}
	// held counts each host's loads taken along by journal messages and
	// not written yet: its later loads wait for them, so no subscriber
	// reads an older load of a host after a newer one.
	held  map[string]int
	ready chan struct{} // one slot: the box went from empty to not
}

func newLoadBox() *loadBox {
	return &loadBox{frames: map[string][]byte{}, sent: map[string]struct{}{}, held: map[string]int{}, ready: make(chan struct{}, 1)}
}

// put keeps frame as host's newest unsent load: in its place if it
// waits, of this turn or the next, else last for the next turn.
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

// startTurn makes the hosts waiting now the turn's; hosts that come
// during the turn wait for the next one.
func (b *loadBox) startTurn() (hosts int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.turn = append(b.turn, b.order...)
	b.order = b.order[:0]
	clear(b.sent)
	return len(b.turn) - b.turnAt
}

// takeChunk removes and returns up to max frames of the turn, in arrival
// order; more says the turn has hosts left.
func (b *loadBox) takeChunk(max int) (frames [][]byte, more bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := b.turnAt
	for ; i < len(b.turn) && len(frames) < max; i++ {
		host := b.turn[i]
		f, ok := b.frames[host]
		if !ok { // taken along by a journal message (holdHost)
			continue
		}
		if _, again := b.sent[host]; again {
			continue
		}
		if b.held[host] > 0 {
			b.order = append(b.order, host) // after the held one is written
			continue
		}
		frames = append(frames, f)
		delete(b.frames, host)
		b.sent[host] = struct{}{}
	}
	b.turnAt = i
	if b.turnAt == len(b.turn) {
		b.turn, b.turnAt = b.turn[:0], 0
	}
	return frames, len(b.turn) > 0
}

// waiting reports whether frames wait for a turn.
func (b *loadBox) waiting() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.frames) > 0
}

// holdHost removes and returns host's waiting frame, nil if none waits,
// for a journal message to take along; the host's later frames wait
// until release says it was written.
func (b *loadBox) holdHost(host string) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.frames[host]
	if ok {
		delete(b.frames, host)
		b.held[host]++
	}
	return f
}

// release says a frame holdHost took for host was written.
func (b *loadBox) release(host string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.held[host]--; b.held[host] <= 0 {
		delete(b.held, host)
	}
}

// A turn goes out turnChunk frames at a time (200 KB of loads), spread
// over up to half the pace (chunkGap).
const (
	turnChunk  = 1000
	minTurnGap = 5 * time.Millisecond
	maxTurnGap = 25 * time.Millisecond
)

// chunkGap is the time between two chunks of a turn of n frames: the
// turn spread over half the pace, between minTurnGap and maxTurnGap
// apart. A reader takes a few milliseconds to decode a chunk, more when
// it shares its cores; chunks 5 ms apart piled up unread in its socket
// at 10,000 hosts, and a journal message written between two chunks
// then waited behind all of them (40-60 ms). 25 ms apart, it waits
// behind one. Half the pace leaves a turn of 20,000 hosts whole within
// its interval; larger fleets get closer chunks.
func chunkGap(n int, pace time.Duration) time.Duration {
	chunks := (n + turnChunk - 1) / turnChunk
	if chunks <= 1 {
		return minTurnGap
	}
	return min(max(pace/2/time.Duration(chunks-1), minTurnGap), maxTurnGap)
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
