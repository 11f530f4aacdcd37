package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// pipeline sends n notes on conn with at most window unanswered, and
// returns when all are answered; lat, if not nil, gets each round trip.
func pipeline(conn *websocket.Conn, prefix string, n, window int, pace time.Duration, lat chan<- time.Duration) error {
	slots := make(chan struct{}, window)
	sent := sync.Map{}
	errc := make(chan error, 1)
	go func() {
		var tick *time.Ticker
		if pace > 0 {
			tick = time.NewTicker(pace)
			defer tick.Stop()
		}
		for i := 0; i < n; i++ {
			slots <- struct{}{}
			if tick != nil {
				<-tick.C
			}
			id := prefix + strconv.Itoa(i)
			sent.Store(id, time.Now())
			if err := conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Command{ID: id, Actor: "a", Op: "note", Incident: "INC-1", Text: "n"})); err != nil {
				errc <- err
				return
			}
		}
	}()
	for answered := 0; answered < n; {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		if !strings.Contains(string(data[:min(len(data), 16)]), `"ack"`) && !strings.Contains(string(data[:min(len(data), 16)]), `"nack"`) {
			continue // the entries every client is sent
		}
		switch v := mustDecode(data).(type) {
		case *protocol.Ack:
			if t0, ok := sent.Load(v.ID); ok && strings.HasPrefix(v.ID, prefix) {
				if lat != nil {
					lat <- time.Since(t0.(time.Time))
				}
				answered++
				<-slots
			}
		case *protocol.Nack:
			return fmt.Errorf("nack %+v", v)
		}
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// BenchmarkGroupCommit8Clients: eight clients pipeline notes (64 each
// unanswered at most) over WebSocket; every one is acked after the fsync
// that covers it. Reports acknowledged commands per second.
func BenchmarkGroupCommit8Clients(b *testing.B) {
	const clients = 8
	srv := startServer(&testing.T{}, b.TempDir(), "", Options{})
	defer srv.stop()
	srv.hub.Apply(protocol.Command{ID: "d", Actor: "a", Op: "declare", Title: "x", Severity: "SEV3", Kind: "outage"}, true, nil)
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		conns[i] = rawSubscriber(b, srv.url)
		defer conns[i].Close()
	}
	per := (b.N + clients - 1) / clients
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pipeline(c, fmt.Sprintf("c%d-", i), per, 64, 0, nil); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(per*clients)/time.Since(start).Seconds(), "acked/s")
	// CPU of the whole process (hub and the eight clients, each of which
	// also reads every entry) per acked command: what the rate would be
	// on an idle machine, where load from others does not take the cores.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(per*clients), "cpu-µs/acked")
}

// BenchmarkAckLatencyAt1000PerSecond: eight clients at 125 notes a second
// each; reports the ack round trip's p50 and p99.
func BenchmarkAckLatencyAt1000PerSecond(b *testing.B) {
	const clients = 8
	srv := startServer(&testing.T{}, b.TempDir(), "", Options{})
	defer srv.stop()
	srv.hub.Apply(protocol.Command{ID: "d", Actor: "a", Op: "declare", Title: "x", Severity: "SEV3", Kind: "outage"}, true, nil)
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		conns[i] = rawSubscriber(b, srv.url)
		defer conns[i].Close()
	}
	per := (b.N + clients - 1) / clients
	lat := make(chan time.Duration, per*clients)
	b.ResetTimer()
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * time.Millisecond) // spread the clients over the 8 ms
			if err := pipeline(c, fmt.Sprintf("c%d-", i), per, 1000, 8*time.Millisecond, lat); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	close(lat)
	var all []time.Duration
	for d := range lat {
		all = append(all, d)
	}
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
}

