package state

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Entry is one timeline line.
type Entry struct {
	Feed     string
	Seq      uint64
	Incident string
	At       time.Time
	Actor    string
	Kind     string
	Text     string
	Host     string
	Received time.Time
	Evidence *Evidence // for kind evidence: what ran on Host
	Outcome  string    // for kind delivery: delivered, retrying or failed
	// LateAfter is set on a responder's entry journaled after one of a
	// later time (made offline, sent on reconnecting): that time.
	LateAfter time.Time

	key int64 // position in the timeline: entries are held in key order
}

// Key is the entry's position in the timeline; it stays the entry's while
// the entry is held (see Timeline.Shifts for when indexes move).
func (e *Entry) Key() int64 { return e.key }

// Evidence is what an agent captured on a host, sanitised; output text
// keeps its lines.
type Evidence = protocol.EvidenceData

// Timeline holds entries once each, in order: each feed's entries in seq
// order (so pages of history fall into place), feeds interleaved as their
// entries arrived. An incident's timeline is its own entries merged with
// the fleet entries (of no incident) held before it was resolved; the
// fleet entries are indexed once, not once per incident, so memory grows
// with what is held, never with incidents x entries. It keeps at most cap
// entries in all, evicting the oldest and counting them per feed, so the
// reader knows older entries exist and can page them back in.
type Timeline struct {
	entries []*Entry           // by key; an entry never moves, so a pointer to it stays good
	fleet   []int64            // keys of entries of no incident
	own     map[string][]int64 // incident id -> keys of its own entries
	cut     map[string]int64   // resolved incident -> the last fleet key it shows
	bySeq   map[string][]seqKey
	cap     int

	// Dropped counts the entries evicted by the cap, Evicted the same per
	// feed; Shifts moves whenever an entry's index may have changed other
	// than by appending (an eviction, a page of history merged in before
	// the end), so a reader holding indexes re-reads them.
	Dropped int64
	Evicted map[string]int64
	Shifts  uint64
}

type seqKey struct {
	seq uint64
	key int64
}

// spacing is the room left between keys of entries appended live, so
// pages of history merged in between rarely need the keys renumbered.
const spacing = int64(1) << 36

// DefaultTimelineCap bounds a dashboard left open for a week.
const DefaultTimelineCap = 200_000

// NewTimeline returns an empty timeline holding at most cap entries.
func NewTimeline(cap int) *Timeline {
	if cap <= 0 {
		cap = DefaultTimelineCap
	}
	return &Timeline{own: map[string][]int64{}, cut: map[string]int64{}, bySeq: map[string][]seqKey{}, Evicted: map[string]int64{}, cap: cap}
}

// Cap is how many entries the timeline holds at most.
func (t *Timeline) Cap() int { return t.cap }

// SetClosed says whether an incident is resolved: a resolved incident's
// timeline takes no more fleet entries (they stay in the whole timeline),
// so a closed incident does not keep growing with new alerts.
func (t *Timeline) SetClosed(incidentID string, closed bool) {
	if !closed {
		delete(t.cut, incidentID)
		return
	}
	if _, ok := t.cut[incidentID]; !ok {
		t.cut[incidentID] = t.tailKey()
	}
}

// closeBefore closes an incident learnt from a page of history at the
// place of its frame (feed's seq), not at the end.
func (t *Timeline) closeBefore(incidentID, feed string, seq uint64) {
	idx := t.bySeq[feed]
	i := sort.Search(len(idx), func(i int) bool { return idx[i].seq >= seq })
	switch {
	case i > 0:
		t.cut[incidentID] = idx[i-1].key
	case len(t.entries) > 0:
		t.cut[incidentID] = t.entries[0].key - 1
	default:
		t.cut[incidentID] = 0
	}
}

func (t *Timeline) tailKey() int64 {
	if len(t.entries) == 0 {
		return -1
	}
	return t.entries[len(t.entries)-1].key
}

// Add appends an entry that arrived live. One of a feed's entries older
// than what is held from that feed (a seq below its newest) is put in
// its place instead, once.
func (t *Timeline) Add(e Entry) {
	if e.Seq > 0 {
		if idx := t.bySeq[e.Feed]; len(idx) > 0 && e.Seq <= idx[len(idx)-1].seq {
			t.Merge(e.Feed, []Entry{e})
			return
		}
	}
	if t.tailKey() > math.MaxInt64/2 {
		t.renumber() // after some 67 million entries: keys start low again
	}
	if !e.LateAfter.IsZero() && t.insertByTime(e) {
		return
	}
	e.key = 0
	if len(t.entries) > 0 {
		e.key = t.tailKey() + spacing
	}
	t.entries = append(t.entries, &e)
	t.index(&e)
	if len(t.entries) > t.cap {
		t.evict(len(t.entries) - t.cap*9/10)
	}
}

