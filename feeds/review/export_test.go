package review

import (
	"context"
	"testing"

	"github.com/vigil-oncall/vigil/feeds/export"
	"github.com/vigil-oncall/vigil/feeds/review/reviewtest"
)

// vigil export draws the load sparklines from the hub's history, from the
// data directory and over the feed alike.
func TestExportDrawsLoadFromTheHubsHistory(t *testing.T) {
	h := reviewtest.November(t)
	fromFeed, err := export.FromFeed(context.Background(), h.URL, "", "INC-4")
	if err != nil {
		t.Fatal(err)
	}
	h.Stop()
	fromDir, err := export.FromJournal(h.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]export.Source{"feed": fromFeed, "journal": fromDir} {
		r, err := export.Build(src, "INC-4")
		if err != nil {
			t.Fatal(err)
		}
		if r.NoLoadHistory || len(r.LoadPeaks) == 0 {
			t.Fatalf("%s: no load peaks", name)
		}
		pk := r.LoadPeaks[0]
		// From 01:50 (its first report; the window opens 30 minutes before
		// the 02:12 declaration) to the 03:42 resolution, at 10 s.
		if pk.Host != "shared-04" || pk.Load1 != 9.8 || len(pk.Samples) != 673 || pk.Spark == "" {
			t.Fatalf("%s: peak %s %.2f over %d samples %q", name, pk.Host, pk.Load1, len(pk.Samples), pk.Spark)
		}
	}
}
