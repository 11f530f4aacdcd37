package cluster

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/ingest"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
	"github.com/vigil-oncall/vigil/internal/testprog"
)

// scrapes records which hub scraped when, across the hubs.
type scrapes struct {
	mu  sync.Mutex
	at  []time.Time
	hub []int
}

// scrapeReporter is a hub's scrape target's reporter that records it.
type scrapeReporter struct {
	*server.Hub
	i   int
	log *scrapes
}

func (r scrapeReporter) ReportLoad(l protocol.Load) {
	r.log.mu.Lock()
	r.log.at, r.log.hub = append(r.log.at, time.Now()), append(r.log.hub, r.i)
	r.log.mu.Unlock()
	r.Hub.ReportLoad(l)
}

// byOthers is how many scrapes hubs other than hub made after t.
func (s *scrapes) byOthers(hub int, t time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, at := range s.at {
		if s.hub[k] != hub && at.After(t) {
			n++
		}
	}
	return n
}

func (s *scrapes) last() (time.Time, int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.at) == 0 {
		return time.Time{}, -1, 0
	}
	return s.at[len(s.at)-1], s.hub[len(s.hub)-1], len(s.at)
}

// A real node_exporter scraped under a lease: one hub scrapes it; killed,
// another takes over within the lease, so the host goes unscraped for no
// more than two intervals plus the lease, and nothing about it is
// journaled twice.
func TestScrapeOwnerLossMovesTheScrape(t *testing.T) {
	clusterTest(t)
	nodeExporter := testprog.Need(t, "prometheus-node-exporter", "prometheus-node-exporter")
	neAddr := freeAddrs(t, 1)[0]
	startProgram(t, "http://"+neAddr+"/metrics", nodeExporter,
		"--web.listen-address="+neAddr, "--collector.disable-defaults", "--collector.loadavg", "--collector.cpu", "--collector.meminfo")
	c := newTestCluster(t, 3, Options{})
	// At worst the key was renewed as the owner died, and a scrape was
	// one interval old: the lease runs out, and the next try to take it
	// comes up to a fifth of the lease later. The limit leaves the rest
	// of a second interval (every less lease/5) for the cluster to answer
	// and the new owner to scrape, on a machine busy with other tests.
	const every, lease = time.Second, 2 * time.Second
	log := &scrapes{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	target := ingest.Target{Host: "db-1", URL: "http://" + neAddr + "/metrics", Every: every}
	for i, h := range c.hubs {
		rep := scrapeReporter{Hub: h.hub, i: i, log: log}
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.j.Hold(ctx, "scrape.db-1", lease, func(ctx context.Context) { target.Run(ctx, http.DefaultClient, rep) })
		}()
	}
	waitFor(t, "a hub to scrape db-1 five times", 30*time.Second, func() bool { _, _, n := log.last(); return n >= 5 })
	_, owner, _ := log.last()
	// The hub is gone once kill returns: it stops its node, then closes
	// its journal, which ends the work its leases hold. It may scrape
	// while it goes, never after.
	c.kill(owner)
	killed := time.Now()
	// Its first scrape closes the gap measured; the next two show it
	// scraping on.
	waitFor(t, "another hub to scrape db-1 three times", 30*time.Second, func() bool { return log.byOthers(owner, killed) >= 3 })
	log.mu.Lock()
	var gap time.Duration
	owners := map[int]bool{}
	for k := 1; k < len(log.at); k++ {
		gap = max(gap, log.at[k].Sub(log.at[k-1]))
		owners[log.hub[k]] = true
	}
	for k := 1; k < len(log.at); k++ {
		if log.at[k].After(killed) && log.hub[k] == owner {
			t.Errorf("the killed hub %d scraped after its kill", owner)
		}
	}
	log.mu.Unlock()
	t.Logf("owner hub-%d killed: longest time db-1 went unscraped %v (lease %v, every %v); scraped by %v", owner, gap, lease, every, owners)
	if limit := 2*every + lease; gap > limit {
		t.Errorf("db-1 unscraped for %v, more than two intervals plus the lease (%v)", gap, limit)
	}
	other := (owner + 1) % 3
	texts := map[string]int{}
	for _, line := range journalOf(t, c.hubs[other].j) {
		m, _ := protocol.Decode([]byte(line[strings.IndexByte(line, ' ')+1:]))
		if e, ok := m.(*protocol.Entry); ok && e.Host == "db-1" {
			texts[e.Text]++
			if texts[e.Text] > 1 {
				t.Errorf("journaled twice: %q", e.Text)
			}
		}
	}
}
