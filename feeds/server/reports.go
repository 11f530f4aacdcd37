package server

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gorilla/websocket"
)

// What a reporter says is journaled, paged on and shown as the truth
// about a host: a value that cannot be true is refused with the reason,
// never stored as something else (a zero, a host that is never stale).
const (
	maxInterval = 24 * time.Hour
	maxLoadAvg  = 1e6 // far past any machine's run queue
	maxCPUs     = 1 << 20
)

// checkLoadValues refuses a load sample that cannot be true.
func checkLoadValues(l loadValues) error {
	if l.interval <= 0 || l.interval > maxInterval {
		return fmt.Errorf("load of %s: interval %s: a host reports every 1ms to 24h", l.host, l.interval)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"load1", l.load1}, {"load5", l.load5}, {"load15", l.load15}} {
		if math.IsNaN(v.v) || v.v < 0 || v.v > maxLoadAvg {
			return fmt.Errorf("load of %s: %s %g: a load average is between 0 and %g", l.host, v.name, v.v, float64(maxLoadAvg))
		}
	}
	if l.cpus < 0 || l.cpus > maxCPUs {
		return fmt.Errorf("load of %s: cpus %d: not a number of CPUs", l.host, l.cpus)
	}
	if m := l.memUsedPct; m != nil && (math.IsNaN(*m) || *m < 0 || *m > 100) {
		return fmt.Errorf("load of %s: mem_used_pct %g: a percentage is between 0 and 100", l.host, *m)
	}
	return nil
}

// loadValues is what checkLoadValues reads of a sample.
type loadValues struct {
	host                 string
	interval             time.Duration
	load1, load5, load15 float64
	cpus                 int
	memUsedPct           *float64
}

// errBinary: PROTOCOL.md says a binary frame is a protocol error; the
// connection is closed with 1003.
var errBinary = errors.New("binary frames are not part of vigil.v1")

// dropBinary closes a subscriber's connection that sent
// a binary frame.
func (h *Hub) dropBinary(s *subscriber) {
	s.killOnce.Do(func() {
		s.reason, s.code = errBinary.Error(), websocket.CloseUnsupportedData
		close(s.kill)
		h.log.Info("closed a connection that sent a binary frame", "remote", s.remote)
	})
}

// refused logs a report of this agent's that was refused: the first, and
// then one in a hundred, so an agent sending nonsense every second says
// so without filling the log. Only the agent's reader calls it.
func (ac *agentConn) refused(h *Hub, err error) {
	ac.refusals++
	if ac.refusals == 1 || ac.refusals%100 == 0 {
		h.log.Warn("agent report refused", "agent", ac.name, "refused", ac.refusals, "err", err)
	}
}
