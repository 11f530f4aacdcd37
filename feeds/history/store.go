// Package history keeps every host's load on the hub's disk, so a review
// can see what the machines were doing before anyone looked: load1, CPUs
// and memory at 10 seconds for 48 hours and at 5 minutes (the peak of
// each 5 minutes) for 90 days.
//
// Each host has one file of two fixed rings, so the store is bounded by
// construction: 12 bytes a slot, 17,280 fine and 25,920 coarse slots,
// 518,400 bytes a host (518 MB for 1,000 hosts), whatever the uptime.
// A slot carries the time it belongs to, so a slot left from an earlier
// lap of the ring is never read as new, and a restarted hub reads what
// its predecessor wrote. In memory: a bounded queue of samples to write,
// a bounded set of open files, and each host's newest two minutes and
// 5-minute slots, merged there and written together at the host's turn
// in the minute (a hash of its name; at its first sample from then, the
// store's next tick, a read of the host, or Close). A hub whose hosts
// report every second so writes each host once a minute, not sixty
// times, and its fleet's writes spread over the minute instead of all
// landing when a minute ends, which the kernel would write out in one
// burst with the journal's fsync waiting behind it. A crash loses at most
// the last minute (a quiet host's last 70 seconds).
package history

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Resolutions and how long each is kept.
const (
	FineStep     = 10 * time.Second
	FineKeep     = 48 * time.Hour
	CoarseStep   = 5 * time.Minute
	CoarseKeep   = 90 * 24 * time.Hour
	fineSlots    = int(FineKeep / FineStep)
	coarseSlots  = int(CoarseKeep / CoarseStep)
	slotBytes    = 12
	headerBytes  = 16
	fileBytes    = headerBytes + (fineSlots+coarseSlots)*slotBytes
	coarseOffset = headerBytes + fineSlots*slotBytes
	magic        = "VGLH\x00\x00\x00\x01"
)

// FileBytes is what one host costs on disk.
const FileBytes = fileBytes

// Dir is the store's directory inside the hub's data directory.
const Dir = "history"

// minOpen is the fewest files the store keeps open. A fleet larger than
// the bound reopens files; it does not run out of descriptors.
const minOpen = 1024

// openBound is how many files the store keeps open: a quarter of the
// descriptors the process may hold (Go raises the soft limit to the hard
// one at start), so the agents' connections keep the rest.
func openBound() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur/4 < minOpen {
		return minOpen
	}
	return int(min(rl.Cur/4, 1<<20))
}

// queueSize bounds the samples waiting to be written; beyond it a sample
// is dropped (and counted) rather than slowing the hub.
const queueSize = 8192

// Store is the load history of every host.
type Store struct {
	dir   string
	queue chan protocol.Load
	now   func() time.Time

	mu      sync.Mutex
	open    map[string]*os.File
	maxOpen int
	// verified are the hosts whose file this store checked or made.
	verified map[string]bool
	current  map[string]*current
	dropped  uint64
	// blockWrites counts the minutes written, for the tests of when.
	blockWrites uint64
}

// minuteSlots is how many fine slots a minute holds; the fine ring holds
// whole minutes, so a minute's slots are next to each other on disk.
const minuteSlots = int(time.Minute / FineStep)

// fineBlock is one minute of a host's fine slots (by stamp modulo
// minuteSlots), as it will be written.
type fineBlock struct {
	minute int64 // fine stamp / minuteSlots; 0: none
	slots  [minuteSlots]slot
	// onDisk: what the disk held of the minute (a restarted hub's write,
	// or one of this store's that it has forgotten) is merged in.
	onDisk, dirty bool
}

// coarseSlot is one of a host's 5-minute slots as it will be written.
type coarseSlot struct {
	slot
	onDisk, dirty bool
}

// current is a host's slots in progress, merged in memory: its newest
// two minutes and its newest two 5-minute slots, so a minute that ended
// can wait for the host's turn. A host's changes are written together at
// its turn in the minute (turnIn), not when its minute ends: a fleet
// whose minutes all end at once would otherwise dirty a page of every
// host's file in the same second, and the kernel would write them all
// out in one burst that every fsync on the disk (the journal's) waits
// behind.
type current struct {
	fine   [2]fineBlock  // [1] the newest minute, [0] the one before it
	coarse [2]coarseSlot // [1] the newest 5 minutes, [0] the ones before
	due    time.Time     // the turn the unwritten changes wait for; zero: none
}

