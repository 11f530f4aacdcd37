package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/client"
)

// BenchmarkClusterFleet: three hubs of one cluster (the real binary, each
// its own process) and N hosts reporting once a second, spread over the
// three by agents in another process (VIGIL_BENCH_PER hosts to an agent's
// connection, default 100: batched, so 30,000 hosts fit one machine's
// descriptors). A feed client on each hub counts the hosts whose load it
// was sent in the window (every hub must show every host: the live fleet
// is shared between hubs) and times a journal note, sent to the first hub
// every 100 ms, to its arrival on all three. Reported: each hub's CPU and
// RSS (the highest of the three), the hosts the emptiest client saw, and
// the note's delay.
//
//	VIGIL_BENCH_HOSTS=30000 go test -run '^$' -bench ClusterFleet -benchtime 1x .
func BenchmarkClusterFleet(b *testing.B) {
	bin := buildVigil(b)
	counts := []int{3000}
	if v := os.Getenv("VIGIL_BENCH_HOSTS"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			if n, err := strconv.Atoi(f); err == nil && n > 0 {
				counts = append(counts, n)
			}
		}
	}
	per := 100
	if n, err := strconv.Atoi(os.Getenv("VIGIL_BENCH_PER")); err == nil && n > 0 {
		per = n
	}
	for _, n := range counts {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			for b.Loop() {
				clusterFleetRound(b, bin, n, per)
			}
		})
	}
}

func clusterFleetRound(b *testing.B, bin string, hosts, per int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := b.TempDir()
	settleDisk(b, dir)
	const token = "bench-token"
	feeds := []string{freeAddrB(b), freeAddrB(b), freeAddrB(b)}
	routes := []string{freeAddrB(b), freeAddrB(b), freeAddrB(b)}
	var hubs []*exec.Cmd
	for i := range feeds {
		var peers []string
		for k, r := range routes {
			if k != i {
				peers = append(peers, strconv.Quote(r))
			}
		}
		conf := filepath.Join(dir, fmt.Sprintf("hub-%d.toml", i))
		os.WriteFile(conf, []byte(fmt.Sprintf("[serve]\nname = \"hub-%d\"\nlisten = %q\ndata_dir = %q\nprobe_load = false\n\n[[serve.agents]]\ntoken_env = \"BENCH_AGENT_TOKEN\"\nhosts = [\"bench-*\"]\n\n[serve.cluster]\nname = \"bench\"\nlisten = %q\npeers = [%s]\n",
			i, feeds[i], filepath.Join(dir, fmt.Sprintf("data-%d", i)), routes[i], strings.Join(peers, ", "))), 0o600)
		hub := exec.Command(bin, "serve", "--config", conf)
		hub.Env = append(os.Environ(), "BENCH_AGENT_TOKEN="+token)
		logf, _ := os.Create(filepath.Join(dir, fmt.Sprintf("hub-%d.log", i)))
		hub.Stdout, hub.Stderr = logf, logf
		if err := hub.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() { hub.Process.Signal(os.Interrupt); hub.Wait(); logf.Close() }()
		hubs = append(hubs, hub)
	}
	for i, f := range feeds {
		deadline := time.Now().Add(90 * time.Second)
		for {
			resp, err := http.Get("http://" + f + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("hub-%d.log", i)))
				b.Fatalf("hub %d never served:\n%s", i, log)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	var urls []string
	for _, f := range feeds {
		urls = append(urls, "ws://"+f+"/feed")
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	notes := startNoteClock(ctx, b, &wg, urls[0])

	// A watcher on each hub: the hosts it was sent a load of since the
	// window opened, and each note's arrival.
	var mu sync.Mutex
	seen := make([]map[string]bool, len(feeds))
	counting := false
	for i, url := range urls {
		seen[i] = map[string]bool{}
		notes.watch(b, url, func(loads []client.HostLoad) {
			mu.Lock()
			defer mu.Unlock()
			if counting {
				for _, l := range loads {
					seen[i][l.Load.Host] = true
				}
			}
		})
	}

	stopAgents := startFleetAgents(b, fmt.Sprintf("%s %s %d %d", strings.Join(urls, ","), token, hosts, per), 120*time.Second, func() string { return "" })
	defer stopAgents()
	time.Sleep(5 * time.Second) // settle: every host reported, shared to every hub

	cpu0 := make([]time.Duration, len(hubs))
	for i, h := range hubs {
		cpu0[i], _, _ = procStat(h.Process.Pid)
	}
	mu.Lock()
	counting = true
	mu.Unlock()
	elapsed := notes.run(benchWindow())
	var cpuPct, rssMiB []float64
	for i, h := range hubs {
		c, rss, err := procStat(h.Process.Pid)
		if err != nil {
			b.Fatal(err)
		}
		cpuPct = append(cpuPct, 100*float64(c-cpu0[i])/float64(elapsed))
		rssMiB = append(rssMiB, float64(rss)/(1<<20))
	}
	time.Sleep(2 * time.Second) // the last notes arrive

	mu.Lock()
	defer mu.Unlock()
	least := hosts
	for _, s := range seen {
		least = min(least, len(s))
	}
	delays, byReach := notes.toAll(len(feeds))
	if len(delays) < notes.sent*9/10 {
		for i := range hubs {
			log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("hub-%d.log", i)))
			if len(log) > 3000 {
				log = log[len(log)-3000:]
			}
			b.Logf("hub-%d log (end):\n%s", i, log)
		}
		b.Fatalf("only %d of %d notes reached all 3 hubs' watchers (notes by how many watchers they reached: %v); hosts seen: %d, %d, %d; CPU %.1f%%",
			len(delays), notes.sent, byReach, len(seen[0]), len(seen[1]), len(seen[2]), cpuPct)
	}
	b.Logf("hubs' CPU %.1f%% RSS %.0f MiB; hosts seen by each hub's watcher: %d, %d, %d", cpuPct, rssMiB, len(seen[0]), len(seen[1]), len(seen[2]))
	b.ReportMetric(slices.Max(cpuPct), "max-hub-cpu-%")
	b.ReportMetric(slices.Max(rssMiB), "max-hub-rss-MiB")
	b.ReportMetric(float64(least), "hosts-seen-min")
	b.ReportMetric(float64(percentile(delays, 99).Microseconds())/1000, "note-p99-ms")
	b.ReportMetric(float64(percentile(delays, 50).Microseconds())/1000, "note-p50-ms")
}
