package journal

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// DefaultSegmentBytes is the size past which the file journal starts a new
// segment.
const DefaultSegmentBytes = 64 << 20

// pointEvery is how many records lie between two points of a segment's
// seq index: a read seeks to the point before the seq it wants and reads
// at most this many records past it.
const pointEvery = 128

// File is what a segment is written through; tests wrap it to fail.
type File interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Close() error
}

// Options tune the file journal. The zero value is the default.
type Options struct {
	// SegmentBytes: roll to a new segment once the active one is this big.
	SegmentBytes int64
	// Now stamps records with their append time (SeqAt reads it back).
	Now func() time.Time
	// WrapFile, for tests, wraps every segment file before it is written.
	WrapFile func(File) File
	// OnSync, if set, is told how long each fsync of a commit took.
	OnSync func(time.Duration)
}

// Journal is the file backend: segments journal-<first seq>.wal in the data
// directory, each with an index (.idx) and its command ids (.ids) written
// when it is sealed, and for the active one on a clean close.
type Journal struct {
	dir  string
	opts Options
	lock *os.File
	id   string

	mu        sync.Mutex
	segs      []*segment // by first seq; the last is the active one
	f         File       // the active segment, written by the committer only
	next      uint64     // the next seq Append assigns
	durable   uint64
	incidents map[string][]uint64 // durable seqs of each incident's messages
	heads     map[string]head     // newest durable incident frame
	publishes []uint64            // durable publish and delivery entries
	latest    map[string]uint64   // newest durable transition of each service and host level
	applied   map[string]uint64   // ids of the active segment and of pending records
	pending   []pendingRecord
	buf       []byte
	spare     []byte
	flushing  bool
	failed    error
	closed    bool
	onDurable func([]Message, error)
	committer sync.WaitGroup
	idsCache  *idsCache
}

type head struct {
	seq   uint64
	frame []byte
}

type pendingRecord struct {
	msgs []Message
	cmd  string
	t    int64
	off  int // where its line starts in the batch buffer
}

var _ Backend = (*Journal)(nil)

// Open opens the file journal in dir, creating it if needed, and takes the
// directory's lock. A format-1 journal (journal.jsonl) is rewritten in this
// format first and kept beside it. A torn tail (a crash mid-write) is cut
// after a copy is kept; damage before the end refuses to open (ErrDamaged).
func Open(dir string) (*Journal, Recovery, error) { return OpenWith(dir, Options{}) }

// OpenWith is Open with options.
func OpenWith(dir string, opts Options) (*Journal, Recovery, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var rec Recovery
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, rec, fmt.Errorf("journal: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, rec, err
	}
	j := &Journal{dir: dir, opts: opts, lock: lock, incidents: map[string][]uint64{}, heads: map[string]head{}, latest: map[string]uint64{}, applied: map[string]uint64{}}
	if err := j.open(&rec); err != nil {
		if j.f != nil {
			j.f.Close()
		}
		lock.Close()
		return nil, rec, err
	}
	return j, rec, nil
}

