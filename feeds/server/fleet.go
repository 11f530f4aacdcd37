package server

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// AgentGrant lets the holder of Token report for the hosts matching Hosts
// (path.Match globs: "web-*").
type AgentGrant struct {
	Token string
	Hosts []string
}

// Covers reports whether the grant lets its holder report for host.
func (g *AgentGrant) Covers(host string) bool {
	for _, pattern := range g.Hosts {
		if ok, _ := path.Match(pattern, host); ok {
			return true
		}
	}
	return false
}

// fleet is the hub's view of its reporters' connections: which agent
// connection holds each host (for collect), and the routes beside the
// feed. What the hosts report lives in liveFleet.
type fleet struct {
	agents map[string]*agentConn // host -> the connection that registered it
	conns  map[*agentConn]struct{}
	routes map[string]http.Handler
}

func newFleet() fleet {
	return fleet{agents: map[string]*agentConn{}, conns: map[*agentConn]struct{}{}, routes: map[string]http.Handler{}}
}

// agentQueue is how many frames (collect commands) may wait for an agent.
const agentQueue = 8

// agentConn is one agent's connection: reports come in on its reader,
// collect commands go out through its writer.
type agentConn struct {
	conn   *websocket.Conn
	remote string
	out    *agentWriter
	name   string
	grant  *AgentGrant
	hosts  map[string]bool
	// refusals counts reports refused, for the log (reports.go).
	refusals int
}

// agentGrant returns the grant whose token is token, or nil; in constant
// time per configured token.
func (h *Hub) agentGrant(token string) *AgentGrant {
	if token == "" {
		return nil
	}
	var found *AgentGrant
	for i := range h.opts.Agents {
		g := &h.opts.Agents[i]
		if subtle.ConstantTimeCompare([]byte(g.Token), []byte(token)) == 1 {
			found = g
		}
	}
	return found
}

// admit decides a handshake: whether the connection may send commands, the
// agent grant its token carries, and whether it is refused outright (HTTP
// 401): a token that matches none of the hub's tokens, or none where the
// hub requires one.
func (h *Hub) admit(token string) (authorized bool, grant *AgentGrant, refuse bool) {
	authorized = h.Authorized(token)
	grant = h.agentGrant(token)
	hasTokens := len(h.opts.Tokens) > 0 || len(h.opts.Agents) > 0
	dashboardToken := len(h.opts.Tokens) > 0 && authorized
	if token != "" && hasTokens && grant == nil && !dashboardToken {
		return false, nil, true
	}
	if h.opts.RequireToken && !authorized && grant == nil {
		return false, nil, true
	}
	return authorized, grant, false
}

// Handle serves handler at pattern beside the feed (POST /alertmanager);
// it takes effect for muxes built after the call.
func (h *Hub) Handle(pattern string, handler http.Handler) {
	h.mu.Lock()
	h.fleet.routes[pattern] = handler
	h.mu.Unlock()
}

func (h *Hub) handleRoutes(mux *http.ServeMux) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p, handler := range h.fleet.routes {
		mux.Handle(p, handler)
	}
}

// closeAgents tells every agent the hub is going away; they reconnect,
// to this hub when it is back or to another of its cluster.
func (h *Hub) closeAgents() {
	h.mu.Lock()
	conns := h.fleet.conns
	h.fleet.conns = map[*agentConn]struct{}{}
	h.mu.Unlock()
	for ac := range conns {
		ac.out.close(websocket.CloseGoingAway, "server shutting down")
	}
}

// refuseAgent closes an agent's connection with 1008 and says why in the log.
func (h *Hub) refuseAgent(conn *websocket.Conn, remote, agent, reason string) {
	h.log.Warn("agent refused", "agent", agent, "remote", remote, "reason", reason)
	conn.WriteControl(websocket.CloseMessage, closeFrame(websocket.ClosePolicyViolation, reason), time.Now().Add(h.opts.WriteWait))
}

// serveAgent runs an agent's connection after its register frame: its
// reports feed the hub like the hub's own probes, until either side ends.
func (h *Hub) serveAgent(conn *websocket.Conn, remote string, grant *AgentGrant, reg *protocol.Register, deadline func()) {
	if grant == nil {
		h.refuseAgent(conn, remote, reg.Agent, "register needs an agent token")
		return
	}
	for _, host := range reg.Hosts {
		if err := protocol.CheckID("host", host); err != nil {
			h.refuseAgent(conn, remote, reg.Agent, "register: "+err.Error())
			return
		}
		if !grant.Covers(host) {
			h.refuseAgent(conn, remote, reg.Agent, fmt.Sprintf("host %s is not covered by this agent's token", host))
			return
		}
	}
	ac := &agentConn{conn: conn, remote: remote, out: newAgentWriter(conn, h.opts.WriteWait, h.opts.PingPeriod), name: reg.Agent, grant: grant, hosts: map[string]bool{}}
	defer ac.out.stop()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(h.opts.WriteWait))
		return
	}
	h.fleet.conns[ac] = struct{}{}
	for _, host := range reg.Hosts {
		ac.hosts[host] = true
		h.fleet.agents[host] = ac
	}
	h.mu.Unlock()
	h.log.Info("agent registered", "agent", reg.Agent, "hosts", len(reg.Hosts), "remote", remote)
	deadline()
	h.readAgent(ac, deadline)
	h.mu.Lock()
	delete(h.fleet.conns, ac)
	for host := range ac.hosts {
		if h.fleet.agents[host] == ac {
			delete(h.fleet.agents, host)
		}
	}
	h.mu.Unlock()
	h.log.Info("agent gone", "agent", reg.Agent, "remote", remote)
}

