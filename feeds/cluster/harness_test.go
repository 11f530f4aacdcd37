package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// testCluster runs n hubs in this process, each a real embedded
// nats-server clustered over loopback routes, a JetStream journal and a
// feed server on its own loopback port.
type testCluster struct {
	t testing.TB
	// name is the cluster's, its own: a route to another test's
	// cluster is refused.
	name   string
	routes []string // each hub's route address
	feeds  []string // each hub's feed address
	dirs   []string
	hubs   []*testHub
	opts   Options
	// onHub, if set, is called with each hub before it serves.
	onHub func(i int, h *server.Hub)
}

type testHub struct {
	node *Node
	nc   *nats.Conn
	j    *Journal
	hub  *server.Hub
	url  string
	stop func()
}

// freeAddrs picks n free loopback ports for servers to bind (each is
// checked free, then closed again; a collision with another process
// fails the test loudly). They come from below the kernel's ephemeral
// range, and none twice in this process: a port handed out is one no
// socket bound to port 0 or dialling out takes meanwhile, whichever test
// runs beside this one, and a killed hub binds its ports again.
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	ports.Lock()
	defer ports.Unlock()
	if ports.next == 0 {
		ports.lo, ports.hi = testPortRange()
		ports.next = ports.lo + rand.IntN((ports.hi-ports.lo)/2)
	}
	var out []string
	for tries := 0; len(out) < n; tries++ {
		if tries == ports.hi-ports.lo {
			t.Fatalf("no free loopback port in %d-%d", ports.lo, ports.hi)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", ports.next)
		if ports.next++; ports.next == ports.hi {
			ports.next = ports.lo
		}
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			out = append(out, addr)
		}
	}
	return out
}

// ports is where freeAddrs goes on from.
var ports struct {
	sync.Mutex
	lo, hi, next int
}

// testPortRange is the ports below the kernel's ephemeral range (Linux's
// ip_local_port_range; 32768 up where it cannot be read).
func testPortRange() (lo, hi int) {
	hi = 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 2048 {
				hi = v
			}
		}
	}
	return hi / 2, hi
}

func newTestCluster(t testing.TB, n int, opts Options, onHub ...func(i int, h *server.Hub)) *testCluster {
	t.Helper()
	if opts.Replicas == 0 {
		opts.Replicas = n
	}
	if opts.CommitTimeout == 0 {
		opts.CommitTimeout = 3 * time.Second
	}
	c := &testCluster{t: t, name: fmt.Sprintf("vigil-test-%d", clusters.Add(1)), routes: freeAddrs(t, n), feeds: freeAddrs(t, n), hubs: make([]*testHub, n), opts: opts}
	if len(onHub) > 0 {
		c.onHub = onHub[0]
	}
	for range n {
		c.dirs = append(c.dirs, t.TempDir())
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.start(i) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("hub %d: %v", i, err)
		}
	}
	t.Cleanup(func() {
		for i := range c.hubs {
			c.kill(i)
		}
	})
	return c
}

// clusters counts the test clusters started, to name them.
var clusters atomic.Int64

func (c *testCluster) peers(i int) []string {
	var out []string
	for k, r := range c.routes {
		if k != i {
			out = append(out, r)
		}
	}
	return out
}