func (j *Journal) open(rec *Recovery) error {
	firsts, err := listSegments(j.dir)
	if err != nil {
		return err
	}
	if len(firsts) == 0 {
		migrated, err := migrateFormat1(j.dir, rec)
		if err != nil {
			return err
		}
		if migrated {
			firsts, err = listSegments(j.dir)
			if err != nil {
				return err
			}
		}
	}
	if len(firsts) == 0 {
		var r [6]byte
		rand.Read(r[:])
		j.id = "j-" + hex.EncodeToString(r[:])
		if err := createSegment(j.dir, header{Journal: j.id, Created: protocol.At(j.opts.Now()).String(), Format: Format, First: 1}); err != nil {
			return err
		}
		firsts = []uint64{1}
	}
	expect := uint64(1)
	for i, first := range firsts {
		if first != expect {
			return fmt.Errorf("%w: %s starts at seq %d, the segment before ends at %d; a segment is missing, refusing to guess", ErrDamaged, segPath(j.dir, first), first, expect-1)
		}
		seg := &segment{first: first, last: first - 1, path: segPath(j.dir, first)}
		active := i == len(firsts)-1
		if err := j.loadSegment(seg, active, rec); err != nil {
			return err
		}
		j.segs = append(j.segs, seg)
		expect = seg.last + 1
	}
	j.durable = expect - 1
	j.next = expect
	active := j.segs[len(j.segs)-1]
	f, err := os.OpenFile(active.path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.f = f
	if j.opts.WrapFile != nil {
		j.f = j.opts.WrapFile(f)
	}
	return nil
}

// loadSegment indexes one segment: from its index file where that is whole
// and covers the segment (sealed) or a prefix of it (active), by reading
// the segment otherwise. Only the active segment may end torn.
func (j *Journal) loadSegment(seg *segment, active bool, rec *Recovery) error {
	hdrLen, err := j.checkHeader(seg)
	if err != nil {
		return err
	}
	st, err := os.Stat(seg.path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	seg.size = hdrLen
	from, err := j.loadIndex(seg, active, hdrLen, st.Size(), rec)
	if err != nil {
		return err
	}
	sc, err := scanSegment(seg.path, from, seg.last+1, 1+seg.records, func(r record, off int64) { j.indexRecord(seg, r, off) })
	if err != nil {
		return err
	}
	if sc.tornAt >= 0 {
		if !active {
			return fmt.Errorf("%w: %s line %d is cut short and later segments follow it; refusing to guess", ErrDamaged, seg.path, sc.tornLine)
		}
		if err := cutTorn(j.dir, seg.path, sc.tornAt, st.Size(), rec); err != nil {
			return err
		}
		rec.TornLine = sc.tornLine
	}
	seg.size = sc.end
	if active {
		maps.Copy(j.applied, sc.ids)
		return nil
	}
	if from < sc.end {
		// Its index was missing or stale, so this was a full read that
		// found every command id: write the index now, so the next start
		// does not read the segment again.
		return j.seal(seg, sc.ids)
	}
	return nil
}

// checkHeader reads seg's header and returns its length. The first
// segment names the journal; every later one must belong to it, and each
// must start at the seq its file name says.
func (j *Journal) checkHeader(seg *segment) (int64, error) {
	h, hdrLen, err := readHeader(seg.path)
	if err != nil {
		return 0, err
	}
	if j.id == "" {
		j.id = h.Journal
	} else if h.Journal != j.id {
		return 0, fmt.Errorf("%w: %s belongs to journal %s, not %s", ErrDamaged, seg.path, h.Journal, j.id)
	}
	if h.First != seg.first {
		return 0, fmt.Errorf("%w: %s says it starts at seq %d", ErrDamaged, seg.path, h.First)
	}
	return hdrLen, nil
}

// loadIndex adopts seg's index file where it can be trusted and returns
// where the segment must be read from: the end of what the index covers,
// or the end of the header (hdrLen) when the index is set aside. A sealed
// segment's index that is set aside is noted in rec, to be rebuilt; the
// active one's is often missing or short after a crash, so only ids that
// fail their check are noted for it. Damage the index's checksums find in
// the segment is the only error.
func (j *Journal) loadIndex(seg *segment, active bool, hdrLen, size int64, rec *Recovery) (int64, error) {
	setAside := func(why string) (int64, error) {
		if !active {
			rec.Rebuilt = append(rec.Rebuilt, why)
		}
		return hdrLen, nil
	}
	ix, err := readIndex(seg.path)
	if err != nil {
		return setAside(fmt.Sprintf("%s: %v", indexPath(seg.path), err))
	}
	if ix.First != seg.first || ix.Size < hdrLen || ix.Size > size {
		return setAside(fmt.Sprintf("%s: it does not describe its segment", indexPath(seg.path)))
	}
	// Both segments' ids are checked before the index is adopted: an ids
	// file that lies would let a command be applied twice.
	ids, err := checkIDs(seg.path, ix)
	if err != nil {
		rec.Rebuilt = append(rec.Rebuilt, err.Error())
		return hdrLen, nil
	}
	whole := ix.Size == size && len(ix.Bloom) > 0
	if !active && !whole {
		return setAside(fmt.Sprintf("%s: it covers %d of the segment's %d bytes", indexPath(seg.path), ix.Size, size))
	}
	// Damage is fatal, in a sealed segment too: a hub that started over
	// it would fail every full replay. An index that disagrees with its
	// segment is only set aside, and the segment read instead.
	if err := verifyChecksums(seg.path, hdrLen, ix.Size, ix); err != nil {
		if errors.Is(err, ErrDamaged) {
			return 0, err
		}
		return setAside(err.Error())
	}
	j.adoptIndex(seg, ix)
	if active {
		maps.Copy(j.applied, ids)
	}
	return ix.Size, nil
}

// indexRecord adds a durable record, at off in seg, to the indexes.
func (j *Journal) indexRecord(seg *segment, r record, off int64) {
	if seg.sinceLast == 0 || seg.sinceLast >= pointEvery {
		seg.points = append(seg.points, point{Seq: r.Seq, Off: off, T: r.T})
		seg.sinceLast = 0
	}
	seg.sinceLast++
	seg.records++
	for i, frame := range r.Msgs {
		seq := r.Seq + uint64(i)
		p, id, err := peekFrame(frame)
		if err != nil {
			continue
		}
		switch key := p.startKey(); key {
		case "":
		case "publish":
			j.publishes = append(j.publishes, seq)
		default:
			j.latest[key] = seq
		}
		if id == "" {
			continue
		}
		j.incidents[id] = append(j.incidents[id], seq)
		if p.Type == protocol.TypeIncident {
			j.heads[id] = head{seq: seq, frame: frame}
		}
	}
	seg.last = r.last()
}

// ID is the journal's stable identity.
func (j *Journal) ID() string { return j.id }

// Seq is the newest durable seq.
func (j *Journal) Seq() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.durable
}

// Oldest is the lowest seq held: the file journal keeps everything.
func (j *Journal) Oldest() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.durable == 0 {
		return 0
	}
	return j.segs[0].first
}

