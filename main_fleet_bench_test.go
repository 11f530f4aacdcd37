package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/agent"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/internal/bench"
)

// BenchmarkFleet: N agents (in this process) each report their host's load
// once a second to one hub, the real binary as its own process, watched by
// 3 real dashboards (the binary, in 80x24 pseudo-terminals) and 3 feed
// clients that time a journal note (10 a second) from command to arrival.
// It reports the hub's CPU (% of one core, from /proc/PID/stat over the
// window) and RSS, the busiest dashboard's CPU, and the note delay p50
// and p99. Beside them, what the disk did in the same window: the hub's
// fsyncs and commands over 51 ms (from its /metrics), and the fsyncs
// over 51 ms and the slowest of a probe that appends and fsyncs like the
// journal, 10 times a second, in a file of its own. A note waits for its
// fsync, and the notes that arrive meanwhile wait behind it: two stalls
// of 300 ms on the disk hold up the 6 notes that are a minute's p99.
//
//	go test -run '^$' -bench Fleet -benchtime 1x .
//
// VIGIL_BENCH_DATA puts the hub's data directory (and the probe's file)
// under another directory: /dev/shm takes the disk out of the figures,
// leaving the hub's own;
// VIGIL_BENCH_WINDOW sets the measuring window (default 1m);
// VIGIL_BENCH_SETTLE how long the fleet runs before it (default 3s);
// VIGIL_BENCH_AGENTS the agent counts (default 100,1000,5000; 0 is the
// baseline of the same machine without a fleet); VIGIL_BENCH_HUB_PROFILE
// a file for the hub's CPU profile of each round.
//
// Each round first waits for the disk to finish the last round's removal
// (bench.SettleDisk). The hub is new: it makes every host's load history
// file in its first minute, spread over the minute, and the kernel writes
// them out from about 30 s later. VIGIL_BENCH_SETTLE=95s measures a hub
// past that.
func BenchmarkFleet(b *testing.B) {
	bin := buildVigil(b)
	counts := []int{100, 1000, 5000}
	if v := os.Getenv("VIGIL_BENCH_AGENTS"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			if n, err := strconv.Atoi(f); err == nil && n >= 0 {
				counts = append(counts, n)
			}
		}
	}
	for _, n := range counts {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			for b.Loop() {
				fleetRound(b, bin, n)
			}
		})
	}
}

const fleetHelperEnv = "VIGIL_BENCH_FLEET_HELPER"

// TestFleetAgentsHelper is the fleet benchmarks' agents process: "URLS
// TOKEN N [PER]" in its environment (URLS comma-separated), it runs agents
// for N hosts, PER hosts to an agent's connection (default 1), agent j
// reporting to URLS[j mod len] first; each host reports once a second. It
// says "connected" once all are, and stops when its stdin closes.
func TestFleetAgentsHelper(t *testing.T) {
	spec := os.Getenv(fleetHelperEnv)
	if spec == "" {
		t.Skip("run by BenchmarkFleet")
	}
	var urlList, token string
	var hosts int
	per := 1
	if n, err := fmt.Sscan(spec, &urlList, &token, &hosts, &per); n < 3 {
		t.Fatal(err)
	}
	urls := strings.Split(urlList, ",")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	name := func(i int) string { return fmt.Sprintf("bench-%05d", i) }
	ats := make([]*agent.Agent, (hosts+per-1)/per)
	tm := agent.DefaultTimings()
	tm.BackoffMin, tm.BackoffMax = 50*time.Millisecond, time.Second
	for j := range ats {
		var hs []string
		for i := j * per; i < min((j+1)*per, hosts); i++ {
			hs = append(hs, name(i))
		}
		first := j % len(urls)
		a, err := agent.New(agent.Config{Hosts: hs, URLs: append(slices.Clone(urls[first:]), urls[:first]...), Token: token, Timings: tm})
		if err != nil {
			t.Fatal(err)
		}
		ats[j] = a
		wg.Add(1)
		go func() { defer wg.Done(); a.Run(ctx) }()
	}
	// Every host reports once a second, spread over the second.
	wg.Add(1)
	go func() {
		defer wg.Done()
		const slots = 100
		tick := time.NewTicker(time.Second / slots)
		defer tick.Stop()
		for slot := 0; ; slot = (slot + 1) % slots {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now := time.Now()
			for i := slot; i < hosts; i += slots {
				l1 := 0.2 + 0.1*float64((i+now.Second())%5)
				ats[i/per].PublishLoad(protocol.Load{Host: name(i), At: protocol.At(now), Interval: protocol.Duration(time.Second), Load1: l1, Load5: l1, Load15: l1, CPUs: 4})
			}
		}
	}()
	for connected := 0; connected < len(ats) && ctx.Err() == nil; {
		time.Sleep(100 * time.Millisecond)
		connected = 0
		for _, a := range ats {
			if c, _ := a.Status(); c {
				connected++
			}
		}
	}
	fmt.Println("connected")
	<-ctx.Done()
}

