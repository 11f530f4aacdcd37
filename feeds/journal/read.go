package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// segView is a segment as far as it is durable, taken under the lock so a
// reader needs none while it reads.
type segView struct {
	first, last uint64
	path        string
	size        int64
	points      []point
}

func (j *Journal) views() []segView {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]segView, 0, len(j.segs))
	for _, s := range j.segs {
		if s.last >= s.first {
			out = append(out, segView{first: s.first, last: s.last, path: s.path, size: s.size, points: s.points})
		}
	}
	return out
}

// pointFor returns the index point at or before seq.
func (v *segView) pointFor(seq uint64) point {
	i := sort.Search(len(v.points), func(i int) bool { return v.points[i].Seq > seq })
	if i == 0 {
		return v.points[0]
	}
	return v.points[i-1]
}

// segReader reads records of one segment from an offset.
type segReader struct {
	f    *os.File
	v    segView
	br   *bufio.Reader
	next uint64 // seq of the next record to read; 0 before a seek
}

func openView(v segView) (*segReader, error) {
	f, err := os.Open(v.path)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &segReader{f: f, v: v, br: bufio.NewReaderSize(nil, 256<<10)}, nil
}

func (r *segReader) seek(p point) {
	r.br.Reset(io.NewSectionReader(r.f, p.Off, r.v.size-p.Off))
	r.next = p.Seq
}

// record reads the next record; io.EOF at the segment's durable end.
func (r *segReader) record() (record, error) {
	l, err := readLine(r.br)
	if err != nil {
		return record{}, err
	}
	// The checksum vouches for the line; its messages were checked when
	// it was written or first read at start.
	rec, _, err := checkRecord(l, r.next)
	if err != nil {
		return rec, fmt.Errorf("%w: %s near seq %d: %v", ErrDamaged, r.v.path, r.next, err)
	}
	r.next = rec.last() + 1
	return rec, nil
}

// at is message i of a record, its frame not decoded (Decode does that).
func at(rec record, i int) Message {
	return Message{Seq: rec.Seq + uint64(i), Frame: rec.Msgs[i]}
}

// decodeAt is message i of a record, decoded.
func decodeAt(rec record, i int) (Message, error) {
	m := at(rec, i)
	if _, err := m.Decode(); err != nil {
		return m, fmt.Errorf("journal: seq %d: %w", m.Seq, err)
	}
	return m, nil
}

