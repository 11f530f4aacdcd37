// Package ssh serves the vigil dashboard over SSH from the hub itself, the
// way soft-serve serves git: `ssh -p 2222 hub` gives a responder a
// dashboard with nothing installed on their side. Keys are the only way
// in: each authorized key's comment is the responder's name, the actor on
// everything their session does, and a key can be read-only. Each session
// is a dashboard (package tui) over its own feeds client, connected to the
// hub in-process, so it behaves exactly as a dashboard over WebSocket.
//
// It sits above both tui and feeds/server; nothing in feeds imports it.
package ssh

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	charmssh "charm.land/ssh"
	"charm.land/wish/v2"
	bm "charm.land/wish/v2/bubbletea"
	rm "charm.land/wish/v2/recover"
	gossh "golang.org/x/crypto/ssh"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/server"
	"github.com/vigil-oncall/vigil/tui"
)

// Config says what to serve and to whom.
type Config struct {
	Hub            *server.Hub
	HostKey        string // created if missing
	AuthorizedKeys string
	ReadOnlyKeys   string        // optional
	IdleTimeout    time.Duration // no input this long ends a session; 0: never
	MaxTimeout     time.Duration // a session's longest life; 0: no limit
	// HandshakeTimeout: a connection not authenticated by then is
	// closed (default 30s), so one that says nothing holds nothing.
	HandshakeTimeout time.Duration
	Dashboard        tui.Options // each session's, its Actor the key's name
	FeedName         string      // the feed's name on the dashboard (the hub's name)
	FPS              int         // the renderer's frames per second
	Timings          client.Timings
	Logger           *slog.Logger
}

// Server is the SSH front end of one hub.
type Server struct {
	cfg  Config
	log  *slog.Logger
	keys *Keyring
	ssh  *charmssh.Server
	mem  *memListener
	http *http.Server

	ctx      context.Context // ends every session; set by Serve
	mu       sync.Mutex
	live     map[charmssh.Session]*session
	sessions sync.WaitGroup
	active   atomic.Int64
	nextID   atomic.Uint64
}

// feedPath is where the in-process HTTP server serves the hub.
const feedPath = "/feed"

// New reads the key files and the host key (creating it if missing) and
// logs the host key's fingerprint, for responders to check on first
// connect.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.FeedName == "" {
		cfg.FeedName = "hub"
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 30 * time.Second
	}
	if cfg.Timings == (client.Timings{}) {
		cfg.Timings = client.DefaultTimings()
	}
	log := cfg.Logger
	if dir := cfg.Dashboard.DraftDir; dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("drafts directory: %w", err)
		}
	}
	keys, err := NewKeyring(cfg.AuthorizedKeys, cfg.ReadOnlyKeys, log)
	if err != nil {
		return nil, fmt.Errorf("ssh keys: %w", err)
	}
	signer, created, err := HostKey(cfg.HostKey)
	if err != nil {
		return nil, err
	}
	fp := gossh.FingerprintSHA256(signer.PublicKey())
	if created {
		log.Info("ssh: created a host key", "path", cfg.HostKey, "fingerprint", fp)
	} else {
		log.Info("ssh: host key", "path", cfg.HostKey, "fingerprint", fp)
	}
	s := &Server{cfg: cfg, log: log, keys: keys, mem: newMemListener(), ctx: context.Background(), live: map[charmssh.Session]*session{}}
	s.http = &http.Server{
		Handler:           cfg.Hub.Mux(feedPath),
		ConnContext:       connContext,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	s.ssh, err = wish.NewServer(
		wish.WithVersion("vigil"),
		wish.WithPublicKeyAuth(s.allow),
		// Sessions end themselves at MaxTimeout, restoring the terminal and
		// saying why; the connection's own deadline is only a backstop.
		wish.WithMaxTimeout(backstop(cfg.MaxTimeout)),
		wish.WithMiddleware(rm.MiddlewareWithLogger(slog.NewLogLogger(log.Handler(), slog.LevelError),
			bm.MiddlewareWithProgramHandler(s.program),
			s.session,
		)),
		func(srv *charmssh.Server) error {
			srv.AddHostKey(signer)
			srv.HandshakeTimeout = cfg.HandshakeTimeout
			srv.ConnectionFailedCallback = func(c net.Conn, err error) {
				log.Info("ssh: connection refused", "remote", c.RemoteAddr(), "err", err)
			}
			return nil
		},
	)
	if err != nil {
		return nil, err
	}
	log.Info("ssh: keys", "authorized_keys", cfg.AuthorizedKeys, "read_only_keys", cfg.ReadOnlyKeys, "keys", keys.Len())
	return s, nil
}

func backstop(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return max + closeWait + time.Minute
}

// allow is the only way in: a key in one of the key files. Passwords and
// keyboard-interactive are never offered.
func (s *Server) allow(ctx charmssh.Context, key charmssh.PublicKey) bool {
	id, ok := s.keys.Lookup(key)
	if !ok {
		// A client offers each of its keys in turn: only the connection's
		// final refusal is worth a line at info.
		s.log.Debug("ssh: unknown key", "remote", ctx.RemoteAddr(), "user", ctx.User(), "fingerprint", gossh.FingerprintSHA256(key))
		return false
	}
	s.log.Debug("ssh: key accepted", "remote", ctx.RemoteAddr(), "responder", id.Name, "key", id.Fingerprint, "read_only", id.ReadOnly)
	return true
}

// Sessions is the number of sessions running now.
func (s *Server) Sessions() int { return int(s.active.Load()) }

// Serve accepts SSH connections on ln until ctx ends, then ends every
// session and returns once each has.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.ctx = ctx
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(2)
	go func() { defer wg.Done(); errc <- s.http.Serve(s.mem) }()
	go func() { defer wg.Done(); errc <- s.ssh.Serve(ln) }()
	s.log.Info("ssh: serving the dashboard", "addr", ln.Addr())
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel() // every session's context ends with this one
	shutdownCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	if s.ssh.Shutdown(shutdownCtx) != nil {
		s.ssh.Close()
	}
	stop()
	s.ssh.Close()
	s.http.Close()
	s.mem.Close()
	s.sessions.Wait()
	wg.Wait()
	if err == nil || errors.Is(err, charmssh.ErrServerClosed) || errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
