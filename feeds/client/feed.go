// Package client subscribes the dashboard to one or more vigil.v1 feeds:
// it dials (moving through a cluster's hubs), reconnects with jittered
// backoff, resumes journals without gap or duplicate (gaps only in a
// compacted replay from zero), detects silent connections, coalesces load
// floods into a Store, relays presence and history answers, and carries
// responders' commands, stamped with when they acted, through a durable
// outbox that never makes the dashboard or a reader wait on a disk.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/link"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Timings are the connection's clocks (feeds/link's, shared with the
// agent). Tests shrink them to milliseconds.
type Timings = link.Timings

// DefaultTimings are the protocol's: dead after 45 s of silence.
func DefaultTimings() Timings { return link.DefaultTimings() }

// FeedConfig says where a feed is and how to reach it.
type FeedConfig struct {
	Name string
	URL  string
	// URLs are the hubs of one cluster, tried in turn: when one fails the
	// next is dialled at once, and the backoff starts only once each has
	// failed. URL, where also set, is tried first.
	URLs     []string
	Token    string // bearer token; never logged or shown
	TokenEnv string // the variable the token came from, for messages
	CAFile   string // extra CA for wss://, besides the system roots
	// Actor and Via say who watches and how (protocol.ViaTTY, ViaSSH),
	// sent in subscribe for the hub's presence; Via defaults to tty.
	Actor string
	Via   string
	// Dial, if set, opens the connection instead of TCP: the hub's SSH
	// front end reaches its own hub in-process this way.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Endpoints are the URLs to dial, in order: URL, then URLs, each once.
func (c FeedConfig) Endpoints() []string {
	var out []string
	seen := map[string]bool{}
	for _, u := range append([]string{c.URL}, c.URLs...) {
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
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
	// kick tells the writer the outbox holds something to send.
	kick chan struct{}

	// Owned by the reader of the current connection.
	journal string
	lastSeq uint64
	// fromZero is set while a since-0 replay runs: only there may seqs
	// skip (a compacted replay); gapped records that one did.
	fromZero bool
	gapped   bool
	// gapFrom is the seq held when a gap last made the client resubscribe;
	// if the replay skips from there again, the hub does not hold what is
	// missing, and asking again would only loop.
	gapFrom    uint64
	gapRetried bool
	// snapshotAt is the hub's clock in its hello, until synced: a load
	// in the snapshot older than that by 3 of its intervals is from a
	// host that has not reported since (snapshot.go).
	snapshotAt time.Time

	// The reader's own: a frame buffer reused for every frame, and when
	// the read deadline was last pushed (see alive).
	frame    bytes.Buffer
	deadline time.Time
}

// maxKeptFrame is the largest frame buffer kept between frames: one huge
// replay frame should not pin a megabyte for the life of the connection.
const maxKeptFrame = 256 << 10

// alive pushes the read deadline after a frame: DeadAfter from now, plus
// a little slack so it need not be pushed on every frame (at thousands of
// frames a second that was a timer update per frame). A connection silent
// for DeadAfter is declared dead at most DeadAfter/32 later.
func (f *feed) alive(conn *websocket.Conn) {
	now := time.Now()
	slack := f.timings.DeadAfter / 32
	if now.Sub(f.deadline) < slack {
		return
	}
	f.deadline = now
	conn.SetReadDeadline(now.Add(f.timings.DeadAfter + slack))
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
	urls := f.cfg.Endpoints()
	attempt, failed, next := 0, 0, 0
	for {
		f.store.setState(f.cfg.Name, Connecting, "", time.Time{})
		start := time.Now()
		err := f.connect(ctx, urls[next], setQueue)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) >= f.timings.StableAfter {
			attempt, failed = 0, 0
		}
		// The hub that failed may be the one that is down: a cluster's
		// next hub is dialled at once, the backoff comes once all failed.
		next = (next + 1) % len(urls)
		failed++
		var delay time.Duration
		state := Disconnected
		var ref refusal
		refused := errors.As(err, &ref)
		if refused {
			state = Refused
		}
		if failed%len(urls) == 0 {
			if refused {
				delay = f.timings.BackoffMax
			} else {
				delay = link.Backoff(attempt, f.timings.BackoffMin, f.timings.BackoffMax)
				attempt++
			}
		}
		f.store.setState(f.cfg.Name, state, link.Describe(err, "server"), time.Now().Add(delay))
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

func (f *feed) connect(ctx context.Context, url string, setQueue func(chan []byte)) error {
	header := http.Header{}
	if f.cfg.Token != "" {
		header.Set("Authorization", "Bearer "+f.cfg.Token)
	}
	f.store.updateHealth(f.cfg.Name, func(h *Health) {
		h.URL = redact(url, f.cfg.Token)
		h.TokenEnv, h.TokenSent = f.cfg.TokenEnv, f.cfg.Token != ""
	})
	conn, resp, err := f.dialer.DialContext(ctx, url, header)
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
	// Once ctx ends, the connection gets CloseWait to close cleanly; then
	// it is cut, so no read or write (a peer that stopped reading, a hub
	// that never says hello) holds the dashboard's exit.
	ended := make(chan struct{})
	cut := make(chan struct{})
	stopCut := context.AfterFunc(ctx, func() {
		defer close(cut)
		t := time.NewTimer(f.timings.CloseWait)
		defer t.Stop()
		select {
		case <-t.C:
			conn.NetConn().Close()
		case <-ended:
		}
	})
	defer func() {
		close(ended)
		if !stopCut() {
			<-cut
		}
	}()

	if conn.Subprotocol() != protocol.Subprotocol {
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseProtocolError, "subprotocol vigil.v1 required"), time.Now().Add(f.timings.WriteWait))
		return refusal{fmt.Sprintf("server did not select subprotocol %s", protocol.Subprotocol)}
	}
	conn.SetReadLimit(protocol.MaxFrameSize)
	deadline := func() { f.deadline = time.Time{}; f.alive(conn) }
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
	f.store.updateHealth(f.cfg.Name, func(h *Health) {
		h.Server, h.Journal = hello.Server, hello.Journal
		h.Channels, h.Components = hello.Channels, hello.Components
	})
	via := f.cfg.Via
	if via == "" {
		via = protocol.ViaTTY
	}
	f.fromZero, f.gapped = f.lastSeq == 0, false
	f.snapshotAt = hello.Time.Time
	sub := protocol.MustEncode(&protocol.Subscribe{Since: f.lastSeq, Journal: f.journal, Actor: f.cfg.Actor, Via: via})
	conn.SetWriteDeadline(time.Now().Add(f.timings.WriteWait))
	if err := conn.WriteMessage(websocket.TextMessage, sub); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	f.store.setState(f.cfg.Name, Connected, "", time.Time{})

	// Requests other than commands (history) go through a small queue;
	// commands are read from the outbox by the writer itself, so nothing
	// here waits for the writer, whatever the peer does.
	requests := make(chan []byte, 16)
	readerDone := make(chan struct{})
	writerDone := make(chan struct{})
	setQueue(requests)
	go f.write(ctx, conn, requests, readerDone, writerDone)
	err = f.read(conn)
	setQueue(nil)
	f.store.dropPresence(f.cfg.Name)
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
		mt, data, err := f.readFrame(conn)
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				return nil, errors.New("closed (1009): a frame was larger than 1 MiB")
			}
			return nil, err
		}
		f.alive(conn)
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

