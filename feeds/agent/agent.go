// Package agent reports a host to a hub: it keeps the latest load and
// service state its probes publish, registers with the hub over vigil.v1,
// sends that state (all of it after every connect, then each change), and
// captures evidence when its host goes crit, a check goes down, or the hub
// asks. It reconnects forever with jittered backoff, moving to the next
// URL of a cluster after each failure. Agents do not journal: the hub does.
package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/link"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// EvidenceSource captures what runs on this host. Auto is rate-limited: it
// returns false when it captured for key in the last 5 minutes. Captures
// may take a while; the agent runs them in their own goroutines.
type EvidenceSource interface {
	Capture(ctx context.Context, reason string) protocol.EvidenceData
	Auto(ctx context.Context, key, reason string) (protocol.EvidenceData, bool)
}

// Timings are the connection's clocks (feeds/link's, shared with the feed
// client); tests shrink them.
type Timings = link.Timings

// DefaultTimings match the hub's: it pings every 15 s, so 45 s of silence
// is a dead connection.
func DefaultTimings() Timings { return link.DefaultTimings() }

// Config says what an agent reports and where.
type Config struct {
	Name       string   // the agent's name in register; default the first host
	Hosts      []string // the hosts it reports for
	URLs       []string // the hub, or a cluster's hubs
	Token      string   // the agent token (Authorization: Bearer)
	CAFile     string   // an extra CA for wss://
	Thresholds level.Thresholds
	Source     EvidenceSource // nil: no evidence
	Timings    Timings
	Log        *slog.Logger
}

// maxQueuedEvidence bounds evidence waiting for a connection; the oldest
// goes first, as the newest explains the present.
const maxQueuedEvidence = 8

// Agent is one host's reporter. PublishLoad and PublishService (probe.Sink)
// never block; Run carries what they publish to the hub.
type Agent struct {
	cfg    Config
	dialer *websocket.Dialer
	log    *slog.Logger
	wake   chan struct{}

	mu        sync.Mutex
	state     map[string][]byte // key -> latest encoded frame
	dirty     map[string]bool   // keys not yet sent on this connection
	evidence  [][]byte
	levels    map[string]level.Level
	states    map[string]string // host+service -> state
	life      context.Context   // captures run in it; cancelled when Run ends
	stopLife  context.CancelFunc
	stopped   bool
	captures  sync.WaitGroup
	collectOn map[string]bool // hosts with a collect capture running
	connected bool
	lastErr   string
}

// New builds an agent; it does nothing until Run.
func New(cfg Config) (*Agent, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("agent: no hub URL")
	}
	if len(cfg.Hosts) == 0 {
		return nil, errors.New("agent: no host to report for")
	}
	for _, h := range cfg.Hosts {
		if err := protocol.CheckID("host", h); err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Hosts[0]
	}
	if cfg.Timings == (Timings{}) {
		cfg.Timings = DefaultTimings()
	}
	cfg.Thresholds = cfg.Thresholds.OrDefaults()
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	d := &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: cfg.Timings.HandshakeTimeout,
		Subprotocols:     []string{protocol.Subprotocol},
		ReadBufferSize:   4 << 10,
		WriteBufferSize:  4 << 10,
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("agent: ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("agent: ca_file %s holds no PEM certificate", cfg.CAFile)
		}
		d.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	life, stop := context.WithCancel(context.Background())
	return &Agent{
		life: life, stopLife: stop,
		cfg: cfg, dialer: d, log: cfg.Log, wake: make(chan struct{}, 1),
		state: map[string][]byte{}, dirty: map[string]bool{},
		levels: map[string]level.Level{}, states: map[string]string{}, collectOn: map[string]bool{},
	}, nil
}

func (a *Agent) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// PublishLoad keeps l as its host's latest load, to send; a host crossing
// into crit has its evidence captured.
func (a *Agent) PublishLoad(l protocol.Load) {
	frame := protocol.MustEncode(&l)
	a.mu.Lock()
	prev, known := a.levels[l.Host]
	lvl := a.cfg.Thresholds.From(prev, l.Load1, l.CPUs)
	a.levels[l.Host] = lvl
	a.putLocked("load\x00"+l.Host, frame)
	if lvl == level.Crit && (!known || prev != level.Crit) {
		reason := fmt.Sprintf("load crit: %.2f on %d CPUs", l.Load1, l.CPUs)
		a.captureLocked(l.Host, func(ctx context.Context, src EvidenceSource) (protocol.EvidenceData, bool) {
			return src.Auto(ctx, "crit", reason)
		})
	}
	a.mu.Unlock()
	a.poke()
}

