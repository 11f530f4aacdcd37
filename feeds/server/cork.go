package server

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
)

// corkLimit is how much a corked connection gathers before it writes
// anyway.
const corkLimit = 256 << 10

// corkConn is a subscriber's TCP connection, which its writer may cork
// while it drains a queue of frames: the frames (and any control frame
// written meanwhile, such as a pong) go out in one write instead of one
// system call each. A batch of journal messages to eight subscribers was
// otherwise most of a command's CPU.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    []byte
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= corkLimit {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *corkConn) flushLocked() error {
	if len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	if cap(c.buf) > 2*corkLimit {
		c.buf = nil
	}
	return err
}

// cork gathers writes until uncork.
func (c *corkConn) cork() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what was gathered and writes through again.
func (c *corkConn) uncork() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	return c.flushLocked()
}

// corkingWriter hands the WebSocket upgrader a corkable connection when
// it hijacks the HTTP one.
type corkingWriter struct {
	http.ResponseWriter
	conn *corkConn
}

func (w *corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the response cannot be hijacked")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &corkConn{Conn: nc}
	return w.conn, brw, nil
}

// errKilled says the subscriber was dropped while its writer wrote: it is
// owed only its close frame now.
var errKilled = errors.New("subscriber dropped")

// writeQueued writes frame and, corked, whatever else is queued for s,
// each through write (the writer's watched send); flush sends what the
// cork gathered. The loads waiting for the pace stay for it: a journal
// message that carried them went out behind a write of up to the whole
// fleet (10,000 hosts are 2 MB) on every subscriber's connection, and the
// last subscriber's writer waited for all the others'.
func (h *Hub) writeQueued(s *subscriber, q queued, write func([]byte) error, flush func() error) error {
	if len(s.send) == 0 {
		return h.writeOne(s, q, write)
	}
	s.cork.cork()
	err := h.writeOne(s, q, write)
	for n := len(s.send); err == nil && n > 0; n-- {
		err = h.writeOne(s, <-s.send, write)
	}
	if e := flush(); err == nil {
		err = e
	}
	return err
}

// writeOne writes a queued frame; a host's load taken along by a journal
// message lets the box send the host's later loads again.
func (h *Hub) writeOne(s *subscriber, q queued, write func([]byte) error) error {
	err := write(q.frame)
	if q.loadOf != "" {
		s.loads.release(q.loadOf)
	}
	return err
}

// writeLoads writes, corked, the next chunk of the turn being sent to s;
// more says the turn has hosts left.
func (h *Hub) writeLoads(s *subscriber, write func([]byte) error, flush func() error) (more bool, err error) {
	loads, more := s.loads.takeChunk(turnChunk)
	if len(loads) == 0 {
		return more, nil
	}
	s.cork.cork()
	for _, l := range loads {
		if err = write(l); err != nil {
			break
		}
	}
	if e := flush(); err == nil {
		err = e
	}
	return more, err
}