// readFrame is conn.ReadMessage into the feed's reused buffer: the data is
// valid until the next call (Decode keeps none of it).
func (f *feed) readFrame(conn *websocket.Conn) (int, []byte, error) {
	mt, r, err := conn.NextReader()
	if err != nil {
		return mt, nil, err
	}
	if f.frame.Cap() > maxKeptFrame {
		f.frame = bytes.Buffer{}
	}
	f.frame.Reset()
	if _, err := f.frame.ReadFrom(r); err != nil {
		return mt, nil, err
	}
	return mt, f.frame.Bytes(), nil
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
		if err := f.dispatch(m); err != nil {
			return err
		}
	}
}

func (f *feed) dispatch(m protocol.Message) error {
	name := f.cfg.Name
	switch v := m.(type) {
	case *protocol.Load:
		f.store.putLoadAged(name, v, f.snapshotAge(v))
	case *protocol.Service:
		f.store.putService(name, v)
	case *protocol.IncidentMsg:
		return f.journalMsg(v.Seq, v)
	case *protocol.Entry:
		return f.journalMsg(v.Seq, v)
	case *protocol.PageMsg:
		return f.journalMsg(v.Seq, v)
	case *protocol.Oncall:
		f.store.push(OncallEvent{Feed: name, Oncall: *v})
	case *protocol.Synced:
		f.synced(v)
	case *protocol.Ack:
		if f.outbox.Remove(v.ID) {
			f.store.push(AckEvent{Feed: name, ID: v.ID, Seq: v.Seq})
		}
	case *protocol.Nack:
		switch {
		case f.outbox.Remove(v.ID):
			f.store.push(NackEvent{Feed: name, ID: v.ID, Code: v.Code, Error: v.Error})
		case strings.HasPrefix(v.ID, historyIDPrefix):
			f.store.pushHistory(HistoryAnswer{Feed: name, Journal: f.journal, ID: v.ID, Error: v.Code + ": " + v.Error})
		}
	case *protocol.Presence:
		f.store.putPresence(name, v.Watchers)
	case *protocol.History:
		f.store.pushHistory(f.historyAnswer(v))
	case *protocol.Rewind:
		f.store.pushHistory(HistoryAnswer{Feed: name, Journal: f.journal, ID: v.ID, Kind: protocol.TypeRewind, Rewind: v})
	case *protocol.Hello:
		f.count(fmt.Errorf("%w: a second hello", protocol.ErrMalformed))
	default:
		// Client-to-server types arriving here are ignored and counted.
		f.count(fmt.Errorf("%w: %s from a server", protocol.ErrUnknownType, protocol.TypeOf(m)))
	}
	return nil
}

