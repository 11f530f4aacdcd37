package server

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A command resent after a restart that found its segment's ids file
// deleted or damaged is acknowledged with its first seq, not applied again.
func TestResentCommandNotReappliedOverDamagedIDsFile(t *testing.T) {
	for name, damage := range map[string]func(string) error{
		"deleted": os.Remove,
		"garbage": func(p string) error { return os.WriteFile(p, []byte("14 bad bytes!\n"), 0o640) },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			jopts := journal.Options{SegmentBytes: 4 << 10}
			srv := startServerWith(t, dir, "", Options{}, jopts)
			srv.hub.Apply(protocol.Command{ID: "K-1", Actor: "a", Op: "declare", Title: "x", Severity: "SEV3", Kind: "outage"}, true, nil)
			var fifth Result
			for i := 2; i <= 120; i++ {
				res := srv.hub.Apply(protocol.Command{ID: fmt.Sprintf("K-%d", i), Actor: "a", Op: "note", Incident: "INC-1", Text: fmt.Sprintf("note %d", i)}, true, nil)
				if i == 5 {
					fifth = res
				}
			}
			srv.stop()
			ids, _ := filepath.Glob(filepath.Join(dir, "journal-*.ids"))
			if len(ids) < 3 {
				t.Fatalf("only %d ids files", len(ids))
			}
			// The segment that applied K-5 (at seq 6) is the second.
			if err := damage(ids[1]); err != nil {
				t.Fatal(err)
			}
			srv2 := startServerWith(t, dir, "", Options{}, jopts)
			before := srv2.hub.Seq()
			again := srv2.hub.Apply(protocol.Command{ID: "K-5", Actor: "a", Op: "note", Incident: "INC-1", Text: "note 5"}, true, nil)
			if string(again.Frame) != string(fifth.Frame) || srv2.hub.Seq() != before {
				t.Fatalf("K-5 first %s, resent %s; seq %d → %d", fifth.Frame, again.Frame, before, srv2.hub.Seq())
			}
		})
	}
}