// Range calls fn for each durable message with from <= seq <= to.
func (j *Journal) Range(from, to uint64, fn func(Message) bool) error {
	if from == 0 {
		from = 1
	}
	for _, v := range j.views() {
		if v.last < from || v.first > to {
			continue
		}
		r, err := openView(v)
		if err != nil {
			return err
		}
		r.seek(v.pointFor(max(from, v.first)))
		err = func() error {
			defer r.f.Close()
			for {
				rec, err := r.record()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
				for i := range rec.Msgs {
					seq := rec.Seq + uint64(i)
					if seq < from {
						continue
					}
					if seq > to {
						return io.EOF
					}
					if !fn(at(rec, i)) {
						return io.EOF
					}
				}
			}
		}()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Seqs calls fn for each of the given durable seqs, which must increase.
// Near seqs are read in one pass; far ones through the index.
func (j *Journal) Seqs(seqs []uint64, fn func(Message) bool) error {
	i := 0
	for _, v := range j.views() {
		for i < len(seqs) && seqs[i] < v.first {
			i++
		}
		if i >= len(seqs) {
			return nil
		}
		if seqs[i] > v.last {
			continue
		}
		r, err := openView(v)
		if err != nil {
			return err
		}
		stop, err := func() (bool, error) {
			defer r.f.Close()
			for i < len(seqs) && seqs[i] <= v.last {
				want := seqs[i]
				if p := v.pointFor(want); r.next == 0 || p.Seq > r.next || want < r.next {
					r.seek(p)
				}
				rec, err := r.record()
				if err == io.EOF {
					return false, fmt.Errorf("%w: %s ends before seq %d", ErrDamaged, v.path, want)
				}
				if err != nil {
					return false, err
				}
				for i < len(seqs) && seqs[i] <= rec.last() {
					if seqs[i] >= rec.Seq {
						if !fn(at(rec, int(seqs[i]-rec.Seq))) {
							return true, nil
						}
					}
					i++
				}
			}
			return false, nil
		}()
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// ReadFile reads a whole journal without opening it for writing, for
// export: the data directory (or any segment in it), or a format-1
// journal.jsonl. A torn tail is skipped and reported; nothing is changed.
func ReadFile(path string) ([]Message, Recovery, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, Recovery{}, err
	}
	dir := path
	if !st.IsDir() {
		if !strings.HasSuffix(path, ".wal") {
			return readFormat1File(path)
		}
		dir = filepath.Dir(path)
	}
	firsts, err := listSegments(dir)
	if err != nil {
		return nil, Recovery{}, err
	}
	if len(firsts) == 0 {
		old := filepath.Join(dir, Format1Name)
		if _, err := os.Stat(old); err == nil {
			return readFormat1File(old)
		}
		return nil, Recovery{}, fmt.Errorf("journal %s: no journal segments (journal-*.wal) here", dir)
	}
	var (
		out    []Message
		rec    Recovery
		id     string
		expect = uint64(1)
	)
	for i, first := range firsts {
		seg := segPath(dir, first)
		h, hdrLen, err := readHeader(seg)
		if err != nil {
			return nil, rec, err
		}
		if id != "" && h.Journal != id {
			return nil, rec, fmt.Errorf("%w: %s belongs to journal %s, not %s", ErrDamaged, seg, h.Journal, id)
		}
		id = h.Journal
		if h.First != expect {
			return nil, rec, fmt.Errorf("%w: %s starts at seq %d where %d was due", ErrDamaged, seg, h.First, expect)
		}
		var derr error
		sc, err := scanSegment(seg, hdrLen, expect, 1, func(r record, _ int64) {
			for k := range r.Msgs {
				m, err := decodeAt(r, k)
				if err != nil && derr == nil {
					derr = err
				}
				out = append(out, m)
			}
			expect = r.last() + 1
		})
		if err == nil {
			err = derr
		}
		if err != nil {
			return nil, rec, err
		}
		if sc.tornAt >= 0 {
			if i != len(firsts)-1 {
				return nil, rec, fmt.Errorf("%w: %s line %d is cut short and later segments follow it", ErrDamaged, seg, sc.tornLine)
			}
			st, _ := os.Stat(seg)
			rec.TornBytes, rec.TornLine = int(st.Size()-sc.tornAt), sc.tornLine
		}
	}
	return out, rec, nil
}

// Format1Name is the single file of a format-1 journal.
const Format1Name = "journal.jsonl"

// format1 is what a format-1 journal holds.
type format1 struct {
	header  header
	records []record
	good    int // bytes of whole, valid lines
	torn    Recovery
}

// readFormat1 parses a format-1 journal: a header line, then one JSON
// record per line. A damaged last line is torn; damage before it refuses.
func readFormat1(path string, data []byte) (format1, error) {
	var out format1
	next := uint64(1)
	line := 0
	for len(data[out.good:]) > 0 {
		rest := data[out.good:]
		line++
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			out.torn = Recovery{TornBytes: len(rest), TornLine: line}
			break
		}
		err := func() error {
			if line == 1 {
				if err := json.Unmarshal(rest[:nl], &out.header); err != nil || out.header.Journal == "" {
					return errors.New("not a vigil journal header")
				}
				return nil
			}
			var r struct {
				Cmd  string            `json:"cmd"`
				Msgs []json.RawMessage `json:"msgs"`
			}
			if err := json.Unmarshal(rest[:nl], &r); err != nil {
				return err
			}
			rec := record{Seq: next, Cmd: r.Cmd}
			for _, raw := range r.Msgs {
				m, err := protocol.Decode(raw)
				if err != nil {
					return err
				}
				if seqOf(m) != next {
					return fmt.Errorf("seq %d out of order", seqOf(m))
				}
				rec.Msgs = append(rec.Msgs, raw)
				if e, ok := m.(*protocol.Entry); ok {
					rec.T = max(rec.T, e.At.UnixMilli())
				}
				next++
			}
			if len(rec.Msgs) > 0 {
				out.records = append(out.records, rec)
			}
			return nil
		}()
		if err != nil {
			if out.good+nl+1 == len(data) && line > 1 {
				out.torn = Recovery{TornBytes: nl + 1, TornLine: line}
				break
			}
			return out, fmt.Errorf("%w: %s line %d: %v; the file is damaged before its end, refusing to guess", ErrDamaged, path, line, err)
		}
		out.good += nl + 1
	}
	if out.header.Journal == "" {
		return out, fmt.Errorf("%w: %s is empty or not a vigil journal", ErrDamaged, path)
	}
	return out, nil
}

func readFormat1File(path string) ([]Message, Recovery, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Recovery{}, err
	}
	f1, err := readFormat1(path, data)
	if err != nil {
		return nil, f1.torn, err
	}
	var out []Message
	for _, r := range f1.records {
		for i := range r.Msgs {
			m, err := decodeAt(r, i)
			if err != nil {
				return nil, f1.torn, err
			}
			out = append(out, m)
		}
	}
	return out, f1.torn, nil
}

// migrateFormat1 rewrites a format-1 journal.jsonl in dir as the first
// segment of this format, with the same journal id, seqs and command ids,
// then keeps the old file under a new name: an operator who upgrades
// loses nothing, and can go back. Records carry no append time in format
// 1; each gets its newest entry time (never earlier than the one before).
func migrateFormat1(dir string, rec *Recovery) (bool, error) {
	path := filepath.Join(dir, Format1Name)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	f1, err := readFormat1(path, data)
	if err != nil {
		return false, err
	}
	created := f1.header.Created
	if created == "" {
		created = protocol.At(time.Now()).String()
	}
	var t int64
	if ct, err := time.Parse(time.RFC3339Nano, created); err == nil {
		t = ct.UnixMilli()
	}
	out := encodeHeader(header{Journal: f1.header.Journal, Created: created, Format: Format, First: 1})
	for _, r := range f1.records {
		t = max(t, r.T)
		frames := make([][]byte, len(r.Msgs))
		for i, m := range r.Msgs {
			frames[i] = m
		}
		out = encodeRecord(out, r.Seq, t, r.Cmd, frames)
	}
	if err := writeDurably(segPath(dir, 1), out); err != nil {
		return false, fmt.Errorf("journal: migrating %s: %w", path, err)
	}
	kept := path + ".format1-" + time.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(path, kept); err != nil {
		return false, fmt.Errorf("journal: migrating %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return false, err
	}
	rec.Migrated = kept
	if f1.torn.TornBytes > 0 {
		rec.TornBytes, rec.TornLine, rec.TornCopy = f1.torn.TornBytes, f1.torn.TornLine, kept
	}
	return true, nil
}
