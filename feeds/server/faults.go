package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Reasons a subscriber is dropped as too slow (close code 1013, try again
// later): its queue filled, or one frame waited WriteWait to go out.
const (
	tooSlow      = "too slow: fell more than the queue behind"
	tooSlowWrite = "too slow: a frame waited for the write deadline"
)

// dropSlowLocked drops a subscriber that cannot keep up, so it slows
// nobody else and grows no memory, and logs it once. h.mu is held.
func (h *Hub) dropSlowLocked(s *subscriber, reason string) {
	delete(h.subs, s)
	if s.drop(reason) {
		h.log.Warn("dropped slow subscriber", "remote", s.remote, "reason", reason)
	}
}

// maxCloseReason is what a close frame's payload holds after its code.
const maxCloseReason = 123

// closeFrame is a close frame's payload; a reason too long for a control
// frame is cut (on a rune boundary), since gorilla refuses to send it at
// all and the peer would learn nothing.
func closeFrame(code int, reason string) []byte {
	if len(reason) > maxCloseReason {
		cut := maxCloseReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	return websocket.FormatCloseMessage(code, reason)
}

// subscribeRefusal is the close code and reason for a connection whose
// first frame was not a usable subscribe; a client that sent nothing is
// told so in words rather than with a socket's "i/o timeout".
func (h *Hub) subscribeRefusal(err error) (int, string) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return websocket.ClosePolicyViolation, fmt.Sprintf("no subscribe within %s of hello", h.opts.WriteWait)
	}
	if errors.Is(err, errBinary) {
		return websocket.CloseUnsupportedData, err.Error()
	}
	return websocket.CloseProtocolError, err.Error()
}

// logReadEnd logs why a subscriber's reader ended where it is worth an
// operator's attention: a peer that stopped answering pings.
func (h *Hub) logReadEnd(s *subscriber, err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		h.log.Warn("dropped subscriber: no frame or pong", "remote", s.remote, "within", 3*h.opts.PingPeriod)
		return
	}
	if websocket.IsUnexpectedCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseTryAgainLater) {
		h.log.Debug("subscriber went away", "remote", s.remote, "err", err)
	}
}

// nackMalformed answers a command frame that could not be read but names
// its id: the client hears why at once instead of resending it forever.
// Frames without a readable id cannot be answered and are only dropped.
func nackMalformed(data []byte, decodeErr error) ([]byte, bool) {
	var env struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	}
	json.Unmarshal(data, &env) // a mistyped field leaves the others read
	if env.Type != protocol.TypeCommand || env.ID == "" {
		return nil, false
	}
	frame := protocol.MustEncode(&protocol.Nack{ID: env.ID, Code: protocol.CodeInvalid, Error: "malformed command: " + decodeErr.Error()})
	return frame, protocol.FitsFrame(frame)
}
