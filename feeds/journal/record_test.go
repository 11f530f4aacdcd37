package journal

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// The hand split of a record must read back exactly what encodeRecord
// wrote, and agree with encoding/json.
func FuzzRecordRoundTrip(f *testing.F) {
	f.Add(uint64(1), int64(1700000000000), "c-1", "plain")
	f.Add(uint64(42), int64(-5), `c-"quoted"\`, `braces } { ] [ and "quotes" \ and <html> & ü`)
	f.Add(uint64(1<<63), int64(0), "", "")
	f.Fuzz(func(t *testing.T, seq uint64, at int64, cmd, text string) {
		if seq == 0 {
			seq = 1
		}
		e := &protocol.Entry{Seq: seq, Kind: "note", Text: text, Actor: cmd}
		in := &protocol.IncidentMsg{Seq: seq + 1, Incident: protocol.Incident{ID: cmd, Title: text, Status: "investigating"}}
		frames := [][]byte{protocol.MustEncode(e), protocol.MustEncode(in)}
		line := encodeRecord(nil, seq, at, cmd, frames)
		body, err := openLine(line[:len(line)-1])
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := splitRecord(body)
		if !ok {
			t.Fatalf("could not split what was written: %s", body)
		}
		var slow record
		if err := json.Unmarshal(body, &slow); err != nil {
			t.Fatalf("written record is not JSON: %v", err)
		}
		// (JSON carries invalid UTF-8 as U+FFFD; command ids are checked
		// as UTF-8 before they get here.)
		if fast.Seq != seq || fast.T != at || fast.Cmd != slow.Cmd || (utf8.ValidString(cmd) && fast.Cmd != cmd) || len(fast.Msgs) != 2 {
			t.Fatalf("split %+v from %s", fast, body)
		}
		for i := range frames {
			if !bytes.Equal(fast.Msgs[i], frames[i]) || !bytes.Equal(slow.Msgs[i], frames[i]) {
				t.Fatalf("frame %d: %s / %s, want %s", i, fast.Msgs[i], slow.Msgs[i], frames[i])
			}
		}
	})
}