// start starts hub i (again, after kill: same directory, same ports).
func (c *testCluster) start(i int) error {
	name := fmt.Sprintf("hub-%d", i)
	node, err := StartNode(NodeConfig{Server: name, Cluster: c.name, Listen: c.routes[i], Peers: c.peers(i), DataDir: c.dirs[i]})
	if err != nil {
		return err
	}
	nc, err := node.Connect(name)
	if err != nil {
		node.Shutdown()
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts := c.opts
	opts.Quorum, opts.Reaches, opts.Routed = node.Quorum, node.Reaches, node.Routed
	j, err := Open(ctx, nc, c.dirs[i], opts)
	if err != nil {
		nc.Close()
		node.Shutdown()
		return err
	}
	h := server.NewHub(j, server.Options{Name: name})
	if c.onHub != nil {
		c.onHub(i, h)
	}
	ln, err := net.Listen("tcp", c.feeds[i])
	if err != nil {
		j.Close()
		nc.Close()
		node.Shutdown()
		return err
	}
	sctx, scancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { server.Serve(sctx, h, ln, "/feed", "", ""); close(done) }()
	th := &testHub{node: node, nc: nc, j: j, hub: h, url: "ws://" + c.feeds[i] + "/feed"}
	th.stop = func() {
		// The node first: its peers see it gone at once, as after a
		// crash; then its journal and its feed.
		node.Shutdown()
		j.Close()
		nc.Close()
		scancel()
		<-done
	}
	c.hubs[i] = th
	return nil
}

// kill stops hub i: its feed server, its journal and its nats-server.
func (c *testCluster) kill(i int) {
	if h := c.hubs[i]; h != nil {
		h.stop()
		c.hubs[i] = nil
	}
}

// streamLeader is the index of the hub whose node leads the stream.
func (c *testCluster) streamLeader() int {
	c.t.Helper()
	for _, h := range c.hubs {
		if h == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		info, err := h.j.stream.Info(ctx)
		cancel()
		if err != nil || info.Cluster == nil {
			continue
		}
		for i := range c.hubs {
			if info.Cluster.Leader == fmt.Sprintf("hub-%d", i) {
				return i
			}
		}
	}
	c.t.Fatal("no stream leader")
	return -1
}

func (c *testCluster) urls() []string {
	var out []string
	for _, f := range c.feeds {
		out = append(out, "ws://"+f+"/feed")
	}
	return out
}

// journalOf reads hub i's whole journal as "seq frame" lines.
func journalOf(t testing.TB, b journal.Backend) []string {
	t.Helper()
	var out []string
	if err := b.Range(1, b.Seq(), func(m journal.Message) bool {
		out = append(out, fmt.Sprintf("%d %s", m.Seq, m.Frame))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// wsClient is a responder's connection that sends one command at a time
// and moves to the next URL when its hub goes away, resending the command
// it has no answer for (same id), as a dashboard's outbox does.
type wsClient struct {
	urls []string
	at   int
	conn *websocket.Conn
	// hub is the index of the hub the client is connected to.
	hub int
}

func (w *wsClient) dial() error {
	var last error
	for range 4 * len(w.urls) {
		url := w.urls[w.at%len(w.urls)]
		conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}, HandshakeTimeout: 2 * time.Second}).Dial(url, nil)
		if err == nil {
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, _, err = conn.ReadMessage(); err == nil { // hello
				err = conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{}))
			}
			if err == nil {
				w.conn, w.hub = conn, w.at%len(w.urls)
				return nil
			}
			conn.Close()
		}
		last = err
		w.at++
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no hub answers: %v", last)
}

// send sends cmd until it gets an answer, across reconnects; it returns
// the answer and the hub that gave it.
func (w *wsClient) send(cmd protocol.Command) (protocol.Message, int, error) {
	for range 20 {
		if w.conn == nil {
			if err := w.dial(); err != nil {
				return nil, 0, err
			}
		}
		if err := w.conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&cmd)); err == nil {
			for {
				w.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
				_, data, err := w.conn.ReadMessage()
				if err != nil {
					break
				}
				m, err := protocol.Decode(data)
				if err != nil {
					continue
				}
				switch v := m.(type) {
				case *protocol.Ack:
					if v.ID == cmd.ID {
						return v, w.hub, nil
					}
				case *protocol.Nack:
					if v.ID == cmd.ID {
						return v, w.hub, nil
					}
				}
			}
		}
		w.conn.Close()
		w.conn = nil
		w.at++
	}
	return nil, 0, fmt.Errorf("command %s: no answer after 20 connections", cmd.ID)
}

