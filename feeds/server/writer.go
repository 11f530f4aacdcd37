package server

import (
	"errors"
	"time"

	"github.com/gorilla/websocket"
)

// connWriter is a connection's one writer: the replay, then queued
// frames, the paced loads and pings, until the subscriber is dropped
// (it gets its close frame), the connection fails, or the reader ends.
type connWriter struct {
	h          *Hub
	s          *subscriber
	readerDone <-chan struct{}
	// watchdog: a frame that has not gone out after WriteWait means the
	// peer is not reading, and it is dropped as too slow. The write itself
	// may take twice as long, so a peer that reads again soon after still
	// gets the frame in flight and then the 1013 close frame; a write that
	// timed out would leave the connection unable to send any close frame.
	watchdog *time.Timer
}

func (h *Hub) write(s *subscriber, first *replay, readerDone <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	w := &connWriter{h: h, s: s, readerDone: readerDone}
	w.watchdog = time.AfterFunc(time.Hour, func() {
		h.mu.Lock()
		h.dropSlowLocked(s, tooSlowWrite)
		h.mu.Unlock()
	})
	w.watchdog.Stop()
	defer w.watchdog.Stop()
	if w.ended(h.sendReplay(s, first, w.write, w.flush)) {
		return
	}
	w.loop()
}

func (w *connWriter) loop() {
	h, s := w.h, w.s
	ping := time.NewTicker(h.opts.PingPeriod)
	defer ping.Stop()
	pace := time.NewTimer(time.Hour)
	pace.Stop()
	defer pace.Stop()
	var paced <-chan time.Time   // armed while loads wait for the turn
	var chunked <-chan time.Time // armed while a turn is being sent
	var gap time.Duration        // between the chunks of the turn being sent
	armPace := func() {
		pace.Reset(untilPace(time.Now(), h.opts.LoadPace, s.paceAt))
		paced = pace.C
	}
	for {
		select {
		case <-s.kill: // before anything else queued
			w.closeAndWait()
			return
		default:
		}
		var err error
		sendChunk := false
		select {
		case q := <-s.send:
			err = h.writeQueued(s, q, w.write, w.flush)
		case <-s.loads.ready:
			if paced == nil && chunked == nil { // armed already: a reset could lose a turn that fired
				armPace()
			}
		case <-paced:
			paced = nil
			gap = h.opts.turnGap
			if hosts := s.loads.startTurn(); gap == 0 {
				gap = chunkGap(hosts, h.opts.LoadPace)
			}
			sendChunk = true
		case <-chunked:
			chunked = nil
			sendChunk = true
		case <-ping.C:
			err = w.send(websocket.PingMessage, nil)
		case <-s.kill:
			err = errKilled
		case <-w.readerDone:
			return
		}
		if sendChunk {
			var more bool
			more, err = h.writeLoads(s, w.write, w.flush)
			switch {
			case more:
				chunked = time.After(gap)
			case s.loads.waiting():
				armPace()
			}
		}
		if w.ended(err) {
			return
		}
	}
}

// ended ends the connection after a write that did not go: a dropped
// subscriber is sent its close frame, a failed connection is closed. It
// reports whether the writer is done.
func (w *connWriter) ended(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, errKilled):
		w.closeAndWait()
	default:
		w.fail(err)
	}
	return true
}

// send writes one frame under the watchdog.
func (w *connWriter) send(mt int, frame []byte) error {
	w.watchdog.Reset(w.h.opts.WriteWait)
	defer w.watchdog.Stop()
	deadline := time.Now().Add(2 * w.h.opts.WriteWait)
	if mt == websocket.PingMessage {
		return w.s.conn.WriteControl(mt, nil, deadline)
	}
	w.s.conn.SetWriteDeadline(deadline)
	return w.s.conn.WriteMessage(mt, frame)
}

// write sends a text frame, unless the subscriber was dropped meanwhile:
// a dropped subscriber is sent nothing more than its close frame.
func (w *connWriter) write(frame []byte) error {
	select {
	case <-w.s.kill:
		return errKilled
	default:
	}
	return w.send(websocket.TextMessage, frame)
}

// flush writes what a corked drain gathered, watched like a frame.
func (w *connWriter) flush() error {
	w.watchdog.Reset(w.h.opts.WriteWait)
	defer w.watchdog.Stop()
	return w.s.cork.uncork()
}

func (w *connWriter) fail(err error) {
	w.h.log.Info("subscriber connection ended", "remote", w.s.remote, "err", err)
	w.s.conn.Close() // the reader sees the failure and ends
	<-w.readerDone
}

// closeAndWait sends the close frame, whatever is still queued (it must
// not wait behind it), and waits for the peer's answer.
func (w *connWriter) closeAndWait() {
	if err := w.s.conn.WriteControl(websocket.CloseMessage, closeFrame(w.s.code, w.s.reason), time.Now().Add(w.h.opts.WriteWait)); err != nil {
		w.fail(err)
		return
	}
	select {
	case <-w.readerDone:
	case <-time.After(w.h.opts.WriteWait):
		w.fail(errors.New("no close frame in answer"))
	}
}