func (t *Timeline) index(e *Entry) {
	if e.Incident == "" {
		t.fleet = append(t.fleet, e.key)
	} else {
		t.own[e.Incident] = append(t.own[e.Incident], e.key)
	}
	if e.Seq > 0 {
		t.bySeq[e.Feed] = append(t.bySeq[e.Feed], seqKey{e.Seq, e.key})
	}
}

// Holds reports whether feed's entry seq is held.
func (t *Timeline) Holds(feed string, seq uint64) bool {
	idx := t.bySeq[feed]
	i := sort.Search(len(idx), func(i int) bool { return idx[i].seq >= seq })
	return i < len(idx) && idx[i].seq == seq
}

// Merge puts older entries of one feed in their places (each before the
// held entry of that feed with the next higher seq), skipping those held
// already, and returns how many it added. It never evicts: what a reader
// asked to page in stays (Room says whether there is room for a page).
func (t *Timeline) Merge(feed string, page []Entry) int {
	page = slices.Clone(page)
	slices.SortStableFunc(page, func(a, b Entry) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	var fresh []Entry
	for i, e := range page {
		if e.Seq == 0 || t.Holds(feed, e.Seq) || i > 0 && page[i-1].Seq == e.Seq {
			continue
		}
		e.Feed = feed
		fresh = append(fresh, e)
	}
	if len(fresh) == 0 {
		return 0
	}
	if !t.place(feed, fresh) {
		t.renumber()
		t.place(feed, fresh)
	}
	t.insert(fresh)
	t.Shifts++
	return len(fresh)
}

// place gives each of fresh (ascending seqs, none held) a key between
// its neighbours, packed towards the newer one so the next (older) page
// finds room below it; false when some gap is too narrow.
func (t *Timeline) place(feed string, fresh []Entry) bool {
	idx := t.bySeq[feed]
	for i := 0; i < len(fresh); {
		n := sort.Search(len(idx), func(k int) bool { return idx[k].seq > fresh[i].Seq })
		j := i + 1 // fresh[i:j] share the gap
		for j < len(fresh) && (n == len(idx) || fresh[j].Seq < idx[n].seq) {
			j++
		}
		count := int64(j - i)
		if n == len(idx) {
			// Nothing newer of this feed is held: after everything.
			base := t.tailKey()
			if len(t.entries) == 0 {
				base = -spacing
			}
			for k := range fresh[i:j] {
				fresh[i+k].key = base + spacing*int64(k+1)
			}
			i = j
			continue
		}
		next := idx[n].key
		pos := t.find(next)
		step := spacing
		if pos > 0 {
			prev := t.entries[pos-1].key
			step = min(spacing, (next-prev)/(2*(count+1)))
			if step < 1 {
				return false
			}
		}
		for k := range fresh[i:j] {
			fresh[i+k].key = next - step*(count-int64(k))
		}
		i = j
	}
	// Fresh entries put after everything may sit past entries placed in
	// gaps: keys must ascend with seq within the page.
	return slices.IsSortedFunc(fresh, func(a, b Entry) int { return cmpKey(a.key, b.key) })
}

func cmpKey(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// insert merges fresh (keyed, none held, of one feed) into the entries
// and the indexes they belong to, in place: a page costs a pass over what
// is held, never a rebuild of every index.
func (t *Timeline) insert(fresh []Entry) {
	slices.SortFunc(fresh, func(a, b Entry) int { return cmpKey(a.key, b.key) })
	held := make([]Entry, len(fresh)) // one allocation for the page
	copy(held, fresh)
	n := len(t.entries)
	t.entries = slices.Grow(t.entries, len(fresh))[:n+len(fresh)]
	// From the back: each run of held entries above a fresh one moves up
	// by how many fresh ones still go below it, in one copy.
	end := n
	for j := len(fresh) - 1; j >= 0; j-- {
		i := sort.Search(end, func(i int) bool { return t.entries[i].key > fresh[j].key })
		copy(t.entries[i+j+1:end+j+1], t.entries[i:end])
		t.entries[i+j] = &held[j]
		end = i
	}
	var fleet []int64
	own := map[string][]int64{}
	var seqs []seqKey
	for i := range fresh {
		e := &fresh[i]
		if e.Incident == "" {
			fleet = append(fleet, e.key)
		} else {
			own[e.Incident] = append(own[e.Incident], e.key)
		}
		seqs = append(seqs, seqKey{e.Seq, e.key})
	}
	byKey := func(a, b int64) int { return cmpKey(a, b) }
	t.fleet = mergeSorted(t.fleet, fleet, byKey)
	for id, keys := range own {
		t.own[id] = mergeSorted(t.own[id], keys, byKey)
	}
	feed := fresh[0].Feed
	t.bySeq[feed] = mergeSorted(t.bySeq[feed], seqs, func(a, b seqKey) int { return cmpKey(int64(a.seq), int64(b.seq)) })
}

// mergeSorted merges sorted add into sorted dst, in place from the back.
func mergeSorted[T any](dst, add []T, cmp func(a, b T) int) []T {
	if len(add) == 0 {
		return dst
	}
	n := len(dst)
	dst = slices.Grow(dst, len(add))[:n+len(add)]
	for i, j, w := n-1, len(add)-1, len(dst)-1; j >= 0; w-- {
		if i >= 0 && cmp(dst[i], add[j]) > 0 {
			dst[w] = dst[i]
			i--
		} else {
			dst[w] = add[j]
			j--
		}
	}
	return dst
}

// reindex rebuilds every index from the entries.
func (t *Timeline) reindex() {
	t.fleet = t.fleet[:0]
	for k := range t.own {
		delete(t.own, k)
	}
	for k := range t.bySeq {
		delete(t.bySeq, k)
	}
	for _, e := range t.entries {
		t.index(e)
	}
	for feed, idx := range t.bySeq {
		if !slices.IsSortedFunc(idx, func(a, b seqKey) int { return cmpKey(int64(a.seq), int64(b.seq)) }) {
			// Within a feed, keys follow seqs; a feed whose journal
			// rewound is dropped first (DropFeed), so this never holds
			// out of order for long: sort to keep lookups sound.
			slices.SortFunc(idx, func(a, b seqKey) int { return cmpKey(int64(a.seq), int64(b.seq)) })
			t.bySeq[feed] = idx
		}
	}
}

// renumber spaces the keys evenly again, keeping each resolved
// incident's cut at the same entry.
func (t *Timeline) renumber() {
	for id, c := range t.cut {
		i := sort.Search(len(t.entries), func(i int) bool { return t.entries[i].key > c })
		t.cut[id] = int64(i)*spacing - 1 // just below the first entry it does not show
	}
	for i := range t.entries {
		t.entries[i].key = int64(i) * spacing
	}
	t.reindex()
	t.Shifts++
}

// evict drops the n oldest entries.
func (t *Timeline) evict(n int) {
	n = min(n, len(t.entries))
	if n <= 0 {
		return
	}
	last := t.entries[n-1].key
	for i := range t.entries[:n] {
		t.Evicted[t.entries[i].Feed]++
	}
	t.entries = append([]*Entry(nil), t.entries[n:]...)
	t.Dropped += int64(n)
	t.Shifts++
	cut := func(keys []int64) []int64 {
		i := sort.Search(len(keys), func(i int) bool { return keys[i] > last })
		return append([]int64(nil), keys[i:]...)
	}
	t.fleet = cut(t.fleet)
	for k, keys := range t.own {
		if keys = cut(keys); len(keys) == 0 {
			delete(t.own, k)
		} else {
			t.own[k] = keys
		}
	}
	for f, idx := range t.bySeq {
		i := sort.Search(len(idx), func(i int) bool { return idx[i].key > last })
		if i == len(idx) {
			delete(t.bySeq, f)
		} else {
			t.bySeq[f] = append([]seqKey(nil), idx[i:]...)
		}
	}
}

// Room reports whether n more entries fit without evicting any.
func (t *Timeline) Room(n int) bool { return len(t.entries)+n <= t.cap }

// fleetShown is how many fleet entries an incident's timeline shows.
func (t *Timeline) fleetShown(incidentID string) int {
	c, closed := t.cut[incidentID]
	if !closed {
		return len(t.fleet)
	}
	return sort.Search(len(t.fleet), func(i int) bool { return t.fleet[i] > c })
}

// Len is the number of entries of incident ("" for all entries).
func (t *Timeline) Len(incidentID string) int {
	if incidentID == "" {
		return len(t.entries)
	}
	return len(t.own[incidentID]) + t.fleetShown(incidentID)
}

// At returns the i-th entry of incident ("" for all entries).
func (t *Timeline) At(incidentID string, i int) *Entry {
	if incidentID == "" {
		return t.entries[i]
	}
	return t.entries[t.find(t.keyAt(incidentID, i))]
}

// keyAt is the i-th key of the merge of the incident's own keys and the
// fleet keys it shows: a binary search over how many come from its own.
func (t *Timeline) keyAt(incidentID string, i int) int64 {
	a, b := t.own[incidentID], t.fleet[:t.fleetShown(incidentID)]
	lo, hi := max(0, i+1-len(b)), min(i+1, len(a))
	n := lo + sort.Search(hi-lo, func(k int) bool {
		x := lo + k // take x from a, i+1-x from b
		return a[x] > b[i-x]
	})
	switch {
	case n == 0:
		return b[i]
	case n == i+1:
		return a[n-1]
	}
	return max(a[n-1], b[i-n])
}

// IndexOf returns the index of the entry with key in incident's timeline
// ("" for all): where it is, or where it would be.
func (t *Timeline) IndexOf(incidentID string, key int64) int {
	below := func(keys []int64) int { return sort.Search(len(keys), func(i int) bool { return keys[i] >= key }) }
	if incidentID == "" {
		return sort.Search(len(t.entries), func(i int) bool { return t.entries[i].key >= key })
	}
	return below(t.own[incidentID]) + below(t.fleet[:t.fleetShown(incidentID)])
}

// find returns the index in entries of key (which is held).
func (t *Timeline) find(key int64) int {
	return sort.Search(len(t.entries), func(i int) bool { return t.entries[i].key >= key })
}

// Total is the number of entries held.
func (t *Timeline) Total() int { return len(t.entries) }

// Oldest returns the lowest seq held of feed's entries of incident ("":
// of the feed's fleet entries), or 0 when none is held.
func (t *Timeline) Oldest(feed, incidentID string) uint64 {
	keys := t.fleet
	if incidentID != "" {
		keys = t.own[incidentID]
	}
	for _, k := range keys {
		if e := t.entries[t.find(k)]; e.Feed == feed && e.Seq > 0 {
			return e.Seq
		}
	}
	return 0
}

// OldestOfFeed returns the lowest seq held from feed, or 0.
func (t *Timeline) OldestOfFeed(feed string) uint64 {
	if idx := t.bySeq[feed]; len(idx) > 0 {
		return idx[0].seq
	}
	return 0
}

// DropFeed removes every entry that came from feed (its journal changed).
func (t *Timeline) DropFeed(feed string) {
	kept := t.entries[:0]
	for _, e := range t.entries {
		if e.Feed != feed {
			kept = append(kept, e)
		}
	}
	clear(t.entries[len(kept):])
	t.entries = kept
	delete(t.Evicted, feed)
	t.reindex()
	t.Shifts++
}

// lateReach is how far back from the newest entry a late arrival is put
// in time order: a note made offline for minutes, not a day's journal.
const lateReach = 512

// insertByTime puts e, a late arrival (journaled after entries of later
// times), before the newest entries whose time is after its own, so the
// timeline reads in time order; false when it belongs at the end. Within
// its feed it is then the one entry whose key does not follow its seq;
// lookups by seq stay sound (its seq is the feed's newest) and reindex
// sorts by seq.
func (t *Timeline) insertByTime(e Entry) bool {
	n := len(t.entries)
	p := n
	for p > 0 && n-p < lateReach && t.entries[p-1].At.After(e.At) {
		p--
	}
	if p == n {
		return false
	}
	key := func() (int64, bool) {
		next := t.entries[p].key
		prev := next - 2*spacing
		if p > 0 {
			prev = t.entries[p-1].key
		}
		return prev + (next-prev)/2, next-prev >= 2
	}
	k, ok := key()
	if !ok {
		t.renumber()
		k, _ = key()
	}
	e.key = k
	t.insert([]Entry{e})
	t.Shifts++
	if len(t.entries) > t.cap {
		t.evict(len(t.entries) - t.cap*9/10)
	}
	return true
}