// turnIn is when in each minute host's changes are written: a hash of
// its name, so a fleet's writes spread over the minute and each host's
// come a minute apart.
func turnIn(host string) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(host))
	return time.Duration(h.Sum32()%uint32(time.Minute/time.Millisecond)) * time.Millisecond
}

// nextTurn is the first instant after now that is turn into a minute.
func nextTurn(now time.Time, turn time.Duration) time.Time {
	since := time.Duration(now.UnixNano() % int64(time.Minute))
	next := now.Add(turn - since)
	if !next.After(now) {
		next = next.Add(time.Minute)
	}
	return next
}

// Open opens (creating) the store under dataDir, removing the files of
// hosts silent for longer than the coarse ring keeps.
func Open(dataDir string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	dir := filepath.Join(dataDir, Dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("load history: %w", err)
	}
	s := &Store{dir: dir, queue: make(chan protocol.Load, queueSize), now: now, open: map[string]*os.File{}, maxOpen: openBound(), verified: map[string]bool{}, current: map[string]*current{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load history: %w", err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && now().Sub(info.ModTime()) > CoarseKeep {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	return s, nil
}

// Add queues a sample to be written by Run; it never blocks.
func (s *Store) Add(l protocol.Load) {
	select {
	case s.queue <- l:
	default:
		s.mu.Lock()
		s.dropped++
		s.mu.Unlock()
	}
}

// Dropped is how many samples the queue had no room for.
func (s *Store) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Run writes queued samples until ctx ends, then closes the files. Each
// fine step it writes the slots that ended of hosts that went quiet.
func (s *Store) Run(ctx context.Context) {
	defer s.Close()
	tick := time.NewTicker(FineStep)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case l := <-s.queue:
			s.Write(l)
		case <-tick.C:
			s.writeEnded()
		}
	}
}

// writeEnded writes the changes of every host whose turn has come (the
// hosts that report keep their own turns at their samples; this is for
// the ones that went quiet) and forgets the hosts with nothing left to
// write whose newest minute ended.
func (s *Store) writeEnded() {
	now := s.now()
	nowMinute := int64(sampleSlot(protocol.Load{At: protocol.At(now)}, FineStep).stamp) / int64(minuteSlots)
	s.mu.Lock()
	defer s.mu.Unlock()
	for host, c := range s.current {
		if !c.due.IsZero() && !now.Before(c.due) {
			s.writeCurrentLocked(host, c)
		}
		if !c.dirty() && c.fine[1].minute < nowMinute {
			delete(s.current, host)
		}
	}
}

// Close writes the slots in progress and closes the open files; the
// store opens them again when used.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for host, c := range s.current {
		s.writeCurrentLocked(host, c)
	}
	for h, f := range s.open {
		f.Close()
		delete(s.open, h)
	}
}

// fileName keeps any host name inside the directory ("..", "a/b").
func fileName(host string) string { return "h-" + url.PathEscape(host) + ".load" }

