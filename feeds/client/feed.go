// Package client subscribes the dashboard to one or more vigil.v1 feeds:
// it dials, reconnects with jittered backoff, resumes journals without gap
// or duplicate, detects silent connections, coalesces load floods into a
// Store, and carries responders' commands through a durable outbox.
package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Timings are the connection's clocks. Tests shrink them to milliseconds.
type Timings struct {
	DeadAfter        time.Duration // no frame for this long: the connection is dead
	WriteWait        time.Duration // deadline of one write
	HandshakeTimeout time.Duration
	BackoffMin       time.Duration // first retry ceiling
	BackoffMax       time.Duration // retry ceiling, and the delay after a refusal
	StableAfter      time.Duration // a connection up this long resets the backoff
	CloseWait        time.Duration // how long to wait for the server's close reply
}

// DefaultTimings are the protocol's: dead after 45 s of silence.
func DefaultTimings() Timings {
	return Timings{
		DeadAfter:        45 * time.Second,
		WriteWait:        10 * time.Second,
		HandshakeTimeout: 10 * time.Second,
		BackoffMin:       500 * time.Millisecond,
		BackoffMax:       30 * time.Second,
		StableAfter:      30 * time.Second,
		CloseWait:        time.Second,
	}
}

// FeedConfig says where a feed is and how to reach it.
type FeedConfig struct {
	Name     string
	URL      string
	Token    string // bearer token; never logged or shown
	TokenEnv string // the variable the token came from, for messages
	CAFile   string // extra CA for wss://, besides the system roots
	Actor    string // who is watching, sent in subscribe for presence
	Via      string // how: protocol.ViaTTY or protocol.ViaSSH
	// Dial, if set, opens the connection instead of TCP: the hub's SSH
	// front end reaches its own hub in-process this way.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// refusal is an error the server will give again if asked again soon:
// retried only at the backoff ceiling.
type refusal struct{ msg string }

func (r refusal) Error() string { return r.msg }

// feed runs one feed's connection, forever, until its context ends.
type feed struct {
	cfg     FeedConfig
	timings Timings
	store   *Store
	outbox  *Outbox
	dialer  *websocket.Dialer
	journal string
	lastSeq uint64
}

func newDialer(cfg FeedConfig, t Timings) (*websocket.Dialer, error) {
	d := &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: t.HandshakeTimeout,
		Subprotocols:     []string{protocol.Subprotocol},
		ReadBufferSize:   16 << 10,
		WriteBufferSize:  4 << 10,
		NetDialContext:   cfg.Dial,
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("feed %s: ca_file: %w", cfg.Name, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("feed %s: ca_file %s holds no PEM certificate", cfg.Name, cfg.CAFile)
		}
		d.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return d, nil
}

func (f *feed) run(ctx context.Context, setQueue func(chan []byte)) {
	attempt := 0
	for {
		f.store.setState(f.cfg.Name, Connecting, "", time.Time{})
		start := time.Now()
		err := f.connect(ctx, setQueue)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) >= f.timings.StableAfter {
			attempt = 0
		}
		var delay time.Duration
		state := Disconnected
		var ref refusal
		if errors.As(err, &ref) {
			state, delay = Refused, f.timings.BackoffMax
		} else {
			delay = backoff(attempt, f.timings.BackoffMin, f.timings.BackoffMax)
			attempt++
		}
		f.store.setState(f.cfg.Name, state, describe(err), time.Now().Add(delay))
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// backoff is "full jitter": uniform in [0, min(max, min*2^attempt)].
func backoff(attempt int, lo, hi time.Duration) time.Duration {
	ceiling := hi
	if attempt < 30 {
		if c := lo << attempt; c > 0 && c < hi {
			ceiling = c
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

func describe(err error) string {
	if err == nil {
		return "connection closed"
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		reason := ce.Text
		if ce.Code == websocket.CloseMessageTooBig {
			reason = "frame larger than 1 MiB"
		}
		if ce.Code == websocket.CloseAbnormalClosure {
			return "connection lost: " + reason
		}
		if reason == "" {
			reason = "no reason given"
		}
		return fmt.Sprintf("closed by server (%d): %s", ce.Code, reason)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out: " + err.Error()
	}
	return err.Error()
}

func (f *feed) connect(ctx context.Context, setQueue func(chan []byte)) error {
	header := http.Header{}
	if f.cfg.Token != "" {
		header.Set("Authorization", "Bearer "+f.cfg.Token)
	}
	conn, resp, err := f.dialer.DialContext(ctx, f.cfg.URL, header)
	if err != nil {
		if resp != nil {
			switch resp.StatusCode {
			case http.StatusUnauthorized, http.StatusForbidden:
				hint := "the feed needs a valid token"
				if f.cfg.TokenEnv != "" {
					hint += " (read from $" + f.cfg.TokenEnv + ")"
				}
				if f.cfg.Token == "" {
					hint = "no token sent; " + hint
				}
				return refusal{fmt.Sprintf("HTTP %d %s: %s", resp.StatusCode, http.StatusText(resp.StatusCode), hint)}
			}
			return fmt.Errorf("handshake: HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		}
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	if conn.Subprotocol() != protocol.Subprotocol {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseProtocolError, "subprotocol vigil.v1 required"), time.Now().Add(f.timings.WriteWait))
		return refusal{fmt.Sprintf("server did not select subprotocol %s", protocol.Subprotocol)}
	}
	conn.SetReadLimit(protocol.MaxFrameSize)
	deadline := func() { conn.SetReadDeadline(time.Now().Add(f.timings.DeadAfter)) }
	deadline()
	conn.SetPingHandler(func(data string) error {
		deadline()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(f.timings.WriteWait))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	})
	conn.SetPongHandler(func(string) error { deadline(); return nil })

	hello, err := f.readHello(conn)
	if err != nil {
		return err
	}
	if hello.Journal != f.journal {
		if f.journal != "" || f.lastSeq != 0 {
			f.store.push(ResetEvent{Feed: f.cfg.Name, OldJournal: f.journal, NewJournal: hello.Journal})
		}
		f.journal, f.lastSeq = hello.Journal, 0
	}
	f.store.updateHealth(f.cfg.Name, func(h *Health) { h.Server, h.Journal = hello.Server, hello.Journal })
	sub := protocol.MustEncode(&protocol.Subscribe{Since: f.lastSeq, Journal: f.journal, Actor: f.cfg.Actor, Via: f.cfg.Via})
	conn.SetWriteDeadline(time.Now().Add(f.timings.WriteWait))
	if err := conn.WriteMessage(websocket.TextMessage, sub); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	f.store.setState(f.cfg.Name, Connected, "", time.Time{})

	sendq := make(chan []byte, 256)
	readerDone := make(chan struct{})
	writerDone := make(chan struct{})
	go f.write(ctx, conn, sendq, readerDone, writerDone)
	// The queue is published before the outbox is read so no command added
	// meanwhile is missed; one sent twice is harmless, as the server applies
	// each id at most once. Commands left from a disconnect or a restart go
	// with their original ids.
	setQueue(sendq)
	for _, cmd := range f.outbox.Pending() {
		sendq <- protocol.MustEncode(&cmd)
	}
	err = f.read(conn)
	setQueue(nil)
	close(readerDone)
	<-writerDone
	return err
}

func (f *feed) readHello(conn *websocket.Conn) (*protocol.Hello, error) {
	m, err := f.next(conn)
	if err != nil {
		return nil, fmt.Errorf("waiting for hello: %w", err)
	}
	hello, ok := m.(*protocol.Hello)
	if !ok {
		return nil, fmt.Errorf("protocol error: first frame was %s, not hello", protocol.TypeOf(m))
	}
	if hello.Protocol > protocol.Version {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "unsupported protocol"), time.Now().Add(f.timings.WriteWait))
		return nil, refusal{fmt.Sprintf("server speaks protocol %d; this vigil speaks %d: upgrade vigil", hello.Protocol, protocol.Version)}
	}
	return hello, nil
}

// next returns the next message that decodes; binary, malformed and
// unknown frames are counted and skipped, as the protocol says.
func (f *feed) next(conn *websocket.Conn) (protocol.Message, error) {
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				return nil, errors.New("closed (1009): a frame was larger than 1 MiB")
			}
			return nil, err
		}
		conn.SetReadDeadline(time.Now().Add(f.timings.DeadAfter))
		if mt != websocket.TextMessage {
			f.count(errBinary)
			continue
		}
		m, err := protocol.Decode(data)
		if err != nil {
			f.count(err)
			continue
		}
		return m, nil
	}
}

