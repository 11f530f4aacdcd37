// Package journal is the feed server's incident journal: an append-only
// file of JSON lines, each written and fsynced before anything it holds is
// broadcast or acknowledged, replayed on start. A torn last line (a crash
// mid-write) is detected, reported and cut off without losing the records
// before it.
package journal

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// FileName is the journal's file inside the data directory.
const FileName = "journal.jsonl"

// File is what the journal writes to; tests inject one that fails.
type File interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

type header struct {
	Journal string        `json:"journal"`
	Created protocol.Time `json:"created"`
	Format  int           `json:"format"`
}

// record is one line: the messages one event produced, with the command
// that caused them if any. All of a line's messages are applied or none.
type record struct {
	Cmd  string            `json:"cmd,omitempty"`
	Msgs []json.RawMessage `json:"msgs"`
}

// Message is one journal message: an *protocol.IncidentMsg or *protocol.Entry
// and its encoded frame.
type Message struct {
	Seq   uint64
	Msg   protocol.Message
	Frame []byte
}

// Recovery says what Open found wrong and repaired.
type Recovery struct {
	TornBytes int // bytes of an incomplete last line that were cut off
	TornLine  int // its line number
}

// Journal is an open journal. It is not safe for concurrent use: the
// server serializes appends.
type Journal struct {
	id      string
	path    string
	f       File
	size    int64
	msgs    []Message // index seq-1
	applied map[string]uint64
}

// Open opens or creates the journal in dir and replays it.
func Open(dir string) (*Journal, Recovery, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, Recovery{}, fmt.Errorf("journal: %w", err)
	}
	path := filepath.Join(dir, FileName)
	// O_APPEND: after cutting a half-written line, the next write lands at
	// the new end, whatever the file offset was.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, Recovery{}, fmt.Errorf("journal: %w", err)
	}
	j, rec, err := load(f, path)
	if err != nil {
		f.Close()
		return nil, rec, err
	}
	return j, rec, nil
}

func load(f *os.File, path string) (*Journal, Recovery, error) {
	var rec Recovery
	j := &Journal{path: path, f: f, applied: map[string]uint64{}}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, rec, fmt.Errorf("journal %s: %w", path, err)
	}
	good := 0 // bytes of complete, valid lines
	line := 0
	for len(data[good:]) > 0 {
		rest := data[good:]
		line++
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			rec = Recovery{TornBytes: len(rest), TornLine: line}
			break
		}
		if err := j.replayLine(rest[:nl], line); err != nil {
			if good+nl+1 == len(data) {
				// The last line is damaged: a write cut short by a crash.
				rec = Recovery{TornBytes: nl + 1, TornLine: line}
				break
			}
			return nil, rec, fmt.Errorf("journal %s line %d: %v; the file is damaged before its end, refusing to guess", path, line, err)
		}
		good += nl + 1
	}
	if rec.TornBytes > 0 {
		if err := f.Truncate(int64(good)); err != nil {
			return nil, rec, fmt.Errorf("journal %s: cutting torn line %d: %w", path, rec.TornLine, err)
		}
	}
	if _, err := f.Seek(int64(good), io.SeekStart); err != nil {
		return nil, rec, err
	}
	j.size = int64(good)
	if j.id == "" {
		var r [6]byte
		rand.Read(r[:])
		j.id = "j-" + hex.EncodeToString(r[:])
		h, _ := json.Marshal(header{Journal: j.id, Created: protocol.At(time.Now()), Format: 1})
		if err := j.write(append(h, '\n')); err != nil {
			return nil, rec, err
		}
	}
	return j, rec, nil
}