func (w *wsClient) close() {
	if w.conn != nil {
		w.conn.Close()
	}
}

func rawConn(t *testing.T, url string, sub protocol.Subscribe) *websocket.Conn {
	t.Helper()
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	conn.ReadMessage() // hello
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&sub))
	return conn
}

// resume subscribes with since and returns the journal frames replayed
// (as "seq frame", like journalOf) and the synced after them.
func resume(t *testing.T, url string, since uint64, journalID string) ([]string, *protocol.Synced) {
	t.Helper()
	conn := rawConn(t, url, protocol.Subscribe{Since: since, Journal: journalID})
	var out []string
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		m, err := protocol.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		switch v := m.(type) {
		case *protocol.Synced:
			return out, v
		case *protocol.Entry:
			out = append(out, fmt.Sprintf("%d %s", v.Seq, data))
		case *protocol.IncidentMsg:
			out = append(out, fmt.Sprintf("%d %s", v.Seq, data))
		}
	}
}

// historyPage asks one history request after synced and returns its
// messages as "seq frame".
func historyPage(t *testing.T, url string, req protocol.History) []string {
	t.Helper()
	conn := rawConn(t, url, protocol.Subscribe{})
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&req))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		m, err := protocol.Decode(data)
		if err != nil {
			continue
		}
		if h, ok := m.(*protocol.History); ok && h.ID == req.ID {
			var out []string
			for _, f := range h.Messages {
				fm, err := protocol.Decode(f)
				if err != nil {
					t.Fatal(err)
				}
				var seq uint64
				switch v := fm.(type) {
				case *protocol.Entry:
					seq = v.Seq
				case *protocol.IncidentMsg:
					seq = v.Seq
				}
				out = append(out, fmt.Sprintf("%d %s", seq, f))
			}
			return out
		}
	}
}

// failoverRun is what sendThroughKill saw.
type failoverRun struct {
	acked    map[string]uint64 // command id → the seq it was acked with
	victim   int               // the client's index of the hub killed
	failover time.Duration     // from the kill to the first ack on another hub
	stall    time.Duration     // the longest time between two acks
	nacks    int               // nack unavailable while the cluster recovered
}

// newest is the newest seq acked: every hub must reach it.
func (r failoverRun) newest() uint64 {
	var seq uint64
	for _, s := range r.acked {
		seq = max(seq, s)
	}
	return seq
}

// sendThroughKill sends n notes on INC-1 through cl one at a time, calls
// kill (which returns the client's index of the hub it killed) before
// note killAt, and sends a note nacked unavailable again with the same
// id, 200 ms apart, up to tries times.
func sendThroughKill(t *testing.T, cl *wsClient, n, killAt, tries int, kill func() int) failoverRun {
	t.Helper()
	r := failoverRun{acked: map[string]uint64{}, victim: -1}
	var killed time.Time
	lastAck := time.Now()
	for i := 1; i <= n; i++ {
		if i == killAt {
			r.victim = kill()
			killed = time.Now()
		}
		cmd := noteCmd(fmt.Sprintf("c-%d", i), "INC-1", fmt.Sprintf("note %d", i))
		for try := 0; ; try++ {
			ans, hub, err := cl.send(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if a, ok := ans.(*protocol.Ack); ok {
				r.acked[cmd.ID] = a.Seq
				r.stall = max(r.stall, time.Since(lastAck))
				lastAck = time.Now()
				if !killed.IsZero() && r.failover == 0 && hub != r.victim {
					r.failover = time.Since(killed)
				}
				break
			}
			if nk := ans.(*protocol.Nack); nk.Code != protocol.CodeUnavailable || try > tries {
				t.Fatalf("%s: %+v", cmd.ID, nk)
			}
			r.nacks++
			time.Sleep(200 * time.Millisecond)
		}
	}
	return r
}
