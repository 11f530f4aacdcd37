package cluster

import (
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/internal/testprog"
)

// leasesOf is the leases a hub's /healthz says it owns.
func leasesOf(addr string) []string {
	st, _ := clusterHealth(addr)
	return st.Leases
}

// ownersOf is the owners a hub's /healthz names (journal, leases).
func ownersOf(addr string) map[string]string {
	st, _ := clusterHealth(addr)
	return st.Owners
}

// leaseElection is what a takeover may cost beyond the lease when the
// killed hub also led the leases' bucket: nats-server elects a new leader
// within its raft election timeout (4-9 s) before any lease can move.
const leaseElection = 10 * time.Second

// takeoverLimit is how long work may go undone after its owner's kill:
// base, plus an election when the owner also led the leases' bucket (or
// when no hub could say who leads it: a bucket whose leader is being
// asked across an election may not answer within /healthz's second).
func takeoverLimit(t *testing.T, base time.Duration, killedRoute string, feeds []string) time.Duration {
	t.Helper()
	leader := ""
	for _, f := range feeds {
		if leader = ownersOf(f)["leases"]; leader != "" {
			break
		}
	}
	switch leader {
	case killedRoute:
		t.Logf("the killed hub also led the leases' bucket: the limit allows nats-server's election (%v)", leaseElection)
		return base + leaseElection
	case "":
		t.Logf("no hub named the leases' bucket's leader: the limit allows an election (%v)", leaseElection)
		return base + leaseElection
	}
	return base
}

// Three real `vigil serve` processes scrape one real node_exporter: one
// owns it; SIGKILLed, another takes it over, and a dashboard on a third
// sees the host's load with no gap longer than two intervals plus the
// lease; nothing about the host is journaled twice.
func TestScrapeOwnerProcessKilled(t *testing.T) {
	clusterTest(t)
	nodeExporter := testprog.Need(t, "prometheus-node-exporter", "prometheus-node-exporter")
	neAddr := freeAddrs(t, 1)[0]
	startProgram(t, "http://"+neAddr+"/metrics", nodeExporter,
		"--web.listen-address="+neAddr, "--collector.disable-defaults", "--collector.loadavg", "--collector.cpu", "--collector.meminfo")
	const every, lease = time.Second, 2 * time.Second
	c := startHubCluster(t, "scrape", func(int, string) string {
		return fmt.Sprintf("[[serve.scrape]]\nhost = \"db-1\"\nurl = \"http://%s/metrics\"\nevery = \"1s\"\n", neAddr)
	}, `lease = "2s"`+"\n")
	procs, routes, feeds := c.procs, c.routes, c.feeds
	name := "scrape." + hex.EncodeToString([]byte("db-1"))
	owner := c.owner(t, name)
	watcher := (owner + 1) % 3
	dash := rawConn(t, "ws://"+feeds[watcher]+"/feed", protocol.Subscribe{})
	var ats []time.Time
	// since is how many of the loads seen were scraped after at.
	since := func(at time.Time) int {
		return len(ats) - sort.Search(len(ats), func(i int) bool { return ats[i].After(at) })
	}
	readUntil := func(enough func() bool) {
		for {
			// Longer than any gap the limit allows: a gap the dashboard
			// waits out is measured, not taken for a dead connection.
			dash.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, data, err := dash.ReadMessage()
			if err != nil {
				t.Fatalf("the dashboard on hub %d: %v", watcher, err)
			}
			if m, err := protocol.Decode(data); err == nil {
				if l, ok := m.(*protocol.Load); ok && l.Host == "db-1" {
					if n := len(ats); n == 0 || l.At.After(ats[n-1]) {
						ats = append(ats, l.At.Time)
					}
					if enough() {
						return
					}
				}
			}
		}
	}
	start := time.Now()
	readUntil(func() bool { return since(start.Add(3*every)) > 0 })
	limit := takeoverLimit(t, 2*every+lease, routes[owner], feeds)
	killed := time.Now()
	procs[owner].cmd.Process.Signal(syscall.SIGKILL)
	// The first load scraped after the takeover closes the gap measured;
	// two more (one scrape in flight as the owner died may be among the
	// three) show another hub scraping on.
	readUntil(func() bool { return since(killed) >= 3 })
	var gap time.Duration
	for k := 1; k < len(ats); k++ {
		gap = max(gap, ats[k].Sub(ats[k-1]))
	}
	var now []string
	for i, f := range feeds {
		if i != owner && slices.Contains(leasesOf(f), name) {
			now = append(now, fmt.Sprintf("hub-%d", i))
		}
	}
	t.Logf("SIGKILL of hub-%d, which scraped db-1: the dashboard on hub-%d saw db-1 unscraped for at most %v (every %v, lease %v); the scrape is now on %v", owner, watcher, gap, every, lease, now)
	if gap > limit {
		t.Errorf("db-1 unscraped for %v, more than two intervals plus the lease (and an election of the leases' bucket, if the killed hub led it): %v", gap, limit)
	}
	if len(now) != 1 {
		t.Errorf("db-1's scrape is owned by %v, want one hub", now)
	}
	texts := map[string]int{}
	lines, _ := resume(t, "ws://"+feeds[watcher]+"/feed", 1, "")
	for _, line := range lines {
		m, _ := protocol.Decode([]byte(line[strings.IndexByte(line, ' ')+1:]))
		if e, ok := m.(*protocol.Entry); ok && e.Host == "db-1" {
			if texts[e.Text]++; texts[e.Text] > 1 {
				t.Errorf("journaled twice: %q", e.Text)
			}
		}
	}
}