// OnDurable sets the durability callback.
func (j *Journal) OnDurable(fn func([]Message, error)) {
	j.mu.Lock()
	j.onDurable = fn
	j.mu.Unlock()
}

// Failed is the error that stopped the journal, if any.
func (j *Journal) Failed() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failed
}

// Append assigns seqs and queues one record for the committer.
func (j *Journal) Append(cmdID string, msgs ...protocol.Message) ([]Message, error) {
	if len(msgs) == 0 {
		return nil, errors.New("journal: nothing to append")
	}
	j.mu.Lock()
	next, failed, closed := j.next, j.failed, j.closed
	j.mu.Unlock()
	if failed != nil {
		return nil, failed
	}
	if closed {
		return nil, errors.New("journal: closed")
	}
	out := make([]Message, len(msgs))
	frames := make([][]byte, len(msgs))
	for i, m := range msgs {
		seq := next + uint64(i)
		switch v := m.(type) {
		case *protocol.IncidentMsg:
			v.Seq = seq
		case *protocol.Entry:
			v.Seq = seq
		case *protocol.PageMsg:
			v.Seq = seq
		default:
			return nil, fmt.Errorf("journal: %T is not a journal message", m)
		}
		frame, err := protocol.Encode(m)
		if err != nil {
			return nil, err
		}
		frames[i] = frame
		out[i] = Message{Seq: seq, Msg: m, Frame: frame}
	}
	t := j.opts.Now().UnixMilli()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failed != nil {
		return nil, j.failed
	}
	if j.closed || j.next != next {
		return nil, errors.New("journal: closed, or appended to by two goroutines at once")
	}
	off := len(j.buf)
	j.buf = encodeRecord(j.buf, next, t, cmdID, frames)
	j.pending = append(j.pending, pendingRecord{msgs: out, cmd: cmdID, t: t, off: off})
	j.next = next + uint64(len(msgs))
	if cmdID != "" {
		j.applied[cmdID] = j.next - 1
	}
	if !j.flushing {
		// The committer is a worker, not a loop: it runs while records
		// wait and ends when none do; Close waits for it.
		j.flushing = true
		j.committer.Add(1)
		go j.commit()
	}
	return out, nil
}