// readAgent is an agent connection's one reader.
func (h *Hub) readAgent(ac *agentConn, deadline func()) {
	for {
		mt, r, err := ac.conn.NextReader()
		if err != nil {
			return
		}
		// Read into a pooled buffer, not a new one per frame: at 10,000
		// agents a second, each frame's own buffer was a fifth of what
		// the hub allocated, and its collections delayed notes.
		buf := frameBufs.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(r)
		stop := err != nil
		if !stop {
			deadline()
			stop = h.agentFrame(ac, mt, buf.Bytes())
		}
		if buf.Cap() <= maxPooledFrame {
			frameBufs.Put(buf)
		}
		if stop {
			return
		}
	}
}

// frameBufs hold agents' frames while they are read and decoded; nothing
// decoded keeps a reference to one.
var frameBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledFrame: a buffer grown by a rare large frame (evidence) is let
// go rather than kept.
const maxPooledFrame = 16 << 10

// agentFrame takes one frame from an agent; it reports whether the
// connection is to end.
func (h *Hub) agentFrame(ac *agentConn, mt int, data []byte) (stop bool) {
	if mt != websocket.TextMessage {
		if ac.out.close(websocket.CloseUnsupportedData, errBinary.Error()) {
			h.log.Info("closed a connection that sent a binary frame", "remote", ac.remote)
		}
		return false // to the agent's answer to the close frame
	}
	m, err := protocol.DecodeReport(data)
	if err != nil {
		ac.refused(h, err)
		return false // malformed or unknown: dropped, the connection stays
	}
	var host string
	switch v := m.(type) {
	case *protocol.Load:
		host = v.Host
	case *protocol.Service:
		host = v.Host
	case *protocol.Evidence:
		host = v.Host
	default:
		return false
	}
	if !ac.grant.Covers(host) {
		h.refuseAgent(ac.conn, ac.remote, ac.name, fmt.Sprintf("host %s is not covered by this agent's token", host))
		return true
	}
	if !ac.hosts[host] {
		h.mu.Lock()
		ac.hosts[host] = true
		h.fleet.agents[host] = ac
		h.mu.Unlock()
	}
	switch v := m.(type) {
	case *protocol.Load:
		if err := checkLoad(v); err != nil {
			ac.refused(h, err)
			return false
		}
		h.ReportLoad(*v)
	case *protocol.Service:
		if err := checkService(v); err != nil {
			h.log.Debug("agent report dropped", "agent", ac.name, "err", err)
			return false
		}
		h.PublishService(*v)
	case *protocol.Evidence:
		h.RecordEvidence(*v)
	}
	return false
}

// maxDetailBytes bounds a service's detail from a reporter.
const maxDetailBytes = 4 << 10

func checkLoad(l *protocol.Load) error {
	if err := protocol.CheckID("host", l.Host); err != nil {
		return err
	}
	return checkLoadValues(loadValues{host: l.Host, interval: l.Interval.Std(), load1: l.Load1, load5: l.Load5, load15: l.Load15, cpus: l.CPUs, memUsedPct: l.MemUsedPct})
}

func checkService(s *protocol.Service) error {
	if err := protocol.CheckID("host", s.Host); err != nil {
		return err
	}
	if err := protocol.CheckID("service", s.Service); err != nil {
		return err
	}
	if !protocol.ValidState(s.State) {
		s.State = protocol.StateUnknown
	}
	s.Detail = truncateUTF8(s.Detail, maxDetailBytes)
	return nil
}

// collect routes a collect command to the agent that registered its host.
// Nothing is journaled: the evidence the agent sends is.
func (h *Hub) collect(cmd protocol.Command, authorized bool) Result {
	switch {
	case !authorized:
		return nack(cmd.ID, protocol.CodeForbidden, "commands need a valid token")
	case cmd.Actor == "":
		return nack(cmd.ID, protocol.CodeInvalid, "command needs an actor")
	}
	if err := protocol.CheckID("host", cmd.Host); err != nil {
		return nack(cmd.ID, protocol.CodeInvalid, "collect: "+err.Error())
	}
	if ref := incident.Validate(cmd); ref != nil { // every field, as for journaled commands
		return nack(cmd.ID, ref.Code, ref.Msg)
	}
	frame := protocol.MustEncode(&cmd)
	h.mu.Lock()
	ac := h.fleet.agents[cmd.Host]
	sent := ac != nil && ac.out.send(frame)
	h.mu.Unlock()
	switch {
	case ac == nil:
		return nack(cmd.ID, protocol.CodeNotFound, "no agent is connected for host "+cmd.Host)
	case !sent:
		return nack(cmd.ID, protocol.CodeUnavailable, "the agent of "+cmd.Host+" is not keeping up; try again")
	}
	h.log.Info("collect forwarded", "id", cmd.ID, "actor", cmd.Actor, "host", cmd.Host, "agent", ac.name)
	return Result{Frame: protocol.MustEncode(&protocol.Ack{ID: cmd.ID, Seq: h.Seq()})}
}

// deliverCollect answers a collect like Apply answers any command: deliver
// sees the answer under the broadcast lock, so ordering holds.
func (h *Hub) deliverCollect(cmd protocol.Command, authorized bool, deliver func(Result)) Result {
	res := h.collect(cmd, authorized)
	if deliver != nil {
		h.mu.Lock()
		deliver(res)
		h.mu.Unlock()
	}
	return res
}
