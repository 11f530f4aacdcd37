package ssh

import (
	"context"
	"errors"
	"net"
	"sync"

	"github.com/vigil-oncall/vigil/feeds/server"
)

// memListener hands the hub's HTTP server connections made in this
// process: each session's client dials it through FeedConfig.Dial and gets
// one end of a net.Pipe, the hub the other. Nothing crosses a socket, yet
// the client and the hub speak vigil.v1 exactly as over TCP: the same
// outbox, acks, replay and presence.
type memListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// vouchedConn is the hub's end of a session's connection: it carries who
// the SSH key said the session is.
type vouchedConn struct {
	net.Conn
	principal server.Principal
}

type memAddr struct{}

func (memAddr) Network() string { return "memory" }
func (memAddr) String() string  { return "ssh-session" }

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr{} }

var errHubClosed = errors.New("the hub is shutting down")

// dialer returns the Dial of a session's feed: connections vouched for as p.
func (l *memListener) dialer(p server.Principal) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, _, _ string) (net.Conn, error) {
		mine, hubs := net.Pipe()
		select {
		case l.conns <- &vouchedConn{Conn: hubs, principal: p}:
			return mine, nil
		case <-ctx.Done():
			mine.Close()
			hubs.Close()
			return nil, ctx.Err()
		case <-l.done:
			mine.Close()
			hubs.Close()
			return nil, errHubClosed
		}
	}
}

// connContext puts a vouched connection's principal on its requests'
// context, where the hub looks for it.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if vc, ok := c.(*vouchedConn); ok {
		return server.WithPrincipal(ctx, vc.principal)
	}
	return ctx
}
