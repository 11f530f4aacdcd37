package server

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// subscriber is one connection: the handler goroutine reads, one writer
// goroutine writes everything, from a bounded queue.
type subscriber struct {
	conn       *websocket.Conn
	send       chan queued
	kill       chan struct{}
	killOnce   sync.Once
	reason     string
	code       int
	remote     string
	authorized bool
	cork       *corkConn     // nil where the connection could not be corked
	loads      *loadBox      // load frames waiting for the next pace
	paceAt     time.Duration // its turn within each pace interval
	principal  *Principal    // set when the hub's own front end vouched for it
	// warnedUnauthorized: its first command without a token was logged.
	warnedUnauthorized bool
}

// queued is a frame in a subscriber's queue; loadOf names the host whose
// waiting load it is, taken along by a journal message about the host
// (the box holds that host's later loads until it is written).
type queued struct {
	frame  []byte
	loadOf string
}

func (s *subscriber) offer(frame []byte) bool { return s.enqueue(queued{frame: frame}) }

func (s *subscriber) enqueue(q queued) bool {
	select {
	case s.send <- q:
		return true
	default:
		return false
	}
}

// drop tells the writer to close with reason; it reports whether this
// was the first drop (later ones change nothing).
func (s *subscriber) drop(reason string) bool {
	first := false
	s.killOnce.Do(func() {
		s.reason = reason
		s.code = websocket.CloseTryAgainLater
		if strings.Contains(reason, "shutting down") {
			s.code = websocket.CloseGoingAway
		}
		close(s.kill)
		first = true
	})
	return first
}

// writeBuffers are the connections' write buffers, held while writing.
var writeBuffers sync.Pool

func bearer(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return strings.TrimSpace(auth[7:])
	}
	return ""
}

// ServeHTTP upgrades a subscriber and serves it until either side ends.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	authorized, grant, refuse, principal := h.authorize(r)
	if refuse {
		h.log.Warn("refused a subscriber: HTTP 401, no valid bearer token", "remote", r.RemoteAddr, "token", tokenSent(r))
		w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
		http.Error(w, "a valid bearer token is required", http.StatusUnauthorized)
		return
	}
	up := websocket.Upgrader{
		Subprotocols: []string{protocol.Subprotocol},
		// A connection reads through a buffer of 1 KiB (a load sample
		// is a fifth of it; a larger frame takes more reads), and a write
		// takes a buffer from the pool for the message it writes: ten
		// thousand agents' connections, mostly idle, must not hold 20 KiB
		// each.
		ReadBufferSize:  1 << 10,
		WriteBufferSize: 16 << 10,
		WriteBufferPool: &writeBuffers,
		// CheckOrigin stays the default: same-origin browsers only.
	}
	cw := &corkingWriter{ResponseWriter: w}
	conn, err := up.Upgrade(cw, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	// The connection is served by a goroutine of its own and the handler
	// returns: net/http then lets go of the request and the connection's
	// buffered writer, which a long-lived connection (ten thousand agents)
	// would otherwise hold for nothing.
	h.active.Add(1)
	go func() {
		defer h.active.Done()
		defer conn.Close()
		h.serveConn(conn, r.RemoteAddr, authorized, grant, principal, cw.conn)
	}()
}

// serveConn runs an upgraded connection: the hello, its subscribe (or an
// agent's register), then its reader, until either side ends.
func (h *Hub) serveConn(conn *websocket.Conn, remote string, authorized bool, grant *AgentGrant, principal *Principal, cork *corkConn) {
	if conn.Subprotocol() != protocol.Subprotocol {
		conn.WriteControl(websocket.CloseMessage, closeFrame(websocket.CloseProtocolError, "offer subprotocol vigil.v1"), time.Now().Add(h.opts.WriteWait))
		return
	}
	conn.SetReadLimit(protocol.MaxFrameSize)
	deadline := func() { conn.SetReadDeadline(time.Now().Add(3 * h.opts.PingPeriod)) }
	conn.SetPongHandler(func(string) error { deadline(); return nil })

	hello := protocol.MustEncode(&protocol.Hello{Protocol: protocol.Version, Server: h.opts.Name, Journal: h.JournalID(), Seq: h.Seq(), Time: protocol.At(h.opts.Now()),
		Channels: h.Channels(), Components: h.opts.Site.Components})
	conn.SetWriteDeadline(time.Now().Add(h.opts.WriteWait))
	if err := conn.WriteMessage(websocket.TextMessage, hello); err != nil {
		return
	}
	conn.SetReadDeadline(time.Now().Add(h.opts.WriteWait))
	firstMsg, err := readSubscribe(conn)
	if err != nil {
		code, reason := h.subscribeRefusal(err)
		h.log.Info("closed a connection that did not subscribe", "remote", remote, "reason", reason)
		conn.WriteControl(websocket.CloseMessage, closeFrame(code, reason), time.Now().Add(h.opts.WriteWait))
		return
	}
	if reg, ok := firstMsg.(*protocol.Register); ok {
		h.serveAgent(conn, remote, grant, reg, deadline)
		return
	}
	sub := firstMsg.(*protocol.Subscribe)
	if principal != nil {
		sub.Actor, sub.Via = principal.Actor, principal.Via // presence cannot be spoofed either
	}
	s := &subscriber{conn: conn, send: make(chan queued, h.opts.QueueSize), kill: make(chan struct{}), remote: remote, authorized: authorized, principal: principal, cork: cork, loads: newLoadBox()}
	paceKey := sub.Actor
	if paceKey == "" {
		paceKey = remote
	}
	s.paceAt = paceOffset(paceKey, h.opts.LoadPace)
	first, ok := h.attach(s, sub.Since, sub.Journal)
	if !ok {
		conn.WriteControl(websocket.CloseMessage, closeFrame(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(h.opts.WriteWait))
		return
	}
	h.log.Debug("subscribed", "remote", remote, "since", sub.Since, "authorized", authorized)
	readerDone := make(chan struct{})
	writerDone := make(chan struct{})
	go h.write(s, first, readerDone, writerDone)
	h.joinPresence(s, sub)
	deadline()
	h.read(s, deadline)
	h.detach(s)
	h.leavePresence(s)
	close(readerDone)
	<-writerDone
}

// readSubscribe reads the first client frame: a *protocol.Subscribe, or an
// agent's *protocol.Register.
func readSubscribe(conn *websocket.Conn) (protocol.Message, error) {
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			return nil, err
		}
		if mt != websocket.TextMessage {
			return nil, errBinary
		}
		m, err := protocol.Decode(data)
		if err != nil {
			continue // counted as malformed by the protocol; keep waiting
		}
		switch m.(type) {
		case *protocol.Subscribe, *protocol.Register:
			return m, nil
		}
		return nil, errors.New("the first client frame must be subscribe (or register, from an agent)")
	}
}

