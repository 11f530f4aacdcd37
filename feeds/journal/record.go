package journal

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
)

// Format is the journal format this package writes: one record per line,
// "crc32c-hex SP json LF", the checksum over the JSON. Format 1 (plain JSON
// lines in journal.jsonl, no checksums) is still read and migrated.
const Format = 2

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is the first line of every segment (and of a format-1 file).
type header struct {
	Journal string `json:"journal"`
	Created string `json:"created"`
	Format  int    `json:"format"`
	First   uint64 `json:"first,omitempty"` // the segment's first seq
}

// record is one line: the messages one event produced, with the command
// that caused them if any. All of a line's messages are applied or none.
type record struct {
	Seq  uint64            `json:"seq"` // the first message's seq
	T    int64             `json:"t"`   // unix ms when appended
	Cmd  string            `json:"cmd,omitempty"`
	Msgs []json.RawMessage `json:"msgs"`
}

func (r *record) last() uint64 { return r.Seq + uint64(len(r.Msgs)) - 1 }

// encodeRecord writes the line of a record whose frames are already
// encoded; it builds the JSON by hand so each frame is kept byte for byte.
func encodeRecord(dst []byte, seq uint64, t int64, cmd string, frames [][]byte) []byte {
	start := len(dst)
	dst = append(dst, "00000000 "...)
	body := len(dst)
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"t":`...)
	dst = strconv.AppendInt(dst, t, 10)
	if cmd != "" {
		q, _ := json.Marshal(cmd)
		dst = append(dst, `,"cmd":`...)
		dst = append(dst, q...)
	}
	dst = append(dst, `,"msgs":[`...)
	for i, f := range frames {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, f...)
	}
	dst = append(dst, "]}"...)
	sum := crc32.Checksum(dst[body:], castagnoli)
	var crc [4]byte
	crc[0], crc[1], crc[2], crc[3] = byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)
	hex.Encode(dst[start:start+8], crc[:])
	return append(dst, '\n')
}

func encodeHeader(h header) []byte {
	b, _ := json.Marshal(h)
	return sealLine(b)
}

// sealLine prefixes a JSON body with its checksum and ends the line.
func sealLine(body []byte) []byte {
	line := make([]byte, 0, len(body)+10)
	line = fmt.Appendf(line, "%08x ", crc32.Checksum(body, castagnoli))
	line = append(line, body...)
	return append(line, '\n')
}

var errChecksum = errors.New("checksum mismatch")

// openLine checks a format-2 line (without its newline) and returns its
// JSON body.
func openLine(line []byte) ([]byte, error) {
	if len(line) < 10 || line[8] != ' ' {
		return nil, errors.New("not a checksummed record")
	}
	var crc [4]byte
	if _, err := hex.Decode(crc[:], line[:8]); err != nil {
		return nil, errors.New("not a checksummed record")
	}
	want := uint32(crc[0])<<24 | uint32(crc[1])<<16 | uint32(crc[2])<<8 | uint32(crc[3])
	body := line[9:]
	if crc32.Checksum(body, castagnoli) != want {
		return nil, errChecksum
	}
	return body, nil
}

// parseRecord reads a record body and checks its shape. Lines this
// package wrote are split by hand (their checksum vouches for their
// shape); anything else goes through encoding/json.
func parseRecord(body []byte) (record, error) {
	if r, ok := splitRecord(body); ok {
		return r, nil
	}
	var r record
	if err := json.Unmarshal(body, &r); err != nil {
		return r, err
	}
	if r.Seq == 0 || len(r.Msgs) == 0 {
		return r, errors.New("record without seq or messages")
	}
	return r, nil
}

// peek is what indexing needs of a message without decoding all of it.
type peek struct {
	Type     string          `json:"type"`
	Seq      uint64          `json:"seq"`
	Incident json.RawMessage `json:"incident"`
	// An entry's kind, and what a transition entry is about.
	Kind    string `json:"kind"`
	Host    string `json:"host"`
	Service string `json:"service"`
	Level   string `json:"level"`
	// Paging: a silence or override entry sets these.
	Silence  json.RawMessage `json:"silence"`
	Override json.RawMessage `json:"override"`
}

// startKey names what a message counts for in the start-up state beyond
// the replay window: "" for nothing, "publish" for a publish or delivery
// entry, a page and what paging journals (all kept), or the service or host whose newest transition it is.
func (p *peek) startKey() string {
	switch {
	case p.Type == "page":
		return "publish" // the paging engine is rebuilt from every page
	case p.Type != "entry":
		return ""
	case p.Kind == "publish" || p.Kind == "delivery":
		return "publish"
	case p.Kind == "page" || p.Kind == "ack" || len(p.Silence) > 0 || len(p.Override) > 0:
		return "publish" // notifications sent, acknowledgements, silences, overrides
	case p.Host != "" && p.Service != "":
		return "s\x00" + p.Host + "\x00" + p.Service
	case p.Host != "" && p.Level != "":
		return "l\x00" + p.Host
	}
	return ""
}

// incidentOf returns the message's type and the incident it belongs to:
// an entry's incident field, or an incident frame's incident.id.
func incidentOf(frame []byte) (typ string, seq uint64, id string, err error) {
	p, id, err := peekFrame(frame)
	return p.Type, p.Seq, id, err
}

// peekFrame reads what indexing needs of a frame, and its incident.
func peekFrame(frame []byte) (p peek, id string, err error) {
	if err := json.Unmarshal(frame, &p); err != nil {
		return p, "", err
	}
	switch {
	case len(p.Incident) == 0 || bytes.Equal(p.Incident, []byte("null")):
	case p.Incident[0] == '"':
		err = json.Unmarshal(p.Incident, &id)
	case p.Incident[0] == '{':
		var in struct {
			ID string `json:"id"`
		}
		err = json.Unmarshal(p.Incident, &in)
		id = in.ID
	}
	return p, id, err
}

// splitRecord parses the exact shape encodeRecord writes,
// {"seq":N,"t":T[,"cmd":"…"],"msgs":[f,…]}, without a JSON decoder: the
// frames are cut at their closing braces, skipping strings. The frames
// share one copy of the body. ok is false for any other shape.
func splitRecord(body []byte) (r record, ok bool) {
	rest, ok := bytes.CutPrefix(body, []byte(`{"seq":`))
	if !ok {
		return r, false
	}
	var n int
	if r.Seq, n = leadingUint(rest); n == 0 {
		return r, false
	}
	if rest, ok = bytes.CutPrefix(rest[n:], []byte(`,"t":`)); !ok {
		return r, false
	}
	neg := len(rest) > 0 && rest[0] == '-'
	if neg {
		rest = rest[1:]
	}
	t, n := leadingUint(rest)
	if n == 0 {
		return r, false
	}
	r.T = int64(t)
	if neg {
		r.T = -r.T
	}
	rest = rest[n:]
	if c, ok := bytes.CutPrefix(rest, []byte(`,"cmd":`)); ok {
		end := stringEnd(c)
		if end < 0 || json.Unmarshal(c[:end], &r.Cmd) != nil {
			return r, false
		}
		rest = c[end:]
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"msgs":[`)); !ok {
		return r, false
	}
	rest = bytes.Clone(rest)
	for len(rest) > 0 && rest[0] == '{' {
		end := objectEnd(rest)
		if end < 0 {
			return r, false
		}
		r.Msgs = append(r.Msgs, json.RawMessage(rest[:end:end]))
		rest = rest[end:]
		if len(rest) > 0 && rest[0] == ',' {
			rest = rest[1:]
		}
	}
	if string(rest) != "]}" || r.Seq == 0 || len(r.Msgs) == 0 {
		return r, false
	}
	return r, true
}

func leadingUint(b []byte) (uint64, int) {
	var v uint64
	i := 0
	for ; i < len(b) && i < 20 && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + uint64(b[i]-'0')
	}
	return v, i
}

// stringEnd returns the length of the JSON string b starts with, -1 if
// it does not start with a whole one.
func stringEnd(b []byte) int {
	if len(b) == 0 || b[0] != '"' {
		return -1
	}
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// objectEnd returns the length of the JSON object b starts with, -1 if
// it does not start with a whole one.
func objectEnd(b []byte) int {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			n := stringEnd(b[i:])
			if n < 0 {
				return -1
			}
			i += n - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}