func (s *Store) file(host string, create bool) (*os.File, error) {
	if f := s.open[host]; f != nil {
		return f, nil
	}
	if !create {
		f, err := os.Open(filepath.Join(s.dir, fileName(host)))
		return f, err
	}
	if len(s.open) >= s.maxOpen {
		for h, f := range s.open { // any one: a fleet this large reopens some
			f.Close()
			delete(s.open, h)
			break
		}
	}
	f, err := os.OpenFile(filepath.Join(s.dir, fileName(host)), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if s.verified[host] { // reopened: it was a history file a moment ago
		s.open[host] = f
		return f, nil
	}
	var head [len(magic)]byte
	if _, err := f.ReadAt(head[:], 0); err != nil || string(head[:]) != magic {
		// New, or not a history file: start it empty (sparse: the rings
		// take disk as they fill). A new file is only grown: truncating
		// a file to nothing tells ext4 it is being replaced, and it then
		// writes the file out at its first close, which for a fleet
		// larger than the open-file bound is thousands of small writes
		// in the hub's first minutes, queued ahead of the journal's.
		var err error
		if st, serr := f.Stat(); serr != nil || st.Size() != 0 {
			err = f.Truncate(0)
		}
		if err == nil {
			err = f.Truncate(int64(fileBytes))
		}
		if err == nil {
			_, err = f.WriteAt([]byte(magic), 0)
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	s.open[host] = f
	s.verified[host] = true
	return f, nil
}

// slot is one stored sample: the time it belongs to (in steps since the
// epoch; 0 is empty), the peak load1, memory in hundredths of a percent
// plus one (0: not reported), CPUs.
type slot struct {
	stamp uint32
	load1 float32
	mem   uint16
	cpus  uint16
}

func (sl slot) put(b []byte) {
	binary.LittleEndian.PutUint32(b[0:], sl.stamp)
	binary.LittleEndian.PutUint32(b[4:], math.Float32bits(sl.load1))
	binary.LittleEndian.PutUint16(b[8:], sl.mem)
	binary.LittleEndian.PutUint16(b[10:], sl.cpus)
}

func getSlot(b []byte) slot {
	return slot{
		stamp: binary.LittleEndian.Uint32(b[0:]),
		load1: math.Float32frombits(binary.LittleEndian.Uint32(b[4:])),
		mem:   binary.LittleEndian.Uint16(b[8:]),
		cpus:  binary.LittleEndian.Uint16(b[10:]),
	}
}

func sampleSlot(l protocol.Load, step time.Duration) slot {
	sl := slot{stamp: uint32(l.At.Unix() / int64(step/time.Second)), load1: float32(l.Load1), cpus: uint16(min(max(l.CPUs, 0), math.MaxUint16))}
	if l.MemUsedPct != nil {
		sl.mem = uint16(math.Round(min(max(*l.MemUsedPct, 0), 100)*100)) + 1
	}
	return sl
}

// merge keeps the peak of two samples of one slot: a 5-minute slot shows
// the worst of its 5 minutes, not whichever sample came last.
func merge(old, new slot) slot {
	if old.stamp != new.stamp {
		return new
	}
	out := new
	out.load1 = max(old.load1, new.load1)
	out.mem = max(old.mem, new.mem)
	if out.cpus == 0 {
		out.cpus = old.cpus
	}
	return out
}

// Write stores one sample: merged into the host's slots in progress,
// which are written at the host's next turn.
func (s *Store) Write(l protocol.Load) error {
	if l.Host == "" || l.At.IsZero() || l.At.Unix() <= 0 || math.IsNaN(l.Load1) || math.IsInf(l.Load1, 0) {
		return errors.New("load history: a sample needs a host, a time and a load")
	}
	fine, coarse := sampleSlot(l, FineStep), sampleSlot(l, CoarseStep)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.current[l.Host]
	if c == nil {
		c = &current{}
		s.current[l.Host] = c
	}
	var errs []error
	fb, pushedFine, lateFine := c.fineFor(int64(fine.stamp) / int64(minuteSlots))
	if pushedFine.dirty {
		errs = append(errs, s.writeFineLocked(l.Host, &pushedFine))
	}
	i := int(fine.stamp) % minuteSlots
	if merged := merge(fb.slots[i], fine); merged != fb.slots[i] {
		fb.slots[i], fb.dirty = merged, true
	}
	if lateFine {
		errs = append(errs, s.writeFineLocked(l.Host, fb))
	}
	cs, pushedCoarse, lateCoarse := c.coarseFor(coarse.stamp)
	if pushedCoarse.dirty {
		errs = append(errs, s.writeCoarseLocked(l.Host, &pushedCoarse))
	}
	if merged := merge(cs.slot, coarse); merged != cs.slot {
		cs.slot, cs.dirty = merged, true
	}
	if lateCoarse {
		errs = append(errs, s.writeCoarseLocked(l.Host, cs))
	}
	if c.due.IsZero() && c.dirty() {
		c.due = nextTurn(now, turnIn(l.Host))
	}
	if !c.due.IsZero() && !now.Before(c.due) {
		errs = append(errs, s.writeCurrentLocked(l.Host, c))
	}
	return errors.Join(errs...)
}

func (c *current) dirty() bool {
	return c.fine[0].dirty || c.fine[1].dirty || c.coarse[0].dirty || c.coarse[1].dirty
}

// fineFor is the block in memory of minute. A newer minute than the
// host's newest pushes out the oldest block, which the caller writes if it
// changed (a host quiet since its turn). A minute older than both (a late
// sample) is a block of its own, late, for the caller to write at once.
func (c *current) fineFor(minute int64) (b *fineBlock, pushed fineBlock, late bool) {
	switch {
	case minute == c.fine[1].minute:
		return &c.fine[1], pushed, false
	case minute == c.fine[0].minute:
		return &c.fine[0], pushed, false
	case minute > c.fine[1].minute:
		pushed = c.fine[0]
		c.fine[0], c.fine[1] = c.fine[1], fineBlock{minute: minute}
		return &c.fine[1], pushed, false
	}
	return &fineBlock{minute: minute}, pushed, true
}

// coarseFor is fineFor for the 5-minute slots.
func (c *current) coarseFor(stamp uint32) (cs *coarseSlot, pushed coarseSlot, late bool) {
	switch {
	case stamp == c.coarse[1].stamp:
		return &c.coarse[1], pushed, false
	case stamp == c.coarse[0].stamp:
		return &c.coarse[0], pushed, false
	case stamp > c.coarse[1].stamp:
		pushed = c.coarse[0]
		c.coarse[0], c.coarse[1] = c.coarse[1], coarseSlot{slot: slot{stamp: stamp}}
		return &c.coarse[1], pushed, false
	}
	return &coarseSlot{slot: slot{stamp: stamp}}, pushed, true
}

// writeCurrentLocked writes what changed of a host's slots in progress.
func (s *Store) writeCurrentLocked(host string, c *current) error {
	c.due = time.Time{}
	err := errors.Join(
		s.writeFineLocked(host, &c.fine[0]),
		s.writeFineLocked(host, &c.fine[1]),
		s.writeCoarseLocked(host, &c.coarse[0]),
		s.writeCoarseLocked(host, &c.coarse[1]),
	)
	if c.dirty() { // a write failed: again at the next turn, quiet host or not
		c.due = nextTurn(s.now(), turnIn(host))
	}
	return err
}

// writeFineLocked writes a minute's block if it changed, merged with what
// the disk holds of it the first time: a slot of the minute without a
// sample keeps what the disk holds there.
func (s *Store) writeFineLocked(host string, b *fineBlock) error {
	if !b.dirty {
		return nil
	}
	f, err := s.file(host, true)
	if err != nil {
		return fmt.Errorf("load history: %w", err)
	}
	var block [minuteSlots * slotBytes]byte
	at := headerBytes + (b.minute*int64(minuteSlots)%int64(fineSlots))*slotBytes
	if !b.onDisk {
		if _, err := f.ReadAt(block[:], at); err == nil {
			for i := range b.slots {
				disk := getSlot(block[i*slotBytes:])
				if b.slots[i].stamp == 0 {
					b.slots[i] = disk
				} else {
					b.slots[i] = merge(disk, b.slots[i])
				}
			}
		}
		b.onDisk = true
	}
	for i, sl := range b.slots {
		sl.put(block[i*slotBytes:])
	}
	if _, err := f.WriteAt(block[:], at); err != nil {
		return fmt.Errorf("load history: %w", err)
	}
	s.blockWrites++
	b.dirty = false
	return nil
}

// writeCoarseLocked is writeFineLocked for a 5-minute slot.
func (s *Store) writeCoarseLocked(host string, cs *coarseSlot) error {
	if !cs.dirty {
		return nil
	}
	f, err := s.file(host, true)
	if err != nil {
		return fmt.Errorf("load history: %w", err)
	}
	var b [slotBytes]byte
	at := int64(coarseOffset) + int64(int(cs.stamp)%coarseSlots)*slotBytes
	if !cs.onDisk {
		if _, err := f.ReadAt(b[:], at); err == nil {
			cs.slot = merge(getSlot(b[:]), cs.slot)
		}
		cs.onDisk = true
	}
	cs.put(b[:])
	if _, err := f.WriteAt(b[:], at); err != nil {
		return fmt.Errorf("load history: %w", err)
	}
	cs.dirty = false
	return nil
}

// Samples are host's samples from from to to, oldest first: 5-minute
// peaks before the fine ring's 48 hours, 10-second samples within it; at
// most limit of them (the oldest), and more when the range held more.
func (s *Store) Samples(host string, from, to time.Time, limit int) (samples []protocol.LoadSample, more bool, err error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.current[host]; c != nil {
		if err := s.writeCurrentLocked(host, c); err != nil {
			return nil, false, err
		}
	}
	f, err := s.file(host, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("load history: %w", err)
	}
	if s.open[host] != f {
		defer f.Close()
		var head [len(magic)]byte
		if st, err := f.Stat(); err != nil || st.Size() != int64(fileBytes) {
			return nil, false, nil // not (yet) a history file: nothing kept
		}
		if _, err := f.ReadAt(head[:], 0); err != nil || string(head[:]) != magic {
			return nil, false, nil
		}
	}
	// A slot holds the time it belongs to, so whatever the fine ring still
	// holds of the range is exact: 10 s where it was not yet written over
	// (the last 48 hours of a host that reports, longer of one that
	// stopped), the 5-minute peaks before that, nothing beyond 90 days.
	from = maxTime(from, now.Add(-CoarseKeep))
	fine, err := readRing(f, headerBytes, fineSlots, FineStep, from, to)
	if err != nil {
		return nil, false, err
	}
	coarse, err := readRing(f, int64(coarseOffset), coarseSlots, CoarseStep, from, to)
	if err != nil {
		return nil, false, err
	}
	var out []protocol.LoadSample
	for _, c := range coarse {
		if len(fine) > 0 && c.At.Add(CoarseStep).After(fine[0].At.Time) {
			break
		}
		out = append(out, c)
	}
	out = append(out, fine...)
	if limit > 0 && len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

func readRing(f *os.File, off int64, n int, step time.Duration, from, to time.Time) ([]protocol.LoadSample, error) {
	if to.Before(from) {
		return nil, nil
	}
	secs := int64(step / time.Second)
	lo, hi := (from.Unix()+secs-1)/secs, to.Unix()/secs
	if from.Unix()%secs == 0 {
		lo = from.Unix() / secs
	}
	if hi < lo {
		return nil, nil
	}
	// Read only the slots the range covers: a rewind asks for a minute.
	count := int(min(hi-lo+1, int64(n)))
	start := int(lo % int64(n))
	buf := make([]byte, count*slotBytes)
	first := min(count, n-start)
	if _, err := f.ReadAt(buf[:first*slotBytes], off+int64(start)*slotBytes); err != nil {
		return nil, fmt.Errorf("load history: %w", err)
	}
	if first < count {
		if _, err := f.ReadAt(buf[first*slotBytes:], off); err != nil {
			return nil, fmt.Errorf("load history: %w", err)
		}
	}
	var out []protocol.LoadSample
	for i := 0; i < count; i++ {
		sl := getSlot(buf[i*slotBytes:])
		if sl.stamp == 0 || int64(sl.stamp) < lo || int64(sl.stamp) > hi {
			continue
		}
		ls := protocol.LoadSample{At: protocol.At(time.Unix(int64(sl.stamp)*secs, 0).UTC()), Load1: math.Round(float64(sl.load1)*100) / 100, CPUs: int(sl.cpus)}
		if sl.mem > 0 {
			v := float64(sl.mem-1) / 100
			ls.MemUsedPct = &v
		}
		out = append(out, ls)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At.Time) })
	return out, nil
}

// At is host's newest sample at or before at and at most a minute older
// (5 minutes beyond the fine ring): where its load stood then.
func (s *Store) At(host string, at time.Time) (protocol.LoadSample, bool) {
	back := time.Minute
	if at.Before(s.now().Add(-FineKeep)) {
		back = CoarseStep
	}
	got, _, err := s.Samples(host, at.Add(-back), at, 0)
	if err != nil || len(got) == 0 {
		return protocol.LoadSample{}, false
	}
	return got[len(got)-1], true
}

// Hosts lists the hosts the store holds, in name order.
func (s *Store) Hosts() []string {
	entries, _ := os.ReadDir(s.dir)
	seen := map[string]bool{}
	for _, e := range entries {
		name, ok := strings.CutSuffix(strings.TrimPrefix(e.Name(), "h-"), ".load")
		if !ok {
			continue
		}
		if h, err := url.PathUnescape(name); err == nil {
			seen[h] = true
		}
	}
	s.mu.Lock()
	for h := range s.current { // not written yet
		seen[h] = true
	}
	s.mu.Unlock()
	out := make([]string, 0, len(seen))
	for h := range seen {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// LoadSamples is Samples for the hub's history requests.
func (s *Store) LoadSamples(ctx context.Context, host string, from, to time.Time, limit int) ([]protocol.LoadSample, bool, error) {
	return s.Samples(host, from, to, limit)
}

// LoadsAt is where every host's load stood at at: a rewind's loads. It
// reads a minute of each host's ring, not its history.
func (s *Store) LoadsAt(ctx context.Context, at time.Time) ([]protocol.Load, error) {
	step := FineStep
	if at.Before(s.now().Add(-FineKeep)) {
		step = CoarseStep
	}
	var out []protocol.Load
	for _, host := range s.Hosts() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if x, ok := s.At(host, at); ok {
			out = append(out, protocol.Load{Host: host, At: x.At, Interval: protocol.Duration(step), Load1: x.Load1, CPUs: x.CPUs, MemUsedPct: x.MemUsedPct})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	return out, nil
}
