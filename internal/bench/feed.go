package bench

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// Feed is a real feed server (the Hub of vigil serve) on loopback, with an
// incident open, that the harness drives.
type Feed struct {
	Hub    *server.Hub
	URL    string
	dir    string
	j      *journal.Journal
	cancel context.CancelFunc
	done   chan struct{}
	n      int
	mu     sync.Mutex
	// Base is added to host numbers, so feeds of one dashboard report
	// different hosts.
	Base int
}

// NewFeed starts a feed with an outage declared. Its journal lives in
// memory-backed storage where there is some, so fsync does not dominate.
func NewFeed() (*Feed, error) { return newFeed(true, 0) }

// NewStreamFeed is NewFeed with a hub that sends each load sample as it
// comes, where a hub paces them (the newest per host once a second): for
// measuring how fast a reader takes a stream of samples.
func NewStreamFeed() (*Feed, error) { return newFeed(true, -1) }

// newFeed starts a feed, with an outage declared if declare.
func newFeed(declare bool, loadPace time.Duration) (*Feed, error) {
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "vigil-perf-")
	if err != nil {
		return nil, err
	}
	j, _, err := journal.Open(dir)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := server.NewHub(j, server.Options{Name: "perf", QueueSize: 1 << 20, LoadPace: loadPace})
	ctx, cancel := context.WithCancel(context.Background())
	f := &Feed{Hub: h, URL: "ws://" + ln.Addr().String() + "/feed", dir: dir, j: j, cancel: cancel, done: make(chan struct{})}
	go func() { server.Serve(ctx, h, ln, "/feed", "", ""); close(f.done) }()
	if declare {
		f.Command(protocol.Command{Op: "declare", Title: "Load spike on the fleet", Severity: "SEV2", Kind: "outage"})
	}
	return f, nil
}

// Command applies a command as a responder "harness" would.
func (f *Feed) Command(c protocol.Command) {
	f.mu.Lock()
	f.n++
	c.ID, c.Actor = fmt.Sprintf("perf-%d", f.n), "harness"
	f.mu.Unlock()
	f.Hub.Apply(c, true, nil)
}

// Close stops the server and removes its journal.
func (f *Feed) Close() {
	f.cancel()
	<-f.done
	f.j.Close()
	os.RemoveAll(f.dir)
}

// hostLoad is a realistic load1 for host i at tick: load1 is a one-minute
// average, so it drifts; it does not jump. Hosts sit at different levels
// (a few warn, a few crit) and wander slowly around them.
func hostLoad(i, tick int) (load1, mem float64) {
	base := []float64{0.3, 0.8, 1.4, 2.0, 3.2, 5.5}[i%6]
	drift := 0.08 * base * math.Sin(float64(tick)/600+float64(i))
	return math.Round((base+drift)*100) / 100, math.Round(40 + 30*math.Sin(float64(i)) + 0.5*math.Sin(float64(tick)/900))
}

func (f *Feed) publish(i, tick int, interval time.Duration, now protocol.Time) {
	l1, mem := hostLoad(i, tick)
	f.Hub.PublishLoad(protocol.Load{Host: fmt.Sprintf("host-%04d", f.Base+i), At: now, Interval: protocol.Duration(interval),
		Load1: l1, Load5: l1 * 0.9, Load15: l1 * 0.8, CPUs: 4, MemUsedPct: &mem})
}

// Report publishes one sample for each of hosts, as of now.
func (f *Feed) Report(hosts int, interval time.Duration, tick int) {
	now := protocol.At(time.Now())
	for i := 0; i < hosts; i++ {
		f.publish(i, tick, interval, now)
	}
}

// Run publishes rate samples a second spread over hosts until ctx ends,
// in 100 ticks a second. Each host reports about every hosts/rate seconds.
func (f *Feed) Run(ctx context.Context, hosts int, rate float64) {
	const ticks = 100
	interval := time.Duration(float64(hosts) / rate * float64(time.Second))
	t := time.NewTicker(time.Second / ticks)
	defer t.Stop()
	per := rate / ticks
	acc, next, tick := 0.0, 0, 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tick++
		acc += per
		now := protocol.At(time.Now())
		for ; acc >= 1; acc-- {
			f.publish(next%hosts, tick, interval, now)
			next++
		}
	}
}
