package state

import (
	"fmt"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Paging older history in. A compacted replay (or the timeline's cap)
// leaves older journal messages on the hub; when the reader scrolls past
// the oldest entry held, the dashboard asks for the page before it. The
// rules of what to ask for, and of what an answer changes, live here; the
// asking itself is the dashboard's (a command, never in Update).

// Source is what a history request pages through: one feed's whole
// timeline (Incident "") or one incident's entries.
type Source struct{ Feed, Incident string }

// HistoryRequest is one page to ask a feed for: up to Limit journal
// messages below Before (0: the newest).
type HistoryRequest struct {
	Source
	Before uint64
	Limit  int
}

// HistoryPageSize is how many messages a page asks for.
const HistoryPageSize = 200

// historyTimeout is how long an unanswered request keeps "loading": a
// hub that cannot read its journal answers nack, which no command waits
// for, and one without history does not answer at all.
const historyTimeout = 30 * time.Second

type ask struct {
	req HistoryRequest
	id  string // the client's request id, once sent
	at  time.Time
}

type pageResult struct {
	more   bool
	lowest uint64 // the lowest seq of the page's messages, 0 if none
}

type floor struct {
	seq     uint64 // the whole timeline's pages reached down to this seq
	evicted int64  // the feed's evictions when it was set
}

type paging struct {
	asks      map[Source]*ask
	byID      map[string]Source
	early     map[string]pageResult // answers that arrived before their id
	exhausted map[Source]int64      // nothing older (as of the feed's evictions then)
	floors    map[string]floor
}

func newPaging() paging {
	return paging{asks: map[Source]*ask{}, byID: map[string]Source{}, early: map[string]pageResult{},
		exhausted: map[Source]int64{}, floors: map[string]floor{}}
}

// AskOlder returns the pages to ask for because the reader scrolled past
// the oldest entry held of incidentID's timeline ("" for the whole
// timeline: one request per feed), and marks them in flight: a source
// already waiting, known to hold nothing older, or on a hub whose replay
// was whole (and nothing was evicted) is not asked again. A page that
// would not fit under the timeline's cap is not asked for either.
func (s *State) AskOlder(incidentID string, now time.Time) []HistoryRequest {
	var sources []Source
	if incidentID != "" {
		in := s.incidents[incidentID]
		if in == nil {
			return nil
		}
		sources = []Source{{Feed: in.Feed, Incident: incidentID}}
	} else {
		for _, h := range s.health {
			sources = append(sources, Source{Feed: h.Feed})
		}
	}
	var out []HistoryRequest
	for _, src := range sources {
		if !s.mayHaveOlder(src) {
			continue
		}
		if !s.Timeline.Room(HistoryPageSize) {
			s.Notice = Notice{At: now, Text: fmt.Sprintf("the timeline holds its most (%d entries): older ones are in the journal (vigil export)", s.Timeline.Cap())}
			continue
		}
		req := HistoryRequest{Source: src, Before: s.before(src), Limit: HistoryPageSize}
		if req.Before == 1 || req.Before != 0 && req.Before <= s.oldestOnHub(src.Feed) {
			s.paging.exhausted[src] = s.Timeline.Evicted[src.Feed]
			continue
		}
		s.paging.asks[src] = &ask{req: req, at: now}
		out = append(out, req)
	}
	if len(out) > 0 {
		s.TimelineVersion++
	}
	return out
}

func (s *State) mayHaveOlder(src Source) bool {
	if _, waiting := s.paging.asks[src]; waiting {
		return false
	}
	if ev, done := s.paging.exhausted[src]; done && ev == s.Timeline.Evicted[src.Feed] {
		return false
	}
	if s.Timeline.Evicted[src.Feed] > 0 {
		return true
	}
	for i := range s.health {
		if s.health[i].Feed == src.Feed {
			return s.health[i].Compacted
		}
	}
	return false
}

func (s *State) oldestOnHub(feed string) uint64 {
	for i := range s.health {
		if s.health[i].Feed == feed {
			return s.health[i].Oldest
		}
	}
	return 0
}

// before is the seq the next page of src ends below: for an incident its
// oldest entry held; for the whole timeline the lowest seq above which
// every entry is held (a compacted replay holds open incidents' older
// entries across a hole, so not simply the lowest seq held): the oldest
// fleet entry held, or how far earlier pages reached.
func (s *State) before(src Source) uint64 {
	b := s.Timeline.Oldest(src.Feed, src.Incident)
	if src.Incident != "" {
		return b
	}
	if f, ok := s.paging.floors[src.Feed]; ok {
		seq := f.seq
		if f.evicted != s.Timeline.Evicted[src.Feed] {
			seq = max(seq, s.Timeline.OldestOfFeed(src.Feed)) // evicted since: held from there
		}
		if b == 0 || seq < b {
			b = seq
		}
	}
	return b
}

// Asked records what became of a request AskOlder returned: the
// client's id for it, or why it could not be sent.
func (s *State) Asked(req HistoryRequest, id string, err error, now time.Time) {
	a := s.paging.asks[req.Source]
	if a == nil || a.id != "" || a.req != req {
		return // dropped meanwhile (a disconnect): the answer, if any, still merges
	}
	if err != nil {
		delete(s.paging.asks, req.Source)
		s.Notice = Notice{At: now, Text: Sanitize(fmt.Sprintf("older entries from %s: %v", req.Feed, err)), Error: true}
		s.TimelineVersion++
		return
	}
	a.id = id
	s.paging.byID[id] = req.Source
	if r, ok := s.paging.early[id]; ok {
		delete(s.paging.early, id)
		s.finishAsk(req.Source, r)
	}
}

// LoadingOlder reports whether a page of incidentID's timeline ("" for
// the whole timeline) is being waited for.
func (s *State) LoadingOlder(incidentID string) bool {
	for src := range s.paging.asks {
		if incidentID == "" || src.Incident == incidentID {
			return true
		}
	}
	return false
}

// applyHistory merges an answer: entries into their places, sanitised,
// once each; an incident frame only of an incident not known (an older
// frame never overrides the newest).
func (s *State) applyHistory(p *HistoryPage, now time.Time) {
	for i := range s.health {
		if h := &s.health[i]; h.Feed == p.Feed && h.Journal != "" && p.Journal != "" && h.Journal != p.Journal {
			return // read from the journal the feed had before: nothing of it is held now
		}
	}
	if p.Error != "" {
		// Refused (the hub could not read its journal): say so and let the
		// reader ask again, without taking the refusal for the end.
		if src, ok := s.paging.byID[p.ID]; ok {
			delete(s.paging.byID, p.ID)
			delete(s.paging.asks, src)
		}
		s.Notice = Notice{At: now, Text: Sanitize(fmt.Sprintf("older entries from %s: %s", p.Feed, p.Error)), Error: true}
		s.TimelineVersion++
		return
	}
	var entries []Entry
	r := pageResult{more: p.More}
	for _, m := range p.Messages {
		var seq uint64
		switch v := m.(type) {
		case *protocol.Entry:
			seq = v.Seq
			entries = append(entries, entryOf(p.Feed, v))
		case *protocol.IncidentMsg:
			seq = v.Seq
			in := sanitizeIncident(v.Incident)
			if _, known := s.incidents[in.ID]; !known && in.ID != "" {
				s.incOrder = append(s.incOrder, in.ID)
				s.incidents[in.ID] = &Incident{Feed: p.Feed, Incident: in}
				if in.Resolved() {
					s.Timeline.closeBefore(in.ID, p.Feed, seq)
				}
				s.IncidentsVersion++
			}
		}
		if seq > 0 && (r.lowest == 0 || seq < r.lowest) {
			r.lowest = seq
		}
	}
	s.Timeline.Merge(p.Feed, entries)
	s.TimelineVersion++
	src, ok := s.paging.byID[p.ID]
	if !ok {
		if len(s.paging.early) >= 16 {
			clear(s.paging.early) // answers nobody asked for: never unbounded
		}
		s.paging.early[p.ID] = r
		return
	}
	delete(s.paging.byID, p.ID)
	s.finishAsk(src, r)
}

func (s *State) finishAsk(src Source, r pageResult) {
	a := s.paging.asks[src]
	delete(s.paging.asks, src)
	if src.Incident == "" && a != nil {
		low := r.lowest
		if low == 0 {
			low = a.req.Before
		}
		if low > 0 {
			s.paging.floors[src.Feed] = floor{seq: low, evicted: s.Timeline.Evicted[src.Feed]}
		}
	}
	if !r.more {
		s.paging.exhausted[src] = s.Timeline.Evicted[src.Feed]
	}
	s.TimelineVersion++
}

// expireAsks gives up on requests unanswered for too long, so the reader
// can ask again.
func (s *State) expireAsks(now time.Time) {
	for src, a := range s.paging.asks {
		if now.Sub(a.at) > historyTimeout {
			s.dropAsk(src, a)
			s.Notice = Notice{At: now, Text: fmt.Sprintf("feed %s did not answer for older entries: scroll up to ask again", src.Feed), Error: true}
		}
	}
}

func (s *State) dropAsk(src Source, a *ask) {
	delete(s.paging.asks, src)
	if a.id != "" {
		delete(s.paging.byID, a.id)
	}
	s.TimelineVersion++
}

// dropAsks forgets feed's requests in flight (its connection ended).
func (s *State) dropAsks(feed string) {
	for src, a := range s.paging.asks {
		if src.Feed == feed {
			s.dropAsk(src, a)
		}
	}
}

// forgetPaging forgets all paging of a feed whose journal changed.
func (s *State) forgetPaging(feed string) {
	s.dropAsks(feed)
	for src := range s.paging.exhausted {
		if src.Feed == feed {
			delete(s.paging.exhausted, src)
		}
	}
	delete(s.paging.floors, feed)
}