// benchWindow is how long notes are timed: a minute is 600 notes, of
// which p99 is the sixth slowest; the 100 notes of 10 s made p99 their
// second slowest, which one fsync stall decides.
func benchWindow() time.Duration { return benchDuration("VIGIL_BENCH_WINDOW", time.Minute) }

// benchDuration is the duration the environment variable env gives, or
// def.
func benchDuration(env string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(env)); err == nil && d > 0 {
		return d
	}
	return def
}

// procStat returns a process's CPU time and resident memory from /proc.
func procStat(pid int) (cpu time.Duration, rss int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// Fields after the command (which may hold spaces) start after ")".
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	pages, _ := strconv.ParseInt(f[21], 10, 64)
	const clockTicks = 100 // USER_HZ
	return time.Duration(utime+stime) * time.Second / clockTicks, pages * int64(os.Getpagesize()), nil
}

func fleetRound(b *testing.B, bin string, agents int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := b.TempDir()
	settleDisk(b, dir)
	addr := freeAddrB(b)
	url := "ws://" + addr + "/feed"
	data := filepath.Join(dir, "data")
	if under := os.Getenv("VIGIL_BENCH_DATA"); under != "" {
		var err error
		if data, err = os.MkdirTemp(under, "vigil-bench-"); err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(data)
	}
	conf := filepath.Join(dir, "hub.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf("[serve]\ndata_dir = %q\nprobe_load = false\n\n[[serve.agents]]\ntoken_env = \"BENCH_AGENT_TOKEN\"\nhosts = [\"bench-*\"]\n", data)), 0o600)
	const token = "bench-token"
	hub := exec.Command(bin, "serve", "--config", conf, "--listen", addr)
	hub.Env = append(os.Environ(), "BENCH_AGENT_TOKEN="+token)
	if p := os.Getenv("VIGIL_BENCH_HUB_PROFILE"); p != "" {
		hub.Env = append(hub.Env, "VIGIL_CPUPROFILE="+p)
	}
	hubLog, _ := os.Create(filepath.Join(dir, "hub.log"))
	hub.Stdout, hub.Stderr = hubLog, hubLog
	if err := hub.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { hub.Process.Signal(os.Interrupt); hub.Wait(); hubLog.Close() }()

	// A responder with an incident open, whose notes are the journal
	// messages timed, and 3 feed clients that time each note's arrival.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	notes := startNoteClock(ctx, b, &wg, url)
	for range 3 {
		notes.watch(b, url, nil)
	}

	// N agents, one host each, in a process of their own so they do not
	// compete with the clients that time the notes.
	stopAgents := startFleetAgents(b, fmt.Sprintf("%s %s %d", url, token, agents), 90*time.Second, func() string {
		log, _ := os.ReadFile(filepath.Join(dir, "hub.log"))
		return "; hub log:\n" + string(log)
	})
	defer stopAgents()

	// 3 real dashboards.
	var dashes []*bench.Term
	for i := 0; i < 3; i++ {
		home := b.TempDir()
		t, err := bench.Start(ctx, 80, 24, home, nil, bin, "--feed", url, "--actor", fmt.Sprintf("dash%d", i+1))
		if err != nil {
			b.Fatal(err)
		}
		defer t.Stop()
		dashes = append(dashes, t)
	}
	for _, t := range dashes {
		want := "bench-"
		if agents == 0 {
			want = "INC-1"
		}
		if _, err := t.WaitFor(30*time.Second, want); err != nil {
			b.Fatalf("a dashboard never showed the fleet: %v", err)
		}
	}
	time.Sleep(benchDuration("VIGIL_BENCH_SETTLE", 3*time.Second))

	// The window: notes every 100 ms while the fleet reports.
	hubCPU0, _, _ := procStat(hub.Process.Pid)
	var dashCPU0 []time.Duration
	for _, t := range dashes {
		c, _ := t.CPU()
		dashCPU0 = append(dashCPU0, c)
	}
	self0 := selfCPU()
	fsyncs0, slow0 := slowOnes(b, addr, "vigil_journal_fsync_seconds")
	_, slowCmds0 := slowOnes(b, addr, "vigil_command_seconds")
	stopProbe, err := bench.FsyncProbe(ctx, filepath.Dir(data), 100*time.Millisecond)
	if err != nil {
		b.Fatal(err)
	}
	elapsed := notes.run(benchWindow())
	diskFsyncs := stopProbe()
	fsyncs1, slow1 := slowOnes(b, addr, "vigil_journal_fsync_seconds")
	_, slowCmds1 := slowOnes(b, addr, "vigil_command_seconds")
	self1 := selfCPU()
	hubCPU1, hubRSS, err := procStat(hub.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	var dashPct []float64
	for i, t := range dashes {
		c, _ := t.CPU()
		dashPct = append(dashPct, 100*float64(c-dashCPU0[i])/float64(elapsed))
	}
	time.Sleep(time.Second) // the last notes arrive

	delays, _ := notes.toAll(3)
	if len(delays) < notes.sent*9/10 {
		b.Fatalf("only %d of %d notes reached all 3 watchers", len(delays), notes.sent)
	}
	p99 := percentile(delays, 99)
	b.ReportMetric(100*float64(hubCPU1-hubCPU0)/float64(elapsed), "hub-cpu-%")
	b.ReportMetric(float64(hubRSS)/(1<<20), "hub-rss-MiB")
	b.ReportMetric(slices.Max(dashPct), "dashboard-cpu-%")
	// This process holds 4 feed clients (3 watchers and the responder),
	// each draining on every change: the feed side of a dashboard, without
	// its screen, costs at most a quarter of this.
	b.ReportMetric(100*float64(self1-self0)/float64(elapsed)/4, "feed-client-cpu-%")
	b.ReportMetric(float64(p99.Microseconds())/1000, "note-p99-ms")
	b.ReportMetric(float64(percentile(delays, 50).Microseconds())/1000, "note-p50-ms")
	// Where the slow notes were slow: a note waits for its fsync, so a p99
	// over 50 ms with slow fsyncs in the window is the disk's; with slow
	// commands and fast fsyncs the hub's; with neither, the clients'.
	b.ReportMetric(float64(slow1-slow0), "fsyncs>51ms")
	b.ReportMetric(float64(fsyncs1-fsyncs0), "fsyncs")
	b.ReportMetric(float64(slowCmds1-slowCmds0), "commands>51ms")
	if len(diskFsyncs) > 0 {
		slow := 0
		for _, d := range diskFsyncs {
			if d > 51200*time.Microsecond {
				slow++
			}
		}
		b.ReportMetric(float64(slow), "probe-fsyncs>51ms")
		b.ReportMetric(float64(slices.Max(diskFsyncs).Microseconds())/1000, "probe-fsync-max-ms")
	}
}

// slowOnes reads a histogram of the hub's /metrics: how many it counted
// and how many of them took longer than 51.2 ms (a bucket's bound).
func slowOnes(b *testing.B, addr, histogram string) (all, slow uint64) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var fast uint64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), " ")
		n, _ := strconv.ParseUint(value, 10, 64)
		switch {
		case name == histogram+"_count":
			all = n
		case strings.HasPrefix(name, histogram+`_bucket{le="0.0512`):
			fast = n
		}
	}
	return all, all - fast
}

// settleDisk waits for the disk under dir to finish what came before the
// round: the last round's removed files (10,000 hosts' history) are
// trimmed for seconds on a filesystem mounted with online discard, and a
// journal fsync behind that would time the cleanup, not this round.
func settleDisk(b *testing.B, dir string) {
	took, err := bench.SettleDisk(dir, time.Minute)
	if err != nil {
		b.Logf("not waiting for the disk: %v", err)
		return
	}
	b.Logf("the disk settled in %v", took.Round(100*time.Millisecond))
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func freeAddrB(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