func (j *Journal) replayLine(line []byte, n int) error {
	if n == 1 {
		var h header
		if err := json.Unmarshal(line, &h); err != nil || h.Journal == "" {
			return errors.New("not a vigil journal header")
		}
		j.id = h.Journal
		return nil
	}
	var r record
	if err := json.Unmarshal(line, &r); err != nil {
		return err
	}
	msgs := make([]Message, 0, len(r.Msgs))
	for _, raw := range r.Msgs {
		m, err := protocol.Decode(raw)
		if err != nil {
			return err
		}
		seq := seqOf(m)
		if seq != uint64(len(j.msgs)+len(msgs)+1) {
			return fmt.Errorf("seq %d out of order", seq)
		}
		msgs = append(msgs, Message{Seq: seq, Msg: m, Frame: []byte(raw)})
	}
	j.msgs = append(j.msgs, msgs...)
	if r.Cmd != "" && len(msgs) > 0 {
		j.applied[r.Cmd] = msgs[len(msgs)-1].Seq
	}
	return nil
}

func seqOf(m protocol.Message) uint64 {
	switch v := m.(type) {
	case *protocol.IncidentMsg:
		return v.Seq
	case *protocol.Entry:
		return v.Seq
	}
	return 0
}

// SetFile replaces the file written to; tests use it to inject a failing
// disk.
func (j *Journal) SetFile(f File) { j.f = f }

// ID is the journal's stable identity.
func (j *Journal) ID() string { return j.id }

// Seq is the newest seq written (0 when empty).
func (j *Journal) Seq() uint64 { return uint64(len(j.msgs)) }

// Messages returns every message with seq > since, in order. The slice
// shares storage with the journal; callers must not modify it.
func (j *Journal) Messages(since uint64) []Message {
	if since >= uint64(len(j.msgs)) {
		return nil
	}
	return j.msgs[since:len(j.msgs):len(j.msgs)]
}

// Applied returns the seq a command id was acknowledged with, if applied.
func (j *Journal) Applied(cmdID string) (uint64, bool) {
	seq, ok := j.applied[cmdID]
	return seq, ok
}

// Append assigns seqs to msgs (each an *protocol.IncidentMsg or
// *protocol.Entry), writes them as one line and fsyncs. On error nothing is
// kept: the journal is as before.
func (j *Journal) Append(cmdID string, msgs ...protocol.Message) ([]Message, error) {
	next := uint64(len(j.msgs))
	out := make([]Message, len(msgs))
	r := record{Cmd: cmdID, Msgs: make([]json.RawMessage, len(msgs))}
	for i, m := range msgs {
		next++
		switch v := m.(type) {
		case *protocol.IncidentMsg:
			v.Seq = next
		case *protocol.Entry:
			v.Seq = next
		default:
			return nil, fmt.Errorf("journal: %T is not a journal message", m)
		}
		frame, err := protocol.Encode(m)
		if err != nil {
			return nil, err
		}
		r.Msgs[i] = frame
		out[i] = Message{Seq: next, Msg: m, Frame: frame}
	}
	line, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if err := j.write(append(line, '\n')); err != nil {
		return nil, err
	}
	j.msgs = append(j.msgs, out...)
	if cmdID != "" && len(out) > 0 {
		j.applied[cmdID] = out[len(out)-1].Seq
	}
	return out, nil
}

func (j *Journal) write(line []byte) error {
	n, err := j.f.Write(line)
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		// Cut what was half-written, so the next append starts clean.
		if n > 0 {
			j.f.Truncate(j.size)
		}
		return fmt.Errorf("journal write: %w", err)
	}
	j.size += int64(n)
	return nil
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

// ReadFile reads a journal file without opening it for writing, for
// export: every message in order. A torn last line is skipped and reported.
func ReadFile(path string) ([]Message, Recovery, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Recovery{}, err
	}
	defer f.Close()
	j := &Journal{path: path, applied: map[string]uint64{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var lines [][]byte
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		return nil, Recovery{}, fmt.Errorf("journal %s: %w", path, err)
	}
	var rec Recovery
	for i, line := range lines {
		if err := j.replayLine(line, i+1); err != nil {
			if i == len(lines)-1 && i > 0 {
				rec = Recovery{TornBytes: len(line), TornLine: i + 1}
				break
			}
			return nil, rec, fmt.Errorf("journal %s line %d: %v", path, i+1, err)
		}
	}
	if j.id == "" {
		return nil, rec, fmt.Errorf("journal %s: empty or not a vigil journal", path)
	}
	return j.msgs, rec, nil
}

// File returns the file written to.
func (j *Journal) File() File { return j.f }
