package export

import (
	"context"
	"time"

	"github.com/vigil-oncall/vigil/feeds/history"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// LoadHistory is where an export reads the hosts' load over a window.
type LoadHistory interface {
	Loads(ctx context.Context, from, to time.Time) ([]server.LoadPeak, error)
}

// storeHistory reads a hub's own history store in its data directory.
type storeHistory struct{ s *history.Store }

// historyLimit bounds the samples read of one host for one report.
const historyLimit = 20_000

func (h storeHistory) Loads(ctx context.Context, from, to time.Time) ([]server.LoadPeak, error) {
	var out []server.LoadPeak
	for _, host := range h.s.Hosts() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		samples, _, err := h.s.Samples(host, from, to, historyLimit)
		if err != nil {
			return nil, err
		}
		out = append(out, peaks(host, samples)...)
	}
	return out, nil
}

func peaks(host string, samples []protocol.LoadSample) []server.LoadPeak {
	out := make([]server.LoadPeak, 0, len(samples))
	for _, x := range samples {
		out = append(out, server.LoadPeak{Host: host, At: x.At, Load1: x.Load1, CPUs: x.CPUs})
	}
	return out
}