// Journals for the start-up budgets, built once per process through the
// real write path (journal.Append): fleet entries at a fixed rate (a
// million is a year of a 200-host fleet), and 1,000 incidents spread over
// the journal's span, each declared, noted and resolved, but for every
// hundredth, still open. Both sizes have the same live state (the same
// incidents, a day of window at the same rate); only history differs.
var (
	builtMu  sync.Mutex
	built    = map[int]string{}
	buildDir string
)

const (
	benchIncidents = 1000
	fleetEvery     = 31536 * time.Millisecond // a million a year
)

func benchJournal(b *testing.B, entries int) string {
	builtMu.Lock()
	defer builtMu.Unlock()
	if dir, ok := built[entries]; ok {
		return dir
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "vigil-bench-journal-")
		if err != nil {
			b.Fatal(err)
		}
		buildDir = d
	}
	dir := filepath.Join(buildDir, strconv.Itoa(entries))
	if err := buildJournal(dir, entries, time.Now()); err != nil {
		b.Fatal(err)
	}
	built[entries] = dir
	return dir
}

func buildJournal(dir string, entries int, end time.Time) error {
	incMsgs := benchIncidents * 5 // declare: entry+frame, note, resolve: entry+frame
	fleet := entries - incMsgs
	span := time.Duration(fleet) * fleetEvery
	start := end.Add(-span)
	var clock time.Time
	j, _, err := journal.OpenWith(dir, journal.Options{Now: func() time.Time { return clock }})
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	var last uint64
	var mu sync.Mutex
	j.OnDurable(func(msgs []journal.Message, err error) {
		if err != nil {
			select {
			case done <- err:
			default:
			}
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if msgs[len(msgs)-1].Seq == last {
			done <- nil
		}
	})
	book := incident.Defaults()
	every := fleet / benchIncidents
	n, k := 0, 0
	for i := 0; i < fleet; i++ {
		clock = start.Add(time.Duration(i) * fleetEvery)
		at := protocol.At(clock)
		if _, err := j.Append("", &protocol.Entry{At: at, Actor: "web-" + strconv.Itoa(i%200), Kind: protocol.EntryAlert, Host: "web-" + strconv.Itoa(i%200),
			Text: fmt.Sprintf("exim on web-%d ok → down: connect 127.0.0.1:25: connection refused", i%200)}); err != nil {
			return err
		}
		if i%every != 0 || k >= benchIncidents {
			continue
		}
		k++
		id := "INC-" + strconv.Itoa(k)
		cmd := func(c protocol.Command) protocol.Command {
			n++
			c.ID, c.Actor = "c-"+strconv.Itoa(n), "alice"
			return c
		}
		inc, es, _ := book.Declare(id, cmd(protocol.Command{Op: "declare", Title: "Mail down on web-3", Severity: "SEV2", Kind: "outage"}), clock)
		if _, err := j.Append("c-"+strconv.Itoa(n), &es[0], &protocol.IncidentMsg{Incident: inc}); err != nil {
			return err
		}
		c := cmd(protocol.Command{Op: "note", Incident: id, Text: "exim queue full of bounces; copying logs before any restart"})
		_, _, es, _ = incident.Apply(inc, c, clock)
		if _, err := j.Append(c.ID, &es[0]); err != nil {
			return err
		}
		if k%100 == 0 {
			if _, err := j.Append("", &protocol.Entry{Incident: id, At: at, Actor: "web-3", Kind: protocol.EntryAlert, Text: "still down"}); err != nil {
				return err
			}
			continue
		}
		c = cmd(protocol.Command{Op: "status", Incident: id, Status: protocol.StatusResolved})
		inc, _, es, _ = incident.Apply(inc, c, clock)
		if _, err := j.Append(c.ID, &es[0], &protocol.IncidentMsg{Incident: inc}); err != nil {
			return err
		}
	}
	clock = end
	out, err := j.Append("", &protocol.Entry{At: protocol.At(end), Actor: "bench", Kind: protocol.EntrySystem, Text: "built"})
	if err != nil {
		return err
	}
	mu.Lock()
	last = out[0].Seq
	mu.Unlock()
	if j.Seq() < last {
		if err := <-done; err != nil {
			return err
		}
	}
	return j.Close()
}

// hubEnv makes this test binary, re-executed, a hub over the journal in
// the named directory: it prints "serving ADDR" and serves until its
// standard input closes. The benchmark measures it from outside: start
// to serving, a fresh subscriber to synced, and its resident memory.
const hubEnv = "VIGIL_BENCH_HUB_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(hubEnv); dir != "" {
		os.Exit(serveBenchHub(dir))
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func serveBenchHub(dir string) int {
	t0 := time.Now()
	j, _, err := journal.Open(dir)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	defer j.Close()
	h := NewHub(j, Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, h, ln, "/feed", "", ""); close(done) }()
	fmt.Println("serving", ln.Addr(), time.Since(t0).Microseconds())
	bufio.NewReader(os.Stdin).ReadString('\n')
	cancel()
	<-done
	return 0
}