// commit writes and fsyncs what is pending, one batch per fsync: every
// record appended while one fsync runs is covered by the next.
func (j *Journal) commit() {
	defer j.committer.Done()
	for {
		j.mu.Lock()
		if len(j.pending) == 0 {
			j.flushing = false
			j.mu.Unlock()
			return
		}
		batch, buf := j.pending, j.buf
		j.pending, j.buf = nil, j.spare[:0]
		err, report := j.failed, j.onDurable
		j.mu.Unlock()
		done := 0 // records of the batch durable so far
		for done < len(batch) && err == nil {
			var seg *segment
			var base int64
			var n int
			seg, base, n, err = j.write(batch[done:], buf)
			if err != nil {
				break
			}
			j.mu.Lock()
			for _, p := range batch[done : done+n] {
				r := record{Seq: p.msgs[0].Seq, T: p.t, Msgs: make([]json.RawMessage, 0, len(p.msgs))}
				for _, m := range p.msgs {
					r.Msgs = append(r.Msgs, m.Frame)
				}
				j.indexRecord(seg, r, base+int64(p.off-batch[done].off))
			}
			end := len(buf)
			if done+n < len(batch) {
				end = batch[done+n].off
			}
			seg.size = base + int64(end-batch[done].off)
			last := batch[done+n-1].msgs
			j.durable = last[len(last)-1].Seq
			j.mu.Unlock()
			done += n
		}
		j.mu.Lock()
		if err != nil {
			if j.failed == nil {
				j.failed = fmt.Errorf("%w: %v", ErrFailed, err)
			}
			err = j.failed
			for _, p := range batch[done:] {
				if p.cmd != "" {
					delete(j.applied, p.cmd)
				}
			}
		}
		j.spare = buf
		j.mu.Unlock()
		if report != nil {
			for i, p := range batch {
				if i < done {
					report(p.msgs, nil)
				} else {
					report(p.msgs, err)
				}
			}
		}
	}
}

// write appends the first records of a batch to the active segment,
// rolling first when it is full, as many as fit (at least one), and
// fsyncs them. It returns the segment, where they start in it, and how
// many it wrote.
func (j *Journal) write(batch []pendingRecord, buf []byte) (*segment, int64, int, error) {
	j.mu.Lock()
	seg := j.segs[len(j.segs)-1]
	size := seg.size
	j.mu.Unlock()
	if size >= j.opts.SegmentBytes && seg.last >= seg.first {
		var err error
		if seg, err = j.roll(seg); err != nil {
			return nil, 0, 0, err
		}
		size = seg.size
	}
	n, end := 1, len(buf)
	for ; n < len(batch); n++ {
		if size+int64(batch[n].off-batch[0].off) >= j.opts.SegmentBytes {
			end = batch[n].off
			break
		}
	}
	w, err := j.f.Write(buf[batch[0].off:end])
	if err == nil {
		began := time.Now()
		err = j.f.Sync()
		if j.opts.OnSync != nil {
			j.opts.OnSync(time.Since(began))
		}
	}
	if err != nil {
		if w > 0 {
			// Best effort: whatever the disk kept, the next start verifies
			// it, and nothing is appended after an unknown state.
			j.f.Truncate(size)
		}
		return nil, 0, 0, fmt.Errorf("journal write: %w", err)
	}
	return seg, size, n, nil
}

