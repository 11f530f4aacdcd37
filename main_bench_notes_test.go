package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// noteClock times journal messages through a hub, as the fleet
// benchmarks do: a responder declares an incident and sends notes that
// carry their sending time ("bench-note <unix ns>"); each watcher records
// when it was sent each one.
type noteClock struct {
	ctx       context.Context
	wg        *sync.WaitGroup
	timings   client.Timings
	responder *client.Client
	sent      int

	mu       sync.Mutex
	arrivals map[string][]time.Duration // note -> delay per watcher
}

const notePrefix = "bench-note "

// startNoteClock starts the responder on url; its goroutines end with ctx
// and are counted in wg.
func startNoteClock(ctx context.Context, b *testing.B, wg *sync.WaitGroup, url string) *noteClock {
	tm := client.DefaultTimings()
	tm.BackoffMin, tm.BackoffMax = 10*time.Millisecond, 200*time.Millisecond
	nc := &noteClock{ctx: ctx, wg: wg, timings: tm, arrivals: map[string][]time.Duration{}}
	nc.responder = nc.client(b, url, nil)
	if _, err := nc.responder.Send("hub", protocol.Command{Actor: "bench", Op: protocol.OpDeclare, Title: "bench", Severity: "SEV3", Kind: "outage"}); err != nil {
		b.Fatal(err)
	}
	return nc
}

// watch adds a watcher on url; loads, if set, is given each batch's loads.
func (nc *noteClock) watch(b *testing.B, url string, loads func([]client.HostLoad)) {
	nc.client(b, url, func(now time.Time, batch client.Batch) {
		if loads != nil {
			loads(batch.Loads)
		}
		for _, e := range batch.Events {
			je, ok := e.(client.JournalEvent)
			if !ok {
				continue
			}
			en, ok := je.Msg.(*protocol.Entry)
			if !ok || !strings.HasPrefix(en.Text, notePrefix) {
				continue
			}
			if sent, err := strconv.ParseInt(strings.TrimPrefix(en.Text, notePrefix), 10, 64); err == nil {
				nc.mu.Lock()
				nc.arrivals[en.Text] = append(nc.arrivals[en.Text], now.Sub(time.Unix(0, sent)))
				nc.mu.Unlock()
			}
		}
	})
}

// client runs a feed client on url that drains its store on every
// change, as a dashboard does, handing each batch to drained if set.
func (nc *noteClock) client(b *testing.B, url string, drained func(time.Time, client.Batch)) *client.Client {
	c, err := client.New([]client.FeedConfig{{Name: "hub", URL: url}}, "", nc.timings)
	if err != nil {
		b.Fatal(err)
	}
	nc.wg.Add(2)
	go func() { defer nc.wg.Done(); c.Run(nc.ctx) }()
	go func() {
		defer nc.wg.Done()
		for {
			select {
			case <-nc.ctx.Done():
				return
			case <-c.Store().Notify():
			}
			now := time.Now()
			batch := c.Store().Drain()
			if drained != nil {
				drained(now, batch)
			}
		}
	}()
	return c
}

// run sends a note every 100 ms for window and returns how long it took.
func (nc *noteClock) run(window time.Duration) time.Duration {
	start := time.Now()
	for tick := time.NewTicker(100 * time.Millisecond); time.Since(start) < window; <-tick.C {
		nc.responder.Send("hub", protocol.Command{Actor: "bench", Op: protocol.OpNote, Incident: "INC-1", Text: fmt.Sprintf("%s%d", notePrefix, time.Now().UnixNano())})
		nc.sent++
	}
	return time.Since(start)
}

// toAll is, for each note that reached all watchers, its delay to the
// last of them, sorted; byReach counts the notes by how many watchers
// they reached (index 0: one).
func (nc *noteClock) toAll(watchers int) (delays []time.Duration, byReach []int) {
	nc.mu.Lock()
	defer nc.mu.Unlock()
	byReach = make([]int, watchers)
	for _, ds := range nc.arrivals {
		byReach[min(len(ds), watchers)-1]++
		if len(ds) >= watchers {
			delays = append(delays, slices.Max(ds))
		}
	}
	slices.Sort(delays)
	return delays, byReach
}

// startFleetAgents runs the agents process (TestFleetAgentsHelper) with
// spec and waits until all its agents are connected; stop ends it.
// onTimeout says what to add to the failure when they do not connect.
func startFleetAgents(b *testing.B, spec string, wait time.Duration, onTimeout func() string) (stop func()) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestFleetAgentsHelper$")
	cmd.Env = append(os.Environ(), fleetHelperEnv+"="+spec)
	// The agents stand in for thousands of machines, but here they share
	// the hub's two cores: their collector, running every few seconds over
	// 10,000 connections, took the CPU the hub and the watchers needed and
	// set the notes' p99 (49-67 ms with the disk taken out, 20-35 ms with
	// this). VIGIL_BENCH_AGENTS_GOGC sets another value.
	gogc := cmp.Or(os.Getenv("VIGIL_BENCH_AGENTS_GOGC"), "400")
	cmd.Env = append(cmd.Env, "GOGC="+gogc)
	out, _ := cmd.StdoutPipe()
	in, _ := cmd.StdinPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop = func() { in.Close(); cmd.Wait() }
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err == nil && !strings.HasPrefix(line, "connected") {
			err = fmt.Errorf("agents helper said %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			stop()
			b.Fatal(err)
		}
	case <-time.After(wait):
		stop()
		b.Fatalf("the agents (%s) did not all connect within %s%s", spec, wait, onTimeout())
	}
	return stop
}

// percentile is the nearest-rank q-th percentile (0 < q <= 100) of sorted
// delays: the smallest that at least q% of them do not exceed. Of 100
// notes, p99 is the second slowest; taking index 99 made it the slowest.
func percentile(sorted []time.Duration, q int) time.Duration {
	rank := (len(sorted)*q + 99) / 100 // ceil(n*q/100)
	return sorted[max(rank, 1)-1]
}

func TestPercentileIsNearestRank(t *testing.T) {
	ms := func(n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i+1) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		n, q int
		want time.Duration
	}{
		{100, 99, 99 * time.Millisecond},
		{100, 50, 50 * time.Millisecond},
		{600, 99, 594 * time.Millisecond},
		{1, 99, time.Millisecond},
		{10, 99, 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(ms(tt.n), tt.q); got != tt.want {
			t.Errorf("p%d of 1..%d ms = %s, want %s", tt.q, tt.n, got, tt.want)
		}
	}
}
