package state

import (
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
}

// Evidence is what an agent captured on a host, sanitised; output text
// keeps its lines.
type Evidence = protocol.EvidenceData

// Timeline holds entries in arrival order with a per-incident index, so
// showing one incident's timeline costs what is visible, not what is held.
// It keeps at most cap entries, dropping the oldest (the journal on the
// server keeps them all; export reads it).
type Timeline struct {
	entries []Entry
	base    int64              // local id of entries[0]
	lists   map[string][]int64 // incident id -> ids of its entries and the system ones
	closed  map[string]bool    // resolved incidents: no more system entries
	system  []int64            // ids of entries that belong to no incident
	cap     int
	Dropped int64
}

// DefaultTimelineCap bounds a dashboard left open for a week.
const DefaultTimelineCap = 200_000

// NewTimeline returns an empty timeline holding at most cap entries.
func NewTimeline(cap int) *Timeline {
	if cap <= 0 {
		cap = DefaultTimelineCap
	}
	return &Timeline{lists: map[string][]int64{}, closed: map[string]bool{}, cap: cap}
}

// SetClosed says whether an incident is resolved: a resolved incident's
// timeline takes no more fleet entries (they stay in the whole timeline,
// "" in Len and At), so a closed incident does not keep growing with new
// alerts.
func (t *Timeline) SetClosed(incidentID string, closed bool) {
	if closed {
		t.closed[incidentID] = true
	} else {
		delete(t.closed, incidentID)
	}
}

// AddList starts the index of an incident, seeded with the system entries
// already held: they are the context the incident started in.
func (t *Timeline) AddList(incidentID string) {
	if _, ok := t.lists[incidentID]; !ok {
		t.lists[incidentID] = append([]int64(nil), t.system...)
	}
}

// Add appends an entry.
func (t *Timeline) Add(e Entry) {
	id := t.base + int64(len(t.entries))
	t.entries = append(t.entries, e)
	if e.Incident == "" {
		t.system = append(t.system, id)
		for k := range t.lists {
			if !t.closed[k] {
				t.lists[k] = append(t.lists[k], id)
			}
		}
	} else {
		if _, ok := t.lists[e.Incident]; !ok {
			t.AddList(e.Incident)
		}
		t.lists[e.Incident] = append(t.lists[e.Incident], id)
	}
	if len(t.entries) > t.cap {
		t.trim(len(t.entries) - t.cap*9/10)
	}
}

func (t *Timeline) trim(n int) {
	t.entries = append([]Entry(nil), t.entries[n:]...)
	t.base += int64(n)
	t.Dropped += int64(n)
	cut := func(ids []int64) []int64 {
		i := sort.Search(len(ids), func(i int) bool { return ids[i] >= t.base })
		return append([]int64(nil), ids[i:]...)
	}
	t.system = cut(t.system)
	for k, ids := range t.lists {
		t.lists[k] = cut(ids)
	}
}

// Len is the number of entries of incident ("" for all entries).
func (t *Timeline) Len(incidentID string) int {
	if incidentID == "" {
		return len(t.entries)
	}
	return len(t.lists[incidentID])
}

// At returns the i-th entry of incident ("" for all entries).
func (t *Timeline) At(incidentID string, i int) *Entry {
	if incidentID == "" {
		return &t.entries[i]
	}
	return &t.entries[t.lists[incidentID][i]-t.base]
}

// Total is the number of entries held.
func (t *Timeline) Total() int { return len(t.entries) }

// DropFeed removes every entry that came from feed (its journal changed).
func (t *Timeline) DropFeed(feed string) {
	kept := t.entries[:0:0]
	for _, e := range t.entries {
		if e.Feed != feed {
			kept = append(kept, e)
		}
	}
	old := t.lists
	*t = Timeline{lists: map[string][]int64{}, closed: t.closed, cap: t.cap, Dropped: t.Dropped}
	for k := range old {
		t.lists[k] = nil
	}
	for _, e := range kept {
		t.Add(e)
	}
}