// roll seals the active segment (its index and ids written and fsynced)
// and starts the next one.
func (j *Journal) roll(cur *segment) (*segment, error) {
	j.mu.Lock()
	ids := map[string]uint64{}
	for id, seq := range j.applied {
		if seq >= cur.first && seq <= cur.last {
			ids[id] = seq
		}
	}
	j.mu.Unlock()
	if err := j.seal(cur, ids); err != nil {
		return nil, err
	}
	first := cur.last + 1
	if err := createSegment(j.dir, header{Journal: j.id, Created: protocol.At(j.opts.Now()).String(), Format: Format, First: first}); err != nil {
		return nil, err
	}
	seg := &segment{first: first, last: first - 1, path: segPath(j.dir, first)}
	h, hdrLen, err := readHeader(seg.path)
	if err != nil || h.First != first {
		return nil, fmt.Errorf("journal: new segment %s unreadable: %v", seg.path, err)
	}
	seg.size = hdrLen
	f, err := os.OpenFile(seg.path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var nf File = f
	if j.opts.WrapFile != nil {
		nf = j.opts.WrapFile(f)
	}
	j.f.Close()
	j.mu.Lock()
	j.f = nf
	j.segs = append(j.segs, seg)
	for id := range ids {
		delete(j.applied, id)
	}
	j.mu.Unlock()
	return seg, nil
}

// seal writes a segment's index and ids files and keeps its filter.
func (j *Journal) seal(seg *segment, ids map[string]uint64) error {
	j.mu.Lock()
	ix := j.indexOf(seg)
	j.mu.Unlock()
	b := newBloom(len(ids))
	for id := range ids {
		b.add(id)
	}
	ix.Bloom = b.bits
	ix.IDs = len(ids)
	if err := writeIDs(seg.path, ids); err != nil {
		return err
	}
	if err := writeIndex(seg.path, ix); err != nil {
		return err
	}
	j.mu.Lock()
	seg.bloom = b
	seg.idCount = len(ids)
	j.mu.Unlock()
	return nil
}

// Applied returns the seq a command id was acknowledged with.
func (j *Journal) Applied(cmdID string) (uint64, bool) {
	if cmdID == "" {
		return 0, false
	}
	j.mu.Lock()
	if seq, ok := j.applied[cmdID]; ok {
		j.mu.Unlock()
		return seq, true
	}
	var maybe []*segment
	for _, s := range j.segs {
		if s.bloom != nil && s.bloom.has(cmdID) {
			maybe = append(maybe, s)
		}
	}
	j.mu.Unlock()
	for _, s := range maybe {
		ids, err := j.sealedIDs(s)
		if err != nil {
			// Neither the ids file nor the segment can say whether it
			// was applied: refuse every command from now on rather than
			// apply one twice.
			j.mu.Lock()
			if j.failed == nil {
				j.failed = fmt.Errorf("%w: %w: the command ids of %s cannot be read: %v", ErrFailed, ErrDamaged, s.path, err)
			}
			j.mu.Unlock()
			continue
		}
		if seq, ok := ids[cmdID]; ok {
			return seq, true
		}
	}
	return 0, false
}

// idsCache keeps the ids of the last sealed segment a lookup had to read.
type idsCache struct {
	seg *segment
	ids map[string]uint64
}

func (j *Journal) sealedIDs(s *segment) (map[string]uint64, error) {
	j.mu.Lock()
	c := j.idsCache
	j.mu.Unlock()
	if c != nil && c.seg == s {
		return c.ids, nil
	}
	j.mu.Lock()
	ix := segIndex{First: s.first, Last: s.last, IDs: s.idCount}
	j.mu.Unlock()
	ids, err := checkIDs(s.path, ix)
	if err != nil {
		// Lost or damaged since start: the segment itself says which
		// commands it applied.
		if ids, err = j.rescanIDs(s); err != nil {
			return nil, err
		}
	}
	j.mu.Lock()
	j.idsCache = &idsCache{seg: s, ids: ids}
	j.mu.Unlock()
	return ids, nil
}

// rescanIDs reads a sealed segment for the command ids it applied and
// writes its ids file again.
func (j *Journal) rescanIDs(s *segment) (map[string]uint64, error) {
	_, hdrLen, err := readHeader(s.path)
	if err != nil {
		return nil, err
	}
	sc, err := scanSegment(s.path, hdrLen, s.first, 1, func(record, int64) {})
	if err != nil {
		return nil, err
	}
	if err := writeIDs(s.path, sc.ids); err != nil {
		return nil, err
	}
	return sc.ids, nil
}

// StartSeqs returns, increasing, the durable seqs the hub's start-up state
// needs from any age: every publish and delivery entry, and the newest
// transition entry of each service and of each host's load level.
func (j *Journal) StartSeqs() []uint64 {
	j.mu.Lock()
	out := append([]uint64(nil), j.publishes...)
	for _, seq := range j.latest {
		out = append(out, seq)
	}
	j.mu.Unlock()
	slices.Sort(out)
	return slices.Compact(out)
}

// IncidentSeqs returns the durable seqs of an incident's messages.
func (j *Journal) IncidentSeqs(id string) []uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]uint64(nil), j.incidents[id]...)
}

// Heads returns the newest durable frame of every incident, in the order
// they were declared.
func (j *Journal) Heads() []Message {
	j.mu.Lock()
	type decl struct {
		first uint64
		h     head
	}
	all := make([]decl, 0, len(j.heads))
	for id, h := range j.heads {
		all = append(all, decl{first: j.incidents[id][0], h: h})
	}
	j.mu.Unlock()
	sort.Slice(all, func(a, b int) bool { return all[a].first < all[b].first })
	out := make([]Message, 0, len(all))
	for _, d := range all {
		m, err := protocol.Decode(d.h.frame)
		if err != nil {
			continue
		}
		out = append(out, Message{Seq: d.h.seq, Msg: m, Frame: d.h.frame})
	}
	return out
}