// PublishService keeps s as its service's latest state, to send; a check
// going down has its host's evidence captured.
func (a *Agent) PublishService(s protocol.Service) {
	frame := protocol.MustEncode(&s)
	key := "svc\x00" + s.Host + "\x00" + s.Service
	a.mu.Lock()
	prev := a.states[key]
	a.states[key] = s.State
	a.putLocked(key, frame)
	if s.State == protocol.StateDown && prev != protocol.StateDown {
		reason := fmt.Sprintf("%s down: %s", s.Service, s.Detail)
		a.captureLocked(s.Host, func(ctx context.Context, src EvidenceSource) (protocol.EvidenceData, bool) {
			return src.Auto(ctx, "down:"+s.Service, reason)
		})
	}
	a.mu.Unlock()
	a.poke()
}

func (a *Agent) putLocked(key string, frame []byte) {
	a.state[key] = frame
	a.dirty[key] = true
}

// captureLocked runs capture in its own goroutine, never in the probe's,
// and queues what it returns as an evidence frame for host.
func (a *Agent) captureLocked(host string, capture func(context.Context, EvidenceSource) (protocol.EvidenceData, bool)) {
	src, ctx := a.cfg.Source, a.life
	if src == nil || a.stopped {
		return
	}
	a.captures.Add(1)
	go func() {
		defer a.captures.Done()
		data, ok := capture(ctx, src)
		if !ok || ctx.Err() != nil {
			return
		}
		a.queueEvidence(protocol.Evidence{Host: host, At: protocol.At(time.Now()), EvidenceData: data})
	}()
}

func (a *Agent) queueEvidence(ev protocol.Evidence) {
	frame := protocol.MustEncode(&ev)
	a.mu.Lock()
	if len(a.evidence) == maxQueuedEvidence {
		a.log.Warn("evidence queue full while the hub is unreachable; dropping the oldest", "host", ev.Host)
		a.evidence = a.evidence[1:]
	}
	a.evidence = append(a.evidence, frame)
	a.mu.Unlock()
	a.poke()
}

// collect answers the hub's collect for host: one capture at a time per
// host; a request while one runs is answered by that one.
func (a *Agent) collect(cmd *protocol.Command) {
	host := cmd.Host
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.collectOn[host] || !a.reportsLocked(host) {
		return
	}
	a.collectOn[host] = true
	reason := "collected by " + cmd.Actor
	a.captureLocked(host, func(ctx context.Context, src EvidenceSource) (protocol.EvidenceData, bool) {
		defer func() { a.mu.Lock(); delete(a.collectOn, host); a.mu.Unlock() }()
		return src.Capture(ctx, reason), true
	})
	if a.cfg.Source == nil || a.stopped {
		delete(a.collectOn, host)
	}
}

func (a *Agent) reportsLocked(host string) bool {
	for _, h := range a.cfg.Hosts {
		if h == host {
			return true
		}
	}
	return false
}

// Status says whether the agent is connected, and the last failure.
func (a *Agent) Status() (connected bool, lastErr string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.connected, a.lastErr
}

// refusal is an error the hub will give again if asked again soon (a
// wrong token, a host the token does not cover): retried at the ceiling.
type refusal struct{ msg string }

func (r refusal) Error() string { return r.msg }

