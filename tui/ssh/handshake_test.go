package ssh

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// A client that opens the connection and never finishes the handshake
// holds it no longer than the handshake deadline.
func TestStalledHandshakeIsClosed(t *testing.T) {
	t.Parallel()
	f := startFixtureWith(t, time.Hour, 0, func(c *Config) { c.HandshakeTimeout = 150 * time.Millisecond })
	for name, opening := range map[string]string{
		"silent":               "",
		"version then nothing": "SSH-2.0-slow\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", f.port))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.Write([]byte(opening))
			conn.SetReadDeadline(time.Now().Add(10 * time.Second)) // a backstop far past the deadline
			_, err = io.Copy(io.Discard, conn)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("a stalled handshake was still open at the client's backstop")
			}
		})
	}
}
