package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"sort"
	"strings"
)

// point is one entry of a segment's seq index: the record starting at seq
// lies at off, appended at t (unix ms).
type point struct {
	Seq uint64 `json:"s"`
	Off int64  `json:"o"`
	T   int64  `json:"t"`
}

// segment is one file of the journal and what is known of it in memory:
// its seq range, its durable size, a sparse seq index and, once sealed, a
// filter of the command ids applied in it.
type segment struct {
	first, last uint64 // last is first-1 while it holds no record
	path        string
	size        int64
	records     int
	points      []point
	sinceLast   int // records since the last point
	bloom       *bloom
	idCount     int // command ids applied in it, once sealed
}

// segIndex is a segment's index file: what loading it spares reading the
// segment. The active segment's covers a prefix (Size); the rest is read.
type segIndex struct {
	First     uint64              `json:"first"`
	Last      uint64              `json:"last"`
	Size      int64               `json:"size"`
	Records   int                 `json:"records"`
	SinceLast int                 `json:"since_last"`
	Points    []point             `json:"points"`
	Incidents map[string][]uint64 `json:"incidents"`
	Heads     []indexHead         `json:"heads"` // newest incident frames lying in it
	Publishes []uint64            `json:"publishes,omitempty"`
	Latest    map[string]uint64   `json:"latest,omitempty"` // newest transitions lying in it
	Bloom     []uint64            `json:"bloom,omitempty"`
	// IDs is how many command ids the segment's ids file holds: a file
	// that holds another number (or is missing, or fails its checksum) is
	// rebuilt from the segment, never trusted to say an id is new.
	IDs int `json:"ids"`
}

// indexHead is an incident's newest frame, with what indexing needs of it
// (reading them out of the frame would mean scanning every frame).
type indexHead struct {
	ID    string          `json:"id"`
	Seq   uint64          `json:"seq"`
	Frame json.RawMessage `json:"frame"`
}

func indexPath(seg string) string { return strings.TrimSuffix(seg, ".wal") + ".idx" }
func idsPath(seg string) string   { return strings.TrimSuffix(seg, ".wal") + ".ids" }

// indexOf builds seg's index from memory; j.mu is held.
func (j *Journal) indexOf(seg *segment) segIndex {
	ix := segIndex{First: seg.first, Last: seg.last, Size: seg.size, Records: seg.records, SinceLast: seg.sinceLast,
		Points: append([]point(nil), seg.points...), Incidents: map[string][]uint64{}}
	for id, seqs := range j.incidents {
		lo := sort.Search(len(seqs), func(i int) bool { return seqs[i] >= seg.first })
		hi := sort.Search(len(seqs), func(i int) bool { return seqs[i] > seg.last })
		if lo < hi {
			ix.Incidents[id] = append([]uint64(nil), seqs[lo:hi]...)
		}
	}
	for id, h := range j.heads {
		if h.seq >= seg.first && h.seq <= seg.last {
			ix.Heads = append(ix.Heads, indexHead{ID: id, Seq: h.seq, Frame: h.frame})
		}
	}
	lo := sort.Search(len(j.publishes), func(i int) bool { return j.publishes[i] >= seg.first })
	hi := sort.Search(len(j.publishes), func(i int) bool { return j.publishes[i] > seg.last })
	ix.Publishes = append([]uint64(nil), j.publishes[lo:hi]...)
	ix.Latest = map[string]uint64{}
	for key, seq := range j.latest {
		if seq >= seg.first && seq <= seg.last {
			ix.Latest[key] = seq
		}
	}
	return ix
}

// adoptIndex loads an index file into seg and the journal's indexes.
func (j *Journal) adoptIndex(seg *segment, ix segIndex) {
	seg.last, seg.size, seg.records, seg.sinceLast, seg.points = ix.Last, ix.Size, ix.Records, ix.SinceLast, ix.Points
	for id, seqs := range ix.Incidents {
		j.incidents[id] = append(j.incidents[id], seqs...)
	}
	for _, h := range ix.Heads {
		j.heads[h.ID] = head{seq: h.Seq, frame: h.Frame}
	}
	j.publishes = append(j.publishes, ix.Publishes...)
	for key, seq := range ix.Latest {
		j.latest[key] = max(j.latest[key], seq)
	}
	if len(ix.Bloom) > 0 {
		seg.bloom = &bloom{bits: ix.Bloom}
	}
	seg.idCount = ix.IDs
}

func writeIndex(seg string, ix segIndex) error {
	body, err := json.Marshal(ix)
	if err != nil {
		return err
	}
	if err := writeDurably(indexPath(seg), sealLine(body)); err != nil {
		return fmt.Errorf("journal: writing the index of %s: %w", seg, err)
	}
	return nil
}

