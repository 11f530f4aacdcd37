package cluster

import (
	"testing"

	"github.com/nats-io/nats.go"
)

// FuzzRecordsOf: whatever headers another hub (or anything with the
// stream's subject) wrote, a message either splits into records that
// cover its frames exactly, each with a command id slot, or is refused.
func FuzzRecordsOf(f *testing.F) {
	f.Add("", "", "c-1", 1)
	f.Add("2,1,1", `["c-1","","c-3"]`, "", 4)
	f.Add("2,1", `["c-1"]`, "", 3)
	f.Add("0,3", `["a","b"]`, "", 3)
	f.Add("-1,5", `["a","b"]`, "", 4)
	f.Fuzz(func(t *testing.T, counts, cmds, cmd string, frames int) {
		hdr := nats.Header{}
		if counts != "" {
			hdr.Set(hdrCounts, counts)
		}
		hdr.Set(hdrCmds, cmds)
		hdr.Set(hdrCmd, cmd)
		got, ids, err := recordsOf(hdr, frames)
		if err != nil {
			return
		}
		total := 0
		for _, n := range got {
			if n <= 0 {
				t.Fatalf("a record of %d messages from %q", n, counts)
			}
			total += n
		}
		if total != frames || len(ids) != len(got) {
			t.Fatalf("%q over %d frames: counts %v, ids %v", counts, frames, got, ids)
		}
	})
}
