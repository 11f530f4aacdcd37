package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/ingest"
)

// sendsHalfABody writes a request announcing a body of 100000 bytes and
// sends two of them, then reports how the connection ended: nil when the
// server closed it (with or without an answer), or the client's own read
// deadline passing (what a server holding it forever looks like).
func sendsHalfABody(t *testing.T, addr, method, path string) error {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\nab", method, path, addr)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a backstop far past the injected limit
	_, err = io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return nil
}

func TestRequestBodyThatNeverArrivesIsCut(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{HTTP: HTTPLimits{RequestTimeout: 200 * time.Millisecond}})
	srv.hub.Handle("POST /alertmanager", &ingest.Alertmanager{Sink: srv.hub})
	// Routes take effect for muxes built after Handle: serve again.
	addr := restartWithRoutes(t, srv)
	for _, tc := range []struct{ method, path string }{
		{"POST", "/alertmanager"},
		{"POST", "/status"},
		{"GET", "/status"},
		{"POST", "/feed"},
		{"GET", "/healthz"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			if err := sendsHalfABody(t, addr, tc.method, tc.path); err != nil {
				t.Fatalf("the connection was still open at the client's backstop: %v", err)
			}
		})
	}
}

// restartWithRoutes serves srv's hub once more on a new port, so routes
// added after the first start are in its mux.
func restartWithRoutes(t *testing.T, srv *running) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := NewHTTPServer(srv.hub.Mux("/feed"), srv.hub.opts.HTTP, srv.hub.log)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// Headers that never end are cut at the header deadline.
func TestHeadersThatNeverEndAreCut(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{HTTP: HTTPLimits{HeaderTimeout: 100 * time.Millisecond}})
	conn, err := net.Dial("tcp", srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.Copy(io.Discard, conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("headers never finished and the connection was still open")
	}
}

// Beyond MaxPending connections that are not (yet) a feed, new ones are
// closed at once; a finished one frees its place.
func TestPendingConnectionsAreBounded(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{HTTP: HTTPLimits{MaxPending: 2}})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		// A request begun and never finished: the server has the
		// connection in hand once it answers nothing.
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	}
	// The server counts a connection once it accepts it; a fresh one
	// answered means both held ones are counted.
	eventually(t, "both held connections counted", func() bool {
		c, err := net.Dial("tcp", srv.addr)
		if err != nil {
			return false
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = http.ReadResponse(bufio.NewReader(c), nil)
		return err != nil
	})
	held[0].Close()
	eventually(t, "a place freed", func() bool {
		resp, err := http.Get("http://" + srv.addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	held[1].Close()
}
