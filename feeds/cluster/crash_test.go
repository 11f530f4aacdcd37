package cluster

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// hubProcess is one `vigil serve` of a cluster, run from the real binary.
// vigilBin is the real binary, built once for the package's tests.
var vigilBin struct {
	once      sync.Once
	path, out string
	err       error
}

func TestMain(m *testing.M) {
	flag.Parse()
	// The cluster tests spend their time waiting (for elections, leases,
	// processes starting), not computing: run them side by side, not
	// only as many at once as there are cores, unless -parallel says.
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", strconv.Itoa(max(runtime.GOMAXPROCS(0), clustersAtOnce)))
	}
	code := m.Run()
	if vigilBin.path != "" {
		os.RemoveAll(filepath.Dir(vigilBin.path))
	}
	os.Exit(code)
}

func vigilBinary(t *testing.T) string {
	t.Helper()
	vigilBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "vigil-cluster-bin-")
		if err != nil {
			vigilBin.err = err
			return
		}
		vigilBin.path = filepath.Join(dir, "vigil")
		var out []byte
		out, vigilBin.err = exec.Command("go", "build", "-o", vigilBin.path, "github.com/vigil-oncall/vigil").CombinedOutput()
		vigilBin.out = string(out)
	})
	if vigilBin.err != nil {
		t.Fatalf("go build: %v\n%s", vigilBin.err, vigilBin.out)
	}
	return vigilBin.path
}

// hubCluster is three real `vigil serve` processes of one cluster.
type hubCluster struct {
	procs         []*hubProcess
	routes, feeds []string
}

