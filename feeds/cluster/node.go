// Package cluster is what lets three (or five) hubs hold one journal: an
// embedded nats-server with JetStream per hub, clustered over routes with
// its peers, and a journal.Backend over one replicated stream. Each hub is
// a state machine over the stream: what any hub appends, every hub applies
// in the same order, so they number journal messages identically and a
// client resumes with since on whichever hub it reaches.
package cluster

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// NodeConfig configures one hub's embedded nats-server.
type NodeConfig struct {
	// Server is this node's name, unique in the cluster (JetStream's
	// placement and its logs use it).
	Server string
	// Cluster is the cluster's name; every peer must use the same.
	Cluster string
	// Listen is this node's route (cluster) address, host:port.
	Listen string
	// Peers are the other nodes' route addresses.
	Peers []string
	// DataDir holds the JetStream store (in DataDir/jetstream).
	DataDir string
	Logger  *slog.Logger
	// TLS, if set, makes every route mutual TLS: it must present a
	// certificate peers verify and verify theirs (config's RouteTLS).
	TLS *tls.Config
}

// Node is a running embedded nats-server.
type Node struct {
	srv   *server.Server
	size  int
	token string
}

// StartNode starts the embedded server and returns once it accepts
// connections (routes to peers are made in the background, with retries).
func StartNode(cfg NodeConfig) (*Node, error) {
	host, port, err := splitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("cluster listen %q: %w", cfg.Listen, err)
	}
	var tb [16]byte
	rand.Read(tb[:])
	token := hex.EncodeToString(tb[:])
	var routes []*url.URL
	for _, p := range cfg.Peers {
		if _, _, err := splitHostPort(p); err != nil {
			return nil, fmt.Errorf("cluster peer %q: %w", p, err)
		}
		routes = append(routes, &url.URL{Scheme: "nats-route", Host: p})
	}
	opts := &server.Options{
		ServerName: cfg.Server,
		JetStream:  true,
		StoreDir:   filepath.Join(cfg.DataDir, "jetstream"),
		// JetStream's default fsyncs its files only every 2 minutes and
		// acknowledges writes before that: a Jepsen analysis of NATS
		// 2.12 (nats-server issue 7564) lost acknowledged writes when
		// nodes crashed together. SyncAlways makes every write to the
		// stream's raft log (and the meta group's) reach the disk before
		// it counts towards the majority that acknowledges it: a hub acks
		// a command only once a majority has it on disk.
		SyncAlways: true,
		Cluster: server.ClusterOpts{
			Name: cfg.Cluster, Host: host, Port: port,
			// Configured routes are retried for ever; back off between tries.
			ConnectBackoff: true,
			// A peer cut off (not closed) is noticed in about 3s, not the
			// default 2 minutes: until then this node counts it towards
			// a majority (Quorum).
			PingInterval: time.Second, MaxPingsOut: 3,
			TLSConfig: cfg.TLS, TLSTimeout: 2,
		},
		Routes: routes,
		NoSigs: true,
		// The hub connects in process. nats-server starts routing only
		// once its client port listens, so it listens on a random
		// loopback port, behind a token no one else is given: nothing
		// but this hub writes to its journal through this node.
		Host: "127.0.0.1", Port: server.RANDOM_PORT,
		Authorization: token,
		// A record is a command's messages, each up to 1 MiB.
		MaxPayload: 8 << 20, MaxPending: 64 << 20,
	}
	if len(routes) == 0 {
		// Alone, JetStream runs standalone: a clustered JetStream with no
		// peer never elects its metadata leader.
		opts.Cluster, opts.Routes = server.ClusterOpts{}, nil
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats-server: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv.SetLoggerV2(natsLogger{log.With("part", "nats")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("nats-server: not ready after 10s (is the cluster listen address free?)")
	}
	return &Node{srv: srv, size: len(cfg.Peers) + 1, token: token}, nil
}

// Size is the number of nodes the cluster is configured with.
func (n *Node) Size() int { return n.size }

// Quorum reports whether this node reaches a majority of the cluster
// (itself and the peers it has routes to).
func (n *Node) Quorum() bool { return n.srv.NumRemotes()+1 > n.size/2 }

// Connect opens an in-process connection to the node: no socket, no
// port. It reconnects for ever (the node is in the same process).
func (n *Node) Connect(name string) (*nats.Conn, error) {
	return nats.Connect("", nats.InProcessServer(n.srv), nats.Token(n.token), nats.Name(name), nats.MaxReconnects(-1),
		// Its errors are the node's, logged by the node.
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
}

// Reaches reports whether the named server is this node or one it has
// a route to now. A peer killed outright is gone as soon as its route
// closes; one cut off, after MaxPingsOut missed pings.
func (n *Node) Reaches(server string) bool {
	if server == n.srv.Name() {
		return true
	}
	rz, err := n.srv.Routez(nil)
	if err != nil {
		return true
	}
	for _, r := range rz.Routes {
		if r.RemoteName == server {
			return true
		}
	}
	return false
}

// Routed names the peers this node has routes to now.
func (n *Node) Routed() []string {
	rz, err := n.srv.Routez(nil)
	if err != nil {
		return nil
	}
	var names []string
	for _, r := range rz.Routes {
		if !slices.Contains(names, r.RemoteName) {
			names = append(names, r.RemoteName)
		}
	}
	return names
}

// Routes is the number of peers the node has routes to now (each peer
// is several pooled connections).
func (n *Node) Routes() int { return n.srv.NumRemotes() }

// ClusterAddr is the address routes reach this node at.
func (n *Node) ClusterAddr() string { return n.srv.ClusterAddr().String() }

// Shutdown stops the node.
func (n *Node) Shutdown() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	return host, port, nil
}

// natsLogger hands nats-server's log to the hub's: its notices are
// chatty (debug here), its warnings and errors are not.
type natsLogger struct{ log *slog.Logger }

func (l natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l natsLogger) Errorf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	if strings.HasPrefix(msg, "Error trying to connect to route") {
		// A peer not up yet: retried with backoff, and the journal says
		// what it waits for.
		l.log.Debug(msg)
		return
	}
	l.log.Error(msg)
}
func (l natsLogger) Debugf(format string, v ...any) {}
func (l natsLogger) Tracef(format string, v ...any) {}