// Run keeps the agent connected to a hub until ctx ends, then stops its
// captures and waits for them; an agent runs once.
func (a *Agent) Run(ctx context.Context) {
	defer func() {
		a.mu.Lock()
		a.stopped = true
		a.mu.Unlock()
		a.stopLife()
		a.captures.Wait()
	}()
	t := a.cfg.Timings
	next, attempt := 0, 0
	for {
		url := a.cfg.URLs[next]
		start := time.Now()
		err := a.connect(ctx, url)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) >= t.StableAfter {
			attempt = 0
		}
		var delay time.Duration
		if refused(err) {
			delay = t.BackoffMax
		} else {
			delay = link.Backoff(attempt, t.BackoffMin, t.BackoffMax)
			attempt++
		}
		a.mu.Lock()
		a.connected, a.lastErr = false, link.Describe(err, "hub")
		a.mu.Unlock()
		a.log.Warn("hub connection ended; retrying", "url", url, "reason", link.Describe(err, "hub"), "in", delay.Round(time.Millisecond))
		next = (next + 1) % len(a.cfg.URLs)
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// refused reports whether the hub refused this agent (a wrong token, a
// host its token does not cover): asking again soon would be refused again.
func refused(err error) bool {
	var ref refusal
	var ce *websocket.CloseError
	return errors.As(err, &ref) || (errors.As(err, &ce) && ce.Code == websocket.ClosePolicyViolation)
}

func (a *Agent) connect(ctx context.Context, url string) error {
	t := a.cfg.Timings
	header := http.Header{}
	if a.cfg.Token != "" {
		header.Set("Authorization", "Bearer "+a.cfg.Token)
	}
	conn, resp, err := a.dialer.DialContext(ctx, url, header)
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) {
			return refusal{fmt.Sprintf("HTTP %d %s: the hub does not accept this agent token", resp.StatusCode, http.StatusText(resp.StatusCode))}
		}
		if resp != nil {
			return fmt.Errorf("handshake: HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		}
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	if conn.Subprotocol() != protocol.Subprotocol {
		return refusal{"the hub did not select subprotocol " + protocol.Subprotocol}
	}
	conn.SetReadLimit(protocol.MaxFrameSize)
	deadline := func() { conn.SetReadDeadline(time.Now().Add(t.DeadAfter)) }
	deadline()
	conn.SetPingHandler(func(data string) error {
		deadline()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(t.WriteWait))
		var ne net.Error
		if errors.Is(err, websocket.ErrCloseSent) || (errors.As(err, &ne) && ne.Timeout()) {
			return nil
		}
		return err
	})
	if err := readHello(conn); err != nil {
		return err
	}
	reg := protocol.MustEncode(&protocol.Register{Agent: a.cfg.Name, Hosts: a.cfg.Hosts})
	conn.SetWriteDeadline(time.Now().Add(t.WriteWait))
	if err := conn.WriteMessage(websocket.TextMessage, reg); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	a.mu.Lock()
	for key := range a.state { // the full state after every connect
		a.dirty[key] = true
	}
	a.connected, a.lastErr = true, ""
	a.mu.Unlock()
	a.log.Info("reporting to hub", "url", url, "hosts", len(a.cfg.Hosts))

	readerDone := make(chan struct{})
	var readErr error
	go func() {
		defer close(readerDone)
		readErr = a.read(conn, deadline)
	}()
	err = a.write(ctx, conn, readerDone)
	if err == nil {
		err = readErr
	}
	return err
}

func readHello(conn *websocket.Conn) error {
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			return fmt.Errorf("waiting for hello: %w", err)
		}
		if mt != websocket.TextMessage {
			continue
		}
		m, err := protocol.Decode(data)
		if err != nil {
			continue
		}
		hello, ok := m.(*protocol.Hello)
		if !ok {
			return fmt.Errorf("protocol error: first frame was %s, not hello", protocol.TypeOf(m))
		}
		if hello.Protocol > protocol.Version {
			return refusal{fmt.Sprintf("hub speaks protocol %d; this vigil speaks %d: upgrade vigil", hello.Protocol, protocol.Version)}
		}
		return nil
	}
}

// read is the connection's one reader: it answers collect commands.
func (a *Agent) read(conn *websocket.Conn, deadline func()) error {
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			return err
		}
		deadline()
		if mt != websocket.TextMessage {
			continue
		}
		m, err := protocol.Decode(data)
		if err != nil {
			continue
		}
		if cmd, ok := m.(*protocol.Command); ok && cmd.Op == protocol.OpCollect {
			a.collect(cmd)
		}
	}
}

// pending takes what this connection has not sent yet: changed state, in
// key order, then queued evidence.
func (a *Agent) pending() (state, evidence [][]byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	keys := make([]string, 0, len(a.dirty))
	for k := range a.dirty {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		state = append(state, a.state[k])
	}
	clear(a.dirty)
	evidence, a.evidence = a.evidence, nil
	return state, evidence
}

// requeue puts evidence a failed connection did not send back in front.
func (a *Agent) requeue(evidence [][]byte) {
	a.mu.Lock()
	a.evidence = append(evidence, a.evidence...)
	if n := len(a.evidence); n > maxQueuedEvidence {
		a.evidence = a.evidence[n-maxQueuedEvidence:]
	}
	a.mu.Unlock()
}

// write is the connection's one writer. It ends when the reader ends or,
// when ctx ends, after a clean close.
func (a *Agent) write(ctx context.Context, conn *websocket.Conn, readerDone <-chan struct{}) error {
	t := a.cfg.Timings
	send := func(frame []byte) error {
		conn.SetWriteDeadline(time.Now().Add(t.WriteWait))
		return conn.WriteMessage(websocket.TextMessage, frame)
	}
	fail := func(err error) error {
		conn.Close() // the reader sees it and ends
		<-readerDone
		return err
	}
	for {
		state, evidence := a.pending()
		for _, frame := range state {
			if err := send(frame); err != nil {
				a.requeue(evidence)
				return fail(err)
			}
		}
		for i, frame := range evidence {
			if err := send(frame); err != nil {
				a.requeue(evidence[i:])
				return fail(err)
			}
		}
		select {
		case <-a.wake:
		case <-readerDone:
			return nil
		case <-ctx.Done():
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "agent stopping"), time.Now().Add(t.WriteWait))
			select {
			case <-readerDone:
			case <-time.After(t.CloseWait):
				conn.Close()
				<-readerDone
			}
			return nil
		}
	}
}
