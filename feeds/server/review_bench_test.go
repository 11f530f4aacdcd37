package server

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// BenchmarkRewind: the board at a moment in the middle of a journal of
// 1,000,000 entries (a year of a 200-host fleet, 1,000 incidents), read
// by a hub over it: what a rewind costs is the board, not the journal.
func BenchmarkRewind(b *testing.B) {
	dir := benchJournal(b, 1_000_000)
	j, _, err := journal.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	h := NewHub(j, Options{})
	defer h.Close()
	var first, last time.Time
	j.Range(1, 1, func(m journal.Message) bool { e, _ := m.Decode(); first = entryAt(e); return false })
	j.Range(j.Seq(), j.Seq(), func(m journal.Message) bool { e, _ := m.Decode(); last = entryAt(e); return false })
	moments := []time.Time{first.Add(last.Sub(first) / 2), first.Add(last.Sub(first) / 4), last.Add(-time.Hour)}
	var services, entries, incidents int
	i := 0
	for b.Loop() {
		ans, err := h.Rewind(context.Background(), moments[i%len(moments)])
		if err != nil {
			b.Fatal(err)
		}
		services, entries, incidents = len(ans.Services), len(ans.Entries), len(ans.Incidents)
		i++
	}
	b.ReportMetric(float64(services), "services")
	b.ReportMetric(float64(entries), "entries")
	b.ReportMetric(float64(incidents), "incidents")
}

func entryAt(m protocol.Message) time.Time {
	switch v := m.(type) {
	case *protocol.Entry:
		return v.At.Time
	case *protocol.IncidentMsg:
		return v.Incident.OpenedAt.Time
	}
	return time.Time{}
}
