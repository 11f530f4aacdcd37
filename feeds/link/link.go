// Package link is what every vigil.v1 connection shares, whichever end
// dials: its clocks, derived from the protocol's ping period; the backoff
// between tries; and how a connection's end is put in words. The feed
// client, the agent and the hub use it, so the numbers are written once.
package link

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// PingPeriod is how often a server pings (PROTOCOL.md: at least every
// 15 s); a peer silent for DeadAfter, three of them, is gone.
const (
	PingPeriod = 15 * time.Second
	DeadAfter  = 3 * PingPeriod
)

// Timings are a dialing end's clocks. Tests shrink them to milliseconds.
type Timings struct {
	DeadAfter        time.Duration // no frame for this long: the connection is dead
	WriteWait        time.Duration // deadline of one write
	HandshakeTimeout time.Duration
	BackoffMin       time.Duration // first retry ceiling
	BackoffMax       time.Duration // retry ceiling, and the delay after a refusal
	StableAfter      time.Duration // a connection up this long resets the backoff
	CloseWait        time.Duration // how long to wait for the peer's close reply
}

// DefaultTimings are the protocol's.
func DefaultTimings() Timings {
	return Timings{
		DeadAfter:        DeadAfter,
		WriteWait:        10 * time.Second,
		HandshakeTimeout: 10 * time.Second,
		BackoffMin:       500 * time.Millisecond,
		BackoffMax:       30 * time.Second,
		StableAfter:      30 * time.Second,
		CloseWait:        time.Second,
	}
}

// Backoff is "full jitter": uniform in [0, min(hi, lo*2^attempt)], so a
// fleet whose hub came back does not reconnect in step.
func Backoff(attempt int, lo, hi time.Duration) time.Duration {
	ceiling := hi
	if attempt < 30 {
		if c := lo << attempt; c > 0 && c < hi {
			ceiling = c
		}
	}
	if ceiling <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(ceiling) + 1))
}

// Describe says why a connection to peer ("server", "hub") ended, in the
// words a responder reads on screen or in a log.
func Describe(err error, peer string) string {
	if err == nil {
		return "connection closed"
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		reason := ce.Text
		if ce.Code == websocket.CloseMessageTooBig {
			reason = "frame larger than 1 MiB"
		}
		if ce.Code == websocket.CloseAbnormalClosure {
			return "connection lost: " + reason
		}
		if reason == "" {
			reason = "no reason given"
		}
		return fmt.Sprintf("closed by %s (%d): %s", peer, ce.Code, reason)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out: " + err.Error()
	}
	return err.Error()
}
