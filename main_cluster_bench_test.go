package main

import (
	"bufio"
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
	"github.com/vigil-oncall/vigil/feeds/protocol"
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

	tm := client.DefaultTimings()
	tm.BackoffMin, tm.BackoffMax = 10*time.Millisecond, 200*time.Millisecond
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	responder, err := client.New([]client.FeedConfig{{Name: "hub", URL: "ws://" + feeds[0] + "/feed"}}, "", tm)
	if err != nil {
		b.Fatal(err)
	}
	wg.Add(2)
	go func() { defer wg.Done(); responder.Run(ctx) }()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-responder.Store().Notify():
				responder.Store().Drain()
			}
		}
	}()
	responder.Send("hub", protocol.Command{Actor: "bench", Op: protocol.OpDeclare, Title: "bench", Severity: "SEV3", Kind: "outage"})

	// A watcher on each hub: the hosts it was sent a load of since the
	// window opened, and each note's arrival.
	var mu sync.Mutex
	arrivals := map[string][]time.Duration{}
	seen := make([]map[string]bool, len(feeds))
	counting := false
	for i, f := range feeds {
		seen[i] = map[string]bool{}
		c, err := client.New([]client.FeedConfig{{Name: "hub", URL: "ws://" + f + "/feed"}}, "", tm)
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(2)
		go func() { defer wg.Done(); c.Run(ctx) }()
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-c.Store().Notify():
				}
				now := time.Now()
				batch := c.Store().Drain()
				mu.Lock()
				if counting {
					for _, l := range batch.Loads {
						seen[i][l.Load.Host] = true
					}
				}
				for _, e := range batch.Events {
					je, ok := e.(client.JournalEvent)
					if !ok {
						continue
					}
					en, ok := je.Msg.(*protocol.Entry)
					if !ok || !strings.HasPrefix(en.Text, "bench-note ") {
						continue
					}
					if sent, err := strconv.ParseInt(strings.TrimPrefix(en.Text, "bench-note "), 10, 64); err == nil {
						arrivals[en.Text] = append(arrivals[en.Text], now.Sub(time.Unix(0, sent)))
					}
				}
				mu.Unlock()
			}
		}()
	}

	agentsCmd := exec.Command(os.Args[0], "-test.run", "^TestFleetAgentsHelper$")
	var urls []string
	for _, f := range feeds {
		urls = append(urls, "ws://"+f+"/feed")
	}
	agentsCmd.Env = append(os.Environ(), fleetHelperEnv+"="+fmt.Sprintf("%s %s %d %d", strings.Join(urls, ","), token, hosts, per))
	agentsOut, _ := agentsCmd.StdoutPipe()
	agentsIn, _ := agentsCmd.StdinPipe()
	agentsCmd.Stderr = os.Stderr
	if err := agentsCmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { agentsIn.Close(); agentsCmd.Wait() }()
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(agentsOut).ReadString('\n')
		if err == nil && !strings.HasPrefix(line, "connected") {
			err = fmt.Errorf("agents helper said %q", line)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			b.Fatal(err)
		}
	case <-time.After(120 * time.Second):
		b.Fatalf("the agents of %d hosts did not all connect", hosts)
	}
	time.Sleep(5 * time.Second) // settle: every host reported, shared to every hub

	cpu0 := make([]time.Duration, len(hubs))
	for i, h := range hubs {
		cpu0[i], _, _ = procStat(h.Process.Pid)
	}
	mu.Lock()
	counting = true
	mu.Unlock()
	start := time.Now()
	window := benchWindow()
	notes := 0
	for tick := time.NewTicker(100 * time.Millisecond); time.Since(start) < window; <-tick.C {
		responder.Send("hub", protocol.Command{Actor: "bench", Op: protocol.OpNote, Incident: "INC-1", Text: fmt.Sprintf("bench-note %d", time.Now().UnixNano())})
		notes++
	}
	elapsed := time.Since(start)
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
	var delays []time.Duration
	for _, ds := range arrivals {
		if len(ds) == len(feeds) {
			delays = append(delays, slices.Max(ds))
		}
	}
	if len(delays) < notes*9/10 {
		perHub := make([]int, len(feeds))
		for _, ds := range arrivals {
			perHub[len(ds)-1]++
		}
		for i := range hubs {
			log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("hub-%d.log", i)))
			if len(log) > 3000 {
				log = log[len(log)-3000:]
			}
			b.Logf("hub-%d log (end):\n%s", i, log)
		}
		b.Fatalf("only %d of %d notes reached all 3 hubs' watchers (notes by how many watchers they reached: %v); hosts seen: %d, %d, %d; CPU %.1f%%",
			len(delays), notes, perHub, len(seen[0]), len(seen[1]), len(seen[2]), cpuPct)
	}
	slices.Sort(delays)
	b.Logf("hubs' CPU %.1f%% RSS %.0f MiB; hosts seen by each hub's watcher: %d, %d, %d", cpuPct, rssMiB, len(seen[0]), len(seen[1]), len(seen[2]))
	b.ReportMetric(slices.Max(cpuPct), "max-hub-cpu-%")
	b.ReportMetric(slices.Max(rssMiB), "max-hub-rss-MiB")
	b.ReportMetric(float64(least), "hosts-seen-min")
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "note-p99-ms")
	b.ReportMetric(float64(delays[len(delays)/2].Microseconds())/1000, "note-p50-ms")
}