// journalMsg keeps every journal message exactly once: a seq at or below
// the newest held is a duplicate from a replay. An incident without seq
// is applied but numbers nothing. A seq that skips ahead is a loss, except
// in a replay from zero (a compacted one may skip): the connection is
// dropped so the resubscribe replays what is missing. If the replay skips
// the same way, the hub does not hold it: the gap is counted and kept.
func (f *feed) journalMsg(seq uint64, m protocol.Message) error {
	if seq == 0 {
		f.store.push(JournalEvent{Feed: f.cfg.Name, Msg: m})
		return nil
	}
	if seq <= f.lastSeq {
		f.store.updateHealth(f.cfg.Name, func(h *Health) { h.Dupes++ })
		return nil
	}
	if seq != f.lastSeq+1 {
		switch {
		case f.fromZero:
			f.gapped = true
		case f.gapRetried && f.gapFrom == f.lastSeq:
			f.gapRetried = false
		default:
			f.gapRetried, f.gapFrom = true, f.lastSeq
			f.store.updateHealth(f.cfg.Name, func(h *Health) { h.Gaps++ })
			return fmt.Errorf("journal gap: seq %d came after %d; resubscribing from %d", seq, f.lastSeq, f.lastSeq)
		}
	}
	f.lastSeq = seq
	f.store.updateHealth(f.cfg.Name, func(h *Health) { h.Seq = seq })
	f.store.push(JournalEvent{Feed: f.cfg.Name, Msg: m})
	return nil
}

// synced ends a replay. A compacted replay from zero may have left out
// the newest seqs too: what follows live continues from the server's.
func (f *feed) synced(v *protocol.Synced) {
	if f.fromZero {
		compacted := v.Compacted
		if compacted && v.Seq > f.lastSeq {
			f.lastSeq = v.Seq
		}
		gapped := f.gapped && !compacted
		f.store.updateHealth(f.cfg.Name, func(h *Health) {
			h.Compacted, h.Oldest = compacted, v.Oldest
			h.Seq = f.lastSeq
			if gapped {
				h.Gaps++ // skipped seqs in a replay that said it was whole
			}
		})
		f.fromZero, f.gapped = false, false
	}
	f.snapshotAt = time.Time{}
	f.store.setState(f.cfg.Name, Synced, "", time.Time{})
}

// historyAnswer decodes the journal messages of a history answer.
func (f *feed) historyAnswer(v *protocol.History) HistoryAnswer {
	a := HistoryAnswer{Feed: f.cfg.Name, Journal: f.journal, ID: v.ID, More: v.More, Kind: v.Kind, Host: v.Host, Samples: v.Samples}
	for _, raw := range v.Messages {
		m, err := protocol.Decode(raw)
		switch m.(type) {
		case *protocol.IncidentMsg, *protocol.Entry:
			a.Messages = append(a.Messages, m)
			continue
		}
		if err == nil {
			err = fmt.Errorf("%w: %s in a history answer", protocol.ErrMalformed, protocol.TypeOf(m))
		}
		a.Malformed++
		f.count(err)
	}
	return a
}

// write is the connection's one writer. It sends the outbox's commands
// (those left from before first, then each new one when kicked) and the
// queued requests. It ends when the reader ends or, when the context
// ends, after a clean close handshake.
func (f *feed) write(ctx context.Context, conn *websocket.Conn, requests <-chan []byte, readerDone <-chan struct{}, done chan struct{}) {
	defer close(done)
	send := func(frame []byte) bool {
		conn.SetWriteDeadline(time.Now().Add(f.timings.WriteWait))
		return conn.WriteMessage(websocket.TextMessage, frame) == nil
	}
	// sent is what this connection already carried, so a kick sends only
	// what is new; commands left from a disconnect or a restart go with
	// their original ids, and the server applies each id once.
	sent := map[string]bool{}
	sendOutbox := func() bool {
		pending := f.outbox.Sendable()
		still := make(map[string]bool, len(pending))
		for _, cmd := range pending {
			still[cmd.ID] = sent[cmd.ID]
		}
		sent = still
		for _, cmd := range pending {
			if sent[cmd.ID] {
				continue
			}
			select {
			case <-ctx.Done():
				return true // the loop below closes
			case <-readerDone:
				return false
			default:
			}
			if !send(protocol.MustEncode(&cmd)) {
				return false
			}
			sent[cmd.ID] = true
		}
		return true
	}
	ok := sendOutbox()
	for ok {
		if ctx.Err() != nil {
			f.closeCleanly(conn, readerDone)
			return
		}
		select {
		case <-f.kick:
			ok = sendOutbox()
		case frame := <-requests:
			ok = send(frame)
		case <-readerDone:
			return
		case <-ctx.Done():
		}
	}
	conn.Close() // unblocks the reader, which reports the failure
	<-readerDone
}

// closeCleanly sends a close frame and waits, a little, for the reply.
func (f *feed) closeCleanly(conn *websocket.Conn, readerDone <-chan struct{}) {
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "dashboard closing"), time.Now().Add(f.timings.CloseWait))
	t := time.NewTimer(f.timings.CloseWait)
	defer t.Stop()
	select {
	case <-readerDone:
	case <-t.C:
		conn.Close()
		<-readerDone
	}
}

// redact keeps a token out of anything shown.
func redact(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "[token]")
}
