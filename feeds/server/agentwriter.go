package server

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// agentWriter writes to an agent without a goroutine of its own. An
// agent's connection is read all the time and written to rarely (a ping
// each PingPeriod, a collect command now and then, the close), and ten
// thousand agents must not hold ten thousand idle writers: each write is
// a short goroutine of its own, bounded by its deadline, at most
// agentQueue of them at a time.
type agentWriter struct {
	conn       *websocket.Conn
	wait       time.Duration
	mu         sync.Mutex // one message at a time on the connection
	inflight   atomic.Int32
	ping       *time.Timer
	stopped    atomic.Bool
	closeOnce  sync.Once
	readerDone chan struct{}
}

func newAgentWriter(conn *websocket.Conn, wait, pingEvery time.Duration) *agentWriter {
	w := &agentWriter{conn: conn, wait: wait, readerDone: make(chan struct{})}
	// Armed once held in w.ping, which the first ping resets.
	w.ping = time.AfterFunc(time.Hour, func() { w.pingNow(pingEvery) })
	w.ping.Reset(pingEvery)
	return w
}

// pingNow pings the agent and sets the next ping; a ping that cannot be
// written closes the connection, which ends its reader.
func (w *agentWriter) pingNow(every time.Duration) {
	if w.stopped.Load() {
		return
	}
	if err := w.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(2*w.wait)); err != nil {
		w.conn.Close()
		return
	}
	if !w.stopped.Load() {
		w.ping.Reset(every)
	}
}

// send writes frame to the agent; false says agentQueue frames are
// still on their way and this one was not taken. A frame that cannot be
// written within its deadline closes the connection.
func (w *agentWriter) send(frame []byte) bool {
	if w.inflight.Add(1) > agentQueue {
		w.inflight.Add(-1)
		return false
	}
	go func() {
		defer w.inflight.Add(-1)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.conn.SetWriteDeadline(time.Now().Add(2 * w.wait))
		if err := w.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
			w.conn.Close()
		}
	}()
	return true
}

// close sends the close frame, once, and closes the connection when the
// agent does not answer it within the wait; it reports whether this was
// the first close.
func (w *agentWriter) close(code int, reason string) (first bool) {
	w.closeOnce.Do(func() {
		first = true
		go func() {
			if err := w.conn.WriteControl(websocket.CloseMessage, closeFrame(code, reason), time.Now().Add(w.wait)); err != nil {
				w.conn.Close()
				return
			}
			t := time.NewTimer(w.wait)
			defer t.Stop()
			select {
			case <-w.readerDone:
			case <-t.C:
				w.conn.Close()
			}
		}()
	})
	return first
}

// stop ends the pings once the agent's reader has ended.
func (w *agentWriter) stop() {
	w.stopped.Store(true)
	w.ping.Stop()
	close(w.readerDone)
}
