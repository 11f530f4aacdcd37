package server

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTPLimits bound what a client that never finishes a request can hold:
// a request's headers and body are read under a deadline, an idle
// keep-alive connection is closed, and only so many connections may be
// open at once before they become a WebSocket (the only kind a token
// authenticates for long); beyond that new ones are closed at once.
type HTTPLimits struct {
	HeaderTimeout  time.Duration // headers read within this; default 10s
	RequestTimeout time.Duration // the whole request, body too; default 30s
	IdleTimeout    time.Duration // a keep-alive connection between requests; default 60s
	MaxPending     int           // connections not (yet) a WebSocket; default 512
}

func (l HTTPLimits) orDefaults() HTTPLimits {
	if l.HeaderTimeout <= 0 {
		l.HeaderTimeout = 10 * time.Second
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = 30 * time.Second
	}
	if l.RequestTimeout < l.HeaderTimeout {
		l.HeaderTimeout = l.RequestTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 60 * time.Second
	}
	if l.MaxPending <= 0 {
		l.MaxPending = 512
	}
	return l
}

// NewHTTPServer is an http.Server for handler under limits. A WebSocket
// upgrade clears the request's deadlines (the feed keeps its own pings)
// and leaves the pending count.
func NewHTTPServer(handler http.Handler, limits HTTPLimits, log *slog.Logger) *http.Server {
	limits = limits.orDefaults()
	p := &pending{max: limits.MaxPending, conns: map[net.Conn]struct{}{}, log: log}
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: limits.HeaderTimeout,
		ReadTimeout:       limits.RequestTimeout,
		IdleTimeout:       limits.IdleTimeout,
		ConnState:         p.track,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// pending counts the connections that are plain HTTP.
type pending struct {
	mu      sync.Mutex
	max     int
	conns   map[net.Conn]struct{}
	refused int
	log     *slog.Logger
}

func (p *pending) track(c net.Conn, state http.ConnState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch state {
	case http.StateNew:
		if len(p.conns) >= p.max {
			p.refused++
			if p.refused == 1 || p.refused%1000 == 0 {
				p.log.Warn("http: too many connections not yet a feed; closing new ones until some finish", "limit", p.max, "refused", p.refused, "remote", c.RemoteAddr())
			}
			c.Close()
			return
		}
		p.conns[c] = struct{}{}
	case http.StateHijacked, http.StateClosed:
		delete(p.conns, c)
	}
}