// SeqAt returns the lowest durable seq appended at or after t (by the
// journal's clock), or Seq()+1 when none was: the index finds the point
// before it, and at most pointEvery records past that are read.
func (j *Journal) SeqAt(t time.Time) uint64 {
	ms := t.UnixMilli()
	views := j.views()
	end := j.Seq() + 1
	// The newest point appended before t, scanning back.
	si, pi := -1, -1
	for i := len(views) - 1; i >= 0 && si < 0; i-- {
		for k := len(views[i].points) - 1; k >= 0; k-- {
			if views[i].points[k].T < ms {
				si, pi = i, k
				break
			}
		}
	}
	if si < 0 {
		if len(views) == 0 {
			return end
		}
		return views[0].first
	}
	// Read on from it to the first record appended at or after t.
	for i := si; i < len(views); i++ {
		r, err := openView(views[i])
		if err != nil {
			return views[si].points[pi].Seq // the point's seq: a few too many, never too few
		}
		if i == si {
			r.seek(views[i].points[pi])
		} else {
			r.seek(views[i].points[0])
		}
		for {
			rec, err := r.record()
			if err == io.EOF {
				break
			}
			if err != nil {
				r.f.Close()
				return views[si].points[pi].Seq
			}
			if rec.T >= ms {
				r.f.Close()
				return rec.Seq
			}
		}
		r.f.Close()
	}
	return end
}

// Close waits for pending records to be written, writes the active
// segment's index (so the next start need not read it), and releases the
// directory.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	j.committer.Wait()
	var err error
	if j.Failed() == nil {
		j.mu.Lock()
		seg := j.segs[len(j.segs)-1]
		ids := map[string]uint64{}
		for id, seq := range j.applied {
			if seq >= seg.first && seq <= seg.last {
				ids[id] = seq
			}
		}
		j.mu.Unlock()
		if e := writeIDs(seg.path, ids); e == nil {
			j.mu.Lock()
			ix := j.indexOf(seg)
			j.mu.Unlock()
			ix.IDs = len(ids)
			err = writeIndex(seg.path, ix)
		}
	}
	if e := j.f.Close(); err == nil {
		err = e
	}
	j.lock.Close()
	return err
}

// segPath names the segment whose first seq is first.
func segPath(dir string, first uint64) string {
	return filepath.Join(dir, fmt.Sprintf("journal-%020d.wal", first))
}

func listSegments(dir string) ([]uint64, error) {
	names, err := filepath.Glob(filepath.Join(dir, "journal-*.wal"))
	if err != nil {
		return nil, err
	}
	var firsts []uint64
	for _, n := range names {
		s := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(n), "journal-"), ".wal")
		first, err := strconv.ParseUint(s, 10, 64)
		if err != nil || first == 0 {
			continue
		}
		firsts = append(firsts, first)
	}
	sort.Slice(firsts, func(a, b int) bool { return firsts[a] < firsts[b] })
	return firsts, nil
}

// createSegment writes a new segment holding only its header, whole or
// not at all (written beside, fsynced, renamed, the directory fsynced).
func createSegment(dir string, h header) error {
	path := segPath(dir, h.First)
	if err := writeDurably(path, encodeHeader(h)); err != nil {
		return fmt.Errorf("journal: creating %s: %w", path, err)
	}
	return nil
}

// writeDurably replaces path with data: a temporary file fsynced, renamed
// over it, and the directory fsynced, so a crash leaves the old or the new.
func writeDurably(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs a directory, so a file created or renamed in it survives
// a crash of the machine.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// cutTorn keeps a copy of a segment's torn tail beside it
// (journal.torn-<time>), then truncates the segment to the last good
// record.
func cutTorn(dir, path string, at, size int64, rec *Recovery) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer f.Close()
	tail := make([]byte, size-at)
	if _, err := f.ReadAt(tail, at); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("journal: reading torn tail of %s: %w", path, err)
	}
	keep := filepath.Join(dir, "journal.torn-"+time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := writeDurably(keep, tail); err != nil {
		return fmt.Errorf("journal: keeping the torn tail of %s before cutting it: %w", path, err)
	}
	if err := f.Truncate(at); err != nil {
		return fmt.Errorf("journal: cutting torn tail of %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("journal: cutting torn tail of %s: %w", path, err)
	}
	rec.TornBytes += len(tail)
	rec.TornCopy = keep
	return nil
}
