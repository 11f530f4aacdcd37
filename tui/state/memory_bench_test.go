package state

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// heapInUse is the heap in use after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func rssMiB() float64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// journalFeed builds what a hub sends, in seq order, through the
// reducer's one entry point, in batches as the client drains them.
type journalFeed struct {
	s     *State
	seq   uint64
	batch []Event
	book  incident.Book
	clock time.Time
}

func newJournalFeed(s *State) *journalFeed {
	return &journalFeed{s: s, book: incident.Defaults(), clock: t0}
}

func (f *journalFeed) send(m protocol.Message) {
	f.batch = append(f.batch, JournalEvent{Feed: "hub", Msg: m})
	if len(f.batch) == 1000 {
		f.flush()
	}
}

func (f *journalFeed) flush() {
	f.s.Apply(Batch{Events: f.batch}, f.clock)
	f.batch = nil
}

func (f *journalFeed) fleet() {
	f.seq++
	f.clock = f.clock.Add(31536 * time.Millisecond) // a million a year
	h := "web-" + strconv.Itoa(int(f.seq%200))
	f.send(&protocol.Entry{Seq: f.seq, At: protocol.At(f.clock), Actor: h, Kind: protocol.EntryAlert, Host: h,
		Text: fmt.Sprintf("exim on %s ok → down: connect 127.0.0.1:25: connection refused", h)})
}

func (f *journalFeed) declare(k int, resolved bool) {
	id := "INC-" + strconv.Itoa(k)
	inc, es, _ := f.book.Declare(id, protocol.Command{ID: "c-" + id, Actor: "alice", Op: "declare", Title: "Mail down on web-3", Severity: "SEV2", Kind: "outage"}, f.clock)
	f.seq++
	es[0].Seq = f.seq
	f.send(&es[0])
	if resolved {
		inc.Status = protocol.StatusResolved
		inc.ResolvedAt = protocol.TimePtr(f.clock)
	}
	f.seq++
	f.send(&protocol.IncidentMsg{Seq: f.seq, Incident: inc})
}

// BenchmarkTimelineMemory: the dashboard reducer's heap in use after
// 100,000 fleet entries with 1, 100 and 300 incidents open (declared
// first, the worst case of the old per-incident index): flat.
func BenchmarkTimelineMemory(b *testing.B) {
	for _, incidents := range []int{1, 100, 300} {
		b.Run(fmt.Sprintf("fleet=100000/incidents=%d", incidents), func(b *testing.B) {
			var heap float64
			for b.Loop() {
				before := heapInUse()
				s := New(level.Defaults(), 0)
				f := newJournalFeed(s)
				for k := 1; k <= incidents; k++ {
					f.declare(k, false)
				}
				for i := 0; i < 100_000; i++ {
					f.fleet()
				}
				f.flush()
				heap = float64(heapInUse()-before) / (1 << 20)
				if s.Timeline.Len("INC-1") != 100_001 {
					b.Fatalf("INC-1 shows %d", s.Timeline.Len("INC-1"))
				}
				runtime.KeepAlive(s)
			}
			b.ReportMetric(heap, "heap-MiB")
		})
	}
}

// BenchmarkCompactedReplayMemory: the reducer after what a compacted
// replay of a 1,000,000-entry journal with 1,000 incidents (10 open)
// sends with a 24-hour window: every incident's newest frame, the open
// incidents' entries and the window's fleet entries (a fleet entry every
// 31.5 s, as the hub's journal benchmark builds it); then the same
// dashboard after the reader paged history in up to the timeline's cap,
// the most it ever holds. Heap in use after GC, this process's RSS (the
// test binary's own included), and what merging one page costs Update
// once the timeline holds more than 150,000 entries.
func BenchmarkCompactedReplayMemory(b *testing.B) {
	const incidents, window = 1000, 24 * time.Hour
	fleetInWindow := int(window / (31536 * time.Millisecond))
	var heap, paged, rss, rssPaged float64
	var held, heldPaged, merges int
	var mergeTime time.Duration
	for b.Loop() {
		before := heapInUse()
		s := New(level.Defaults(), 0)
		f := newJournalFeed(s)
		for k := 1; k <= incidents; k++ {
			open := k%100 == 0
			f.declare(k, !open)
			if open {
				f.seq++
				f.send(&protocol.Entry{Seq: f.seq, Incident: "INC-" + strconv.Itoa(k), At: protocol.At(f.clock), Actor: "alice", Kind: protocol.EntryNote, Text: "exim queue full of bounces; copying logs before any restart"})
			}
		}
		f.seq = 1_000_000 - uint64(fleetInWindow)
		for i := 0; i < fleetInWindow; i++ {
			f.fleet()
		}
		f.flush()
		s.Apply(Batch{Health: []Health{{Feed: "hub", State: FeedSynced, Compacted: true, Oldest: 1}}}, f.clock)
		heap, rss, held = float64(heapInUse()-before)/(1<<20), rssMiB(), s.Timeline.Total()

		// Page the whole timeline back until the cap stops it.
		for id := 1; ; id++ {
			reqs := s.AskOlder("", f.clock)
			if len(reqs) == 0 {
				break
			}
			s.Asked(reqs[0], strconv.Itoa(id), nil, f.clock)
			page := HistoryPage{Feed: "hub", ID: strconv.Itoa(id), More: true}
			for seq := reqs[0].Before - HistoryPageSize; seq < reqs[0].Before; seq++ {
				h := "web-" + strconv.Itoa(int(seq%200))
				page.Messages = append(page.Messages, &protocol.Entry{Seq: seq, At: protocol.At(t0), Actor: h, Kind: protocol.EntryAlert, Host: h,
					Text: fmt.Sprintf("exim on %s ok → down: connect 127.0.0.1:25: connection refused", h)})
			}
			start := time.Now()
			s.Apply(Batch{History: []HistoryPage{page}}, f.clock)
			if s.Timeline.Total() > 150_000 {
				mergeTime += time.Since(start)
				merges++
			}
		}
		paged, rssPaged, heldPaged = float64(heapInUse()-before)/(1<<20), rssMiB(), s.Timeline.Total()
		runtime.KeepAlive(s)
	}
	b.ReportMetric(float64(held), "entries")
	b.ReportMetric(heap, "heap-MiB")
	b.ReportMetric(rss, "rss-MiB")
	b.ReportMetric(float64(heldPaged), "paged-entries")
	b.ReportMetric(paged, "paged-heap-MiB")
	b.ReportMetric(rssPaged, "paged-rss-MiB")
	b.ReportMetric(float64(mergeTime.Microseconds())/float64(max(1, merges))/1000, "page-merge-ms")
}