// startHubCluster starts three `vigil serve` processes of one cluster on
// loopback and waits until each serves: each gets its own name, listen
// address, data_dir and route, serve (TOML after [serve], given the hub's
// index and feed address) and cluster (TOML after [serve.cluster]). They
// are killed at cleanup, their logs printed if the test failed.
func startHubCluster(t *testing.T, name string, serve func(i int, feed string) string, cluster string) *hubCluster {
	t.Helper()
	dir := t.TempDir()
	bin := vigilBinary(t)
	c := &hubCluster{procs: make([]*hubProcess, 3), routes: freeAddrs(t, 3), feeds: freeAddrs(t, 3)}
	for i := range c.procs {
		var peers []string
		for k, r := range c.routes {
			if k != i {
				peers = append(peers, fmt.Sprintf("%q", r))
			}
		}
		cfg := fmt.Sprintf("[serve]\nname = \"hub-%d\"\nlisten = %q\ndata_dir = %q\nprobe_load = false\n%s\n[serve.cluster]\nname = %q\nlisten = %q\npeers = [%s]\n%s",
			i, c.feeds[i], filepath.Join(dir, fmt.Sprintf("data-%d", i)), serve(i, c.feeds[i]), name, c.routes[i], strings.Join(peers, ", "), cluster)
		c.procs[i] = &hubProcess{config: filepath.Join(dir, fmt.Sprintf("hub-%d.toml", i)), log: filepath.Join(dir, fmt.Sprintf("hub-%d.log", i))}
		if err := os.WriteFile(c.procs[i].config, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		startProcess(t, bin, c.procs[i])
	}
	t.Cleanup(func() {
		for _, p := range c.procs {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
		if t.Failed() {
			for _, p := range c.procs {
				b, _ := os.ReadFile(p.log)
				t.Logf("%s:\n%s", p.log, b)
			}
		}
	})
	for i := range c.procs {
		waitFor(t, fmt.Sprintf("hub %d to serve", i), 90*time.Second, func() bool { return healthy(c.feeds[i]) })
	}
	return c
}

// owner waits for a hub to hold lease and returns its index.
func (c *hubCluster) owner(t *testing.T, lease string) int {
	t.Helper()
	owner := -1
	waitFor(t, "a hub to hold the lease "+lease, 30*time.Second, func() bool {
		for i, f := range c.feeds {
			if slices.Contains(leasesOf(f), lease) {
				owner = i
				return true
			}
		}
		return false
	})
	return owner
}

type hubProcess struct {
	cmd    *exec.Cmd
	config string
	log    string
}

func startProcess(t *testing.T, bin string, p *hubProcess) {
	t.Helper()
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "serve", "--config", p.config)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
}

func healthy(addr string) bool {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// clusterHealth is what a hub's /healthz says of its cluster.
func clusterHealth(addr string) (Status, error) {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return Status{}, err
	}
	defer resp.Body.Close()
	var health struct {
		Cluster Status `json:"cluster"`
	}
	err = json.NewDecoder(resp.Body).Decode(&health)
	return health.Cluster, err
}

// streamLeaderOf is the stream leader a hub's /healthz names.
func streamLeaderOf(addr string) string {
	st, _ := clusterHealth(addr)
	return st.StreamLeader
}

// A hub's process is killed (SIGKILL: no goodbye to its peers, its
// stream leadership lost with it) while a responder sends commands: the
// responder moves on, nothing acknowledged is lost or applied twice, and
// the hub, started again, catches up.
func TestKilledHubProcessLosesNothingAcknowledged(t *testing.T) {
	clusterTest(t)
	c := startHubCluster(t, "crash", func(int, string) string { return "" }, `commit_timeout = "3s"`+"\n")
	procs, routes, feeds, bin := c.procs, c.routes, c.feeds, vigilBinary(t)
	var urls []string
	for _, f := range feeds {
		urls = append(urls, "ws://"+f+"/feed")
	}
	// The responder starts on the hub whose node leads the stream, as
	// /healthz says: its SIGKILL is the worst case, a new leader must be
	// elected before anything is appended.
	var leader int
	waitFor(t, "a stream leader in /healthz", 30*time.Second, func() bool {
		leader = slices.Index(routes, streamLeaderOf(feeds[0]))
		return leader >= 0
	})
	cl := &wsClient{urls: urls, at: leader}
	defer cl.close()
	if ans, _, err := cl.send(declare("c-declare")); err != nil {
		t.Fatal(err)
	} else if _, ok := ans.(*protocol.Ack); !ok {
		t.Fatalf("declare: %+v", ans)
	}
	const n, killAt = 200, 60
	run := sendThroughKill(t, cl, n, killAt, 40, func() int {
		procs[cl.hub].cmd.Process.Signal(syscall.SIGKILL)
		return cl.hub
	})
	acked, victim := run.acked, run.victim
	t.Logf("SIGKILL of hub %d's process (it led the stream: %v): first ack on another hub after %v; longest time between two acks %v; %d nack unavailable meanwhile; %d of %d acked", victim, victim == leader, run.failover, run.stall, run.nacks, len(acked), n)
	if os.Getenv("VIGIL_CRASH_LOGS") != "" {
		for i, p := range procs {
			data, _ := os.ReadFile(p.log)
			t.Logf("hub %d log:\n%s", i, data)
		}
	}
	procs[victim].cmd.Wait()
	startProcess(t, bin, procs[victim])
	waitFor(t, "the killed hub to serve again", 90*time.Second, func() bool { return healthy(feeds[victim]) })
	other := (victim + 1) % 3
	newest := run.newest()
	var ref []string
	waitFor(t, fmt.Sprintf("hub %d to reach seq %d", other, newest), 30*time.Second, func() bool {
		var synced *protocol.Synced
		ref, synced = resume(t, urls[other], 1, "")
		return synced.Seq >= newest
	})
	for i := range procs {
		var got []string
		waitFor(t, fmt.Sprintf("hub %d to catch up", i), 30*time.Second, func() bool {
			got, _ = resume(t, urls[i], 1, "")
			return len(got) >= len(ref)
		})
		// The journal goes on after ref was read (the killed hub's return
		// is journaled once the survivors route to it again): every hub
		// must hold ref as it is, and may hold more after it.
		if !slices.Equal(got[:len(ref)], ref) {
			t.Fatalf("hub %d's journal differs from hub %d's in its first %d messages", i, other, len(ref))
		}
	}
	count := map[string]int{}
	for _, line := range ref {
		m, err := protocol.Decode([]byte(line[strings.IndexByte(line, ' ')+1:]))
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := m.(*protocol.Entry); ok && e.Kind == protocol.EntryNote {
			count[e.Text]++
		}
	}
	for i := 1; i <= n; i++ {
		text := fmt.Sprintf("note %d", i)
		if _, ok := acked[fmt.Sprintf("c-%d", i)]; ok && count[text] != 1 || count[text] > 1 {
			t.Errorf("%q journaled %d times", text, count[text])
		}
	}
}