func (h *Hub) read(s *subscriber, deadline func()) {
	for {
		mt, data, err := s.conn.ReadMessage()
		if err != nil {
			h.logReadEnd(s, err)
			return
		}
		deadline()
		if mt != websocket.TextMessage {
			h.dropBinary(s)
			continue // to the peer's answer to the close frame
		}
		m, err := protocol.Decode(data)
		if err != nil {
			if frame, ok := nackMalformed(data, err); ok {
				h.mu.Lock()
				if !s.offer(frame) {
					h.dropSlowLocked(s, tooSlow)
				}
				h.mu.Unlock()
			}
			continue
		}
		if h.answerReview(s, m) {
			continue
		}
		if req, ok := m.(*protocol.History); ok {
			if !s.offer(h.history(req)) {
				s.drop("too slow: fell more than the queue behind")
			}
			continue
		}
		cmd, ok := m.(*protocol.Command)
		if !ok {
			continue
		}
		if refusal, refused := s.principal.vouch(cmd); refused {
			if !s.offer(refusal) {
				s.drop("too slow: fell more than the queue behind")
			}
			continue
		}
		if p := s.principal; p != nil {
			h.log.Info("command", "id", cmd.ID, "op", cmd.Op, "incident", cmd.Incident, "actor", cmd.Actor, "via", p.Via, "key", p.Key)
		}
		if !s.authorized && !s.warnedUnauthorized {
			// Once a connection: a client that retries must not flood the log.
			s.warnedUnauthorized = true
			h.log.Warn("refused a command: the subscriber sent no valid bearer token", "remote", s.remote, "op", cmd.Op, "id", cmd.ID)
		}
		arrived := time.Now()
		h.Submit(*cmd, s.authorized, func(res Result) {
			h.metrics.ObserveCommand(time.Since(arrived))
			if !s.offer(res.Frame) {
				h.dropSlowLocked(s, tooSlow) // deliver runs under h.mu
			}
		})
	}
}

// Health answers GET /healthz for service managers: 503 once the journal
// has stopped after a failed write, so a supervisor restarts the server
// (which reopens and verifies the journal).
// Under require_token it tells only that the server is up, unless the
// request carries a valid token: the journal id, its seq and the number
// of watchers are not for anyone who can reach the port.
func (h *Hub) Health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	body := map[string]any{"status": "ok"}
	if !h.opts.RequireToken || h.Authorized(bearer(r)) {
		body["journal"], body["seq"], body["subscribers"] = h.JournalID(), h.Seq(), h.Subscribers()
		if cs, ok := h.journal.(clusterStatuser); ok {
			body["cluster"] = cs.ClusterStatus()
		}
	}
	if err := h.JournalFailed(); err != nil {
		// Said even without a token: a supervisor must see it to restart.
		body["status"] = "failed"
		body["error"] = "journal stopped, refusing commands until restarted: " + err.Error()
		w.WriteHeader(http.StatusServiceUnavailable)
	} else if err := h.JournalDamaged(); err != nil {
		body["status"] = "damaged"
		body["error"] = damagedReason(err)
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(body)
}

func writeBy(wait time.Duration) time.Time { return time.Now().Add(wait) }

// Mux serves the feed at path, /healthz and the status page under /status.
func (h *Hub) Mux(path string) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(path, h)
	mux.HandleFunc("GET /healthz", h.Health)
	status := h.statusHandler()
	mux.Handle("/status", status)
	mux.Handle("/status/", status)
	h.handleRoutes(mux)
	h.pagingRoutes(mux)
	return mux
}

// IsClosedConn reports whether err is the benign error of a listener that
// was closed on shutdown.
func IsClosedConn(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed)
}

// tokenSent says, for a log, whether a refused request carried a token
// at all (a missing variable) or a wrong one, never the token itself.
func tokenSent(r *http.Request) string {
	if bearer(r) == "" {
		return "none"
	}
	return "wrong"
}
