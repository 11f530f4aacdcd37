package journal_test

import (
	"testing"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/journal/journaltest"
)

// The file journal passes the tests every backend passes (the cluster's
// JetStream backend runs them too, in feeds/cluster).
func TestFileBackendConformance(t *testing.T) {
	journaltest.Run(t, func(t testing.TB, dir string) journal.Backend {
		t.Helper()
		j, _, err := journal.OpenWith(dir, journal.Options{SegmentBytes: 8 << 10})
		if err != nil {
			t.Fatal(err)
		}
		return j
	})
}