// readIndex reads an index file; any flaw makes it unusable (the segment
// is read instead: an index is a cache, never trusted over the segment).
func readIndex(seg string) (segIndex, error) {
	var ix segIndex
	data, err := os.ReadFile(indexPath(seg))
	if err != nil {
		return ix, err
	}
	body, err := openLine(bytes.TrimSuffix(data, []byte("\n")))
	if err != nil {
		return ix, err
	}
	err = json.Unmarshal(body, &ix)
	return ix, err
}

func writeIDs(seg string, ids map[string]uint64) error {
	body, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	if err := writeDurably(idsPath(seg), sealLine(body)); err != nil {
		return fmt.Errorf("journal: writing the command ids of %s: %w", seg, err)
	}
	return nil
}

// checkIDs reads a sealed segment's ids file and checks it against its
// index: its checksum, as many ids as the index counts, each applied at a
// seq inside the segment.
func checkIDs(seg string, ix segIndex) (map[string]uint64, error) {
	ids, err := readIDs(seg)
	if err != nil {
		return nil, err
	}
	if len(ids) != ix.IDs {
		return nil, fmt.Errorf("%s holds %d command ids, its index counts %d", idsPath(seg), len(ids), ix.IDs)
	}
	for id, seq := range ids {
		if seq < ix.First || seq > ix.Last {
			return nil, fmt.Errorf("%s says %q was applied at seq %d, outside seqs %d-%d", idsPath(seg), id, seq, ix.First, ix.Last)
		}
	}
	return ids, nil
}

func readIDs(seg string) (map[string]uint64, error) {
	data, err := os.ReadFile(idsPath(seg))
	if err != nil {
		return nil, err
	}
	body, err := openLine(bytes.TrimSuffix(data, []byte("\n")))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", idsPath(seg), err)
	}
	ids := map[string]uint64{}
	if err := json.Unmarshal(body, &ids); err != nil {
		return nil, fmt.Errorf("%s: %w", idsPath(seg), err)
	}
	return ids, nil
}

