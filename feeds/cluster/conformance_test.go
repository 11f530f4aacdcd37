package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/journal/journaltest"
)

// The JetStream backend passes the tests every backend passes, on one
// node (a reopen keeps the node and opens the journal anew over it).
func TestJetStreamBackendConformance(t *testing.T) {
	clusterTest(t)
	var mu sync.Mutex
	nodes := map[string]*Node{}
	journaltest.Run(t, func(t testing.TB, dir string) journal.Backend {
		t.Helper()
		mu.Lock()
		node := nodes[dir]
		if node == nil {
			var err error
			node, err = StartNode(NodeConfig{Server: "solo", Cluster: "vigil-test", Listen: freeAddrs(t, 1)[0], DataDir: dir})
			if err != nil {
				mu.Unlock()
				t.Fatal(err)
			}
			nodes[dir] = node
			t.Cleanup(node.Shutdown)
		}
		mu.Unlock()
		nc, err := node.Connect("solo")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		j, err := Open(ctx, nc, dir, Options{Quorum: node.Quorum})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Close(); nc.Close() })
		return j
	})
}