var errBinary = fmt.Errorf("%w: binary frame", protocol.ErrMalformed)

func (f *feed) count(err error) {
	f.store.updateHealth(f.cfg.Name, func(h *Health) {
		if errors.Is(err, protocol.ErrUnknownType) {
			h.Unknown++
		} else {
			h.Malformed++
		}
	})
}

// read is the connection's one reader: it decodes each frame and hands it
// to the store until the connection fails.
func (f *feed) read(conn *websocket.Conn) error {
	for {
		m, err := f.next(conn)
		if err != nil {
			return err
		}
		f.dispatch(m)
	}
}

func (f *feed) dispatch(m protocol.Message) {
	name := f.cfg.Name
	switch v := m.(type) {
	case *protocol.Load:
		f.store.putLoad(name, v)
	case *protocol.Service:
		f.store.putService(name, v)
	case *protocol.IncidentMsg:
		f.journalMsg(v.Seq, v)
	case *protocol.Entry:
		f.journalMsg(v.Seq, v)
	case *protocol.Synced:
		f.store.setState(name, Synced, "", time.Time{})
	case *protocol.Ack:
		if known, err := f.outbox.Remove(v.ID); known || err != nil {
			f.store.push(AckEvent{Feed: name, ID: v.ID, Seq: v.Seq})
		}
	case *protocol.Nack:
		if known, err := f.outbox.Remove(v.ID); known || err != nil {
			f.store.push(NackEvent{Feed: name, ID: v.ID, Code: v.Code, Error: v.Error})
		}
	case *protocol.Hello:
		f.count(fmt.Errorf("%w: a second hello", protocol.ErrMalformed))
	default:
		// Client-to-server types arriving here are ignored and counted.
		f.count(fmt.Errorf("%w: %s from a server", protocol.ErrUnknownType, protocol.TypeOf(m)))
	}
}