// readHeader reads a segment's header line and its length.
func readHeader(path string) (header, int64, error) {
	var h header
	f, err := os.Open(path)
	if err != nil {
		return h, 0, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	line, err := readLine(bufio.NewReaderSize(f, 4<<10))
	if err != nil || len(line) == 0 || line[len(line)-1] != '\n' {
		return h, 0, fmt.Errorf("%w: %s has no whole header line", ErrDamaged, path)
	}
	body, err := openLine(line[:len(line)-1])
	if err == nil {
		err = json.Unmarshal(body, &h)
	}
	if err != nil || h.Journal == "" || h.Format != Format {
		return h, 0, fmt.Errorf("%w: %s line 1 is not a vigil journal segment header (%v)", ErrDamaged, path, err)
	}
	return h, int64(len(line)), nil
}

// readLine reads one line with its newline (none at the end of input);
// an empty line and io.EOF at the end.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == nil || err == io.EOF {
		if err == io.EOF && len(line) > 0 {
			err = nil
		}
		return line, err
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	long := append([]byte(nil), line...)
	for {
		more, err := br.ReadSlice('\n')
		long = append(long, more...)
		if err == nil || err == io.EOF {
			return long, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}

type scanResult struct {
	end      int64 // end of the last good record
	tornAt   int64 // where a torn tail starts, -1 for none
	tornLine int
	ids      map[string]uint64
}

// scanSegment reads the records of a segment from off (a record boundary
// after the header), checking each line's checksum and that seqs follow
// on from expect, and hands each good record to add. A bad line with
// nothing valid after it is a torn tail (a crash mid-write); a bad line
// followed by a valid one, or a whole line with a good checksum that says
// the wrong thing, is damage: ErrDamaged, naming the segment and line.
func scanSegment(path string, off int64, expect uint64, line int, add func(r record, off int64)) (scanResult, error) {
	res := scanResult{tornAt: -1, ids: map[string]uint64{}}
	f, err := os.Open(path)
	if err != nil {
		return res, fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return res, fmt.Errorf("journal: %w", err)
	}
	br := bufio.NewReaderSize(io.NewSectionReader(f, off, st.Size()-off), 1<<20)
	for {
		l, err := readLine(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, fmt.Errorf("journal %s: %w", path, err)
		}
		line++
		r, whole, perr := checkLine(l, expect)
		if perr != nil {
			if whole || validAfter(br) {
				return res, fmt.Errorf("%w: %s line %d (seq %d): %v; the journal is damaged before its end, refusing to guess", ErrDamaged, path, line, expect, perr)
			}
			res.tornAt, res.tornLine = off, line
			break
		}
		add(r, off)
		if r.Cmd != "" {
			res.ids[r.Cmd] = r.last()
		}
		expect = r.last() + 1
		off += int64(len(l))
	}
	res.end = off
	return res, nil
}

// checkLine checks one record line, each of its messages too. whole says
// the line's checksum held, so what is wrong with it is not a torn write.
func checkLine(l []byte, expect uint64) (record, bool, error) {
	r, whole, err := checkRecord(l, expect)
	if err != nil {
		return r, whole, err
	}
	for i, frame := range r.Msgs {
		typ, seq, _, err := incidentOf(frame)
		if err != nil {
			return r, true, err
		}
		if seq != r.Seq+uint64(i) || (typ != "entry" && typ != "incident" && typ != "page") {
			return r, true, fmt.Errorf("message %d is %s seq %d inside record seq %d", i, typ, seq, r.Seq)
		}
	}
	return r, true, nil
}

// checkRecord checks a line's checksum and its record's seq.
func checkRecord(l []byte, expect uint64) (record, bool, error) {
	if len(l) == 0 || l[len(l)-1] != '\n' {
		return record{}, false, errors.New("incomplete line")
	}
	body, err := openLine(l[:len(l)-1])
	if err != nil {
		return record{}, false, err
	}
	r, err := parseRecord(body)
	if err != nil {
		return r, true, err
	}
	if r.Seq != expect {
		return r, true, fmt.Errorf("seq %d where %d was due", r.Seq, expect)
	}
	return r, true, nil
}

// validAfter reports whether any later line is a record whose checksum
// holds.
func validAfter(br *bufio.Reader) bool {
	for {
		l, err := readLine(br)
		if len(l) > 0 && l[len(l)-1] == '\n' {
			if _, err := openLine(l[:len(l)-1]); err == nil {
				return true
			}
		}
		if err != nil {
			return false
		}
	}
}

// bloom is a filter of the command ids applied in a sealed segment: a
// lookup of an id never applied there reads nothing from disk (but for
// about one in two thousand), one that was reads the segment's ids file.
type bloom struct{ bits []uint64 }

const bloomBitsPerID, bloomHashes = 16, 8

func newBloom(n int) *bloom {
	m := max(64, n*bloomBitsPerID)
	return &bloom{bits: make([]uint64, (m+63)/64)}
}

func bloomHash(id string) (uint64, uint64) {
	a, b := fnv.New64a(), fnv.New64()
	a.Write([]byte(id))
	b.Write([]byte(id))
	return a.Sum64(), b.Sum64() | 1
}

func (b *bloom) add(id string) {
	h1, h2 := bloomHash(id)
	m := uint64(len(b.bits) * 64)
	for i := uint64(0); i < bloomHashes; i++ {
		bit := (h1 + i*h2) % m
		b.bits[bit/64] |= 1 << (bit % 64)
	}
}

func (b *bloom) has(id string) bool {
	h1, h2 := bloomHash(id)
	m := uint64(len(b.bits) * 64)
	for i := uint64(0); i < bloomHashes; i++ {
		bit := (h1 + i*h2) % m
		if b.bits[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

// verifyChecksums checks the checksum of every line of a segment between
// from and to: the part its index covers (all of a sealed one), so damage
// there is found at start without parsing what the index already says.
// It checks the index too: as many records as it says, the last ending at
// its last seq. Lines are checked in the read buffer, nothing copied: at
// start it reads every segment.
func verifyChecksums(path string, from, to int64, ix segIndex) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	r := io.NewSectionReader(f, from, to-from)
	buf := make([]byte, 1<<20)
	var (
		n, start int   // bytes in buf; where the unchecked rest starts
		off      int64 // file offset of buf[0]
		lastOff  int64 = -1
		lastLen  int
		line     = 1
	)
	damaged := func(why string) error {
		// Read again record by record, for the seq the damage is at.
		if _, serr := scanSegment(path, from, ix.First, 1, func(record, int64) {}); errors.Is(serr, ErrDamaged) {
			return serr
		}
		return fmt.Errorf("%w: %s line %d: %s; the journal is damaged before its end, refusing to guess", ErrDamaged, path, line, why)
	}
	for {
		m, rerr := r.Read(buf[n:])
		n += m
		for {
			nl := bytes.IndexByte(buf[start:n], '\n')
			if nl < 0 {
				break
			}
			line++
			l := buf[start : start+nl]
			if _, err := openLine(l); err != nil {
				return damaged(err.Error())
			}
			lastOff, lastLen = off+int64(start), nl
			start += nl + 1
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("journal %s: %w", path, rerr)
		}
		// Keep the unfinished line; grow the buffer for one longer than it.
		rest := copy(buf, buf[start:n])
		off += int64(start)
		n, start = rest, 0
		if n == len(buf) {
			buf = append(buf, make([]byte, len(buf))...)
		}
	}
	if start < n {
		line++
		return damaged("incomplete line inside what its index says was durable")
	}
	if line-1 != ix.Records {
		return fmt.Errorf("index of %s: %d records, the segment has %d", path, ix.Records, line-1)
	}
	if lastOff >= 0 {
		l := make([]byte, lastLen)
		if _, err := f.ReadAt(l, from+lastOff); err != nil {
			return fmt.Errorf("journal %s: %w", path, err)
		}
		body, _ := openLine(l)
		if r, err := parseRecord(body); err != nil || r.last() != ix.Last {
			return fmt.Errorf("index of %s: it ends at seq %d, the segment does not", path, ix.Last)
		}
	}
	return nil
}