func rssKiB(pid int, field string) float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			v, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return v
		}
	}
	return 0
}

// BenchmarkHubStart: a hub process over a journal of 10,000 and of
// 1,000,000 entries (1,000 incidents each): exec to serving (start-ms,
// with the process's own start) and journal open to serving inside it,
// a fresh subscriber (since 0) to synced, and the hub's resident memory
// after.
func BenchmarkHubStart(b *testing.B) {
	for _, entries := range []int{10_000, 1_000_000} {
		b.Run(strconv.Itoa(entries), func(b *testing.B) {
			dir := benchJournal(b, entries)
			var start, open, sub time.Duration
			var rss, hwm, frames float64
			for b.Loop() {
				t0 := time.Now()
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), hubEnv+"="+dir)
				stdin, _ := cmd.StdinPipe()
				stdout, _ := cmd.StdoutPipe()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				line, _ := bufio.NewReader(stdout).ReadString('\n')
				start += time.Since(t0)
				var addr string
				var openUS int64
				if _, err := fmt.Sscanf(line, "serving %s %d", &addr, &openUS); err != nil {
					b.Fatalf("hub said %q", line)
				}
				open += time.Duration(openUS) * time.Microsecond
				t1 := time.Now()
				conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial("ws://"+addr+"/feed", nil)
				if err != nil {
					b.Fatal(err)
				}
				conn.SetReadLimit(protocol.MaxFrameSize)
				conn.ReadMessage()
				conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","since":0,"journal":""}`))
				n := 0
				for {
					_, data, err := conn.ReadMessage()
					if err != nil {
						b.Fatal(err)
					}
					if strings.HasPrefix(string(data), `{"type":"synced"`) {
						break
					}
					n++
				}
				sub += time.Since(t1)
				frames = float64(n)
				conn.Close()
				rss += rssKiB(cmd.Process.Pid, "VmRSS")
				hwm = max(hwm, rssKiB(cmd.Process.Pid, "VmHWM"))
				stdin.Close()
				cmd.Wait()
			}
			runs := float64(b.N)
			b.ReportMetric(float64(start.Milliseconds())/runs, "start-ms")
			b.ReportMetric(float64(open.Milliseconds())/runs, "open-to-serving-ms")
			b.ReportMetric(float64(sub.Milliseconds())/runs, "subscribe-ms")
			b.ReportMetric(rss/runs/1024, "rss-MiB")
			b.ReportMetric(hwm/1024, "peak-rss-MiB")
			b.ReportMetric(frames, "frames")
			segs, _ := filepath.Glob(filepath.Join(dir, "journal-*.wal"))
			var size int64
			for _, seg := range segs {
				if st, err := os.Stat(seg); err == nil {
					size += st.Size()
				}
			}
			b.ReportMetric(float64(size)/(1<<20), "journal-MiB")
			b.ReportMetric(float64(len(segs)), "segments")
		})
	}
}
