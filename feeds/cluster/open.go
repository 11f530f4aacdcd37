package cluster

import (
	"context"
	"log/slog"

	"github.com/vigil-oncall/vigil/feeds/config"
	"github.com/vigil-oncall/vigil/feeds/journal"
)

// OpenJournal opens a hub's journal as one of the cluster [serve.cluster]
// names: it starts this hub's embedded nats-server and opens the
// journal's stream through it, waiting for a majority of the peers until
// ctx ends. It returns the journal and what closes it (journal, connection
// and node). It is server.Run's JournalOpener.
func OpenJournal(ctx context.Context, s config.Serve, log *slog.Logger) (journal.Backend, func(), error) {
	c := s.Cluster
	routeTLS, err := c.RouteTLS()
	if err != nil {
		return nil, nil, err
	}
	node, err := StartNode(NodeConfig{Server: c.Listen, Cluster: c.Name, Listen: c.Listen, Peers: c.Peers, DataDir: s.DataDir, Logger: log, TLS: routeTLS})
	if err != nil {
		return nil, nil, err
	}
	nc, err := node.Connect("vigil-hub")
	if err != nil {
		node.Shutdown()
		return nil, nil, err
	}
	log.Info("cluster: node started; opening the journal's stream", "cluster", c.Name, "listen", c.Listen, "peers", c.Peers)
	j, err := Open(ctx, nc, s.DataDir, Options{
		Replicas: node.Size(), CommitTimeout: c.CommitTimeout.Duration, SegmentBytes: s.JournalSegmentMiB << 20,
		Logger: log, Quorum: node.Quorum, Reaches: node.Reaches, Routed: node.Routed,
	})
	if err != nil {
		nc.Close()
		node.Shutdown()
		return nil, nil, err
	}
	return j, func() { j.Close(); nc.Close(); node.Shutdown() }, nil
}