// journalMsg keeps every journal message exactly once: a seq at or below
// the newest held is a duplicate from a replay.
func (f *feed) journalMsg(seq uint64, m protocol.Message) {
	if seq <= f.lastSeq {
		f.store.updateHealth(f.cfg.Name, func(h *Health) { h.Dupes++ })
		return
	}
	f.lastSeq = seq
	f.store.updateHealth(f.cfg.Name, func(h *Health) { h.Seq = seq })
	f.store.push(JournalEvent{Feed: f.cfg.Name, Msg: m})
}

// write is the connection's one writer. It ends when the reader ends or,
// when the context ends, after a clean close handshake.
func (f *feed) write(ctx context.Context, conn *websocket.Conn, sendq <-chan []byte, readerDone, done chan struct{}) {
	defer close(done)
	for {
		select {
		case frame := <-sendq:
			conn.SetWriteDeadline(time.Now().Add(f.timings.WriteWait))
			if err := conn.WriteMessage(websocket.TextMessage, frame); err != nil {
				conn.Close() // unblocks the reader, which reports the failure
				<-readerDone
				return
			}
		case <-readerDone:
			return
		case <-ctx.Done():
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "dashboard closing"), time.Now().Add(f.timings.WriteWait))
			select {
			case <-readerDone:
			case <-time.After(f.timings.CloseWait):
				conn.Close()
				<-readerDone
			}
			return
		}
	}
}

// redact keeps a token out of anything shown.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}
