package history

import (
	"context"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Backend is the load history a hub keeps and answers from.
type Backend interface {
	Add(l protocol.Load)
	LoadSamples(ctx context.Context, host string, from, to time.Time, limit int) ([]protocol.LoadSample, bool, error)
	LoadsAt(ctx context.Context, at time.Time) ([]protocol.Load, error)
	// Run does the backend's writing until ctx ends.
	Run(ctx context.Context)
}

// ForHub is the history [serve.history] asks for: Prometheus's where a
// URL is set, else the hub's own store in dataDir.
func ForHub(dataDir, prometheusURL string) (Backend, error) {
	if prometheusURL != "" {
		return &Prometheus{URL: prometheusURL}, nil
	}
	return Open(dataDir, nil)
}

// Run does nothing: Prometheus scrapes on its own.
func (p *Prometheus) Run(ctx context.Context) {}
