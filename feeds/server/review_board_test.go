package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// boardOf reads msgs (oldest first, as the journal has them) into a
// board the way a rewind does, newest first, and finishes it.
func boardOf(msgs []journal.Message, at time.Time) *protocol.Rewind {
	ans := &protocol.Rewind{Services: []protocol.Service{}, Pages: []json.RawMessage{}, Entries: []protocol.Entry{}}
	b := newRewindBoard(ans, at)
	for i := len(msgs) - 1; i >= 0; i-- {
		b.read(&msgs[i])
	}
	b.finish()
	return ans
}

// framed is ms as the journal holds them, numbered from 1.
func framed(ms ...protocol.Message) []journal.Message {
	out := make([]journal.Message, len(ms))
	for i, m := range ms {
		seq := uint64(i + 1)
		switch v := m.(type) {
		case *protocol.Entry:
			v.Seq = seq
		case *protocol.IncidentMsg:
			v.Seq = seq
		case *protocol.PageMsg:
			v.Seq = seq
		}
		out[i] = journal.Message{Seq: seq, Frame: protocol.MustEncode(m)}
	}
	return out
}

func transitionAt(at time.Time, host, service, from, to, detail string) *protocol.Entry {
	text := fmt.Sprintf("%s on %s %s → %s", service, host, from, to)
	if detail != "" {
		text += ": " + detail
	}
	e := transitionEntry(protocol.Service{Host: host, Service: service, State: to, At: protocol.At(at)}, from, text)
	return &e
}

// The board from a few messages: each service at its newest transition
// (a legacy one read from its text), a load level no service, incident
// frames left out, each page at its newest frame unless it ended more
// than a day before; entries and pages oldest first, services by key.
func TestRewindBoardPlacesTheNewest(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	at := t0.Add(time.Hour)
	minute := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	page := func(id, status string, resolved *protocol.Time) *protocol.PageMsg {
		return &protocol.PageMsg{Page: protocol.Page{ID: id, Status: status, OpenedAt: protocol.At(t0), ResolvedAt: resolved}}
	}
	msgs := framed(
		transitionAt(minute(1), "web-3", "exim", "new", protocol.StateDown, "connect: refused"),
		&protocol.Entry{At: protocol.At(minute(2)), Actor: "web-1", Kind: protocol.EntryAlert, Text: "httpd on web-1 ok → warn: slow"},
		&protocol.Entry{At: protocol.At(minute(3)), Actor: "web-3", Kind: protocol.EntryAlert, Host: "web-3", Level: "crit",
			Text: "load on web-3 ok → crit: load1 9.00 on 4 CPUs"},
		&protocol.IncidentMsg{Incident: protocol.Incident{ID: "INC-1", Title: "Mail delayed", Status: protocol.StatusInvestigating, OpenedAt: protocol.At(minute(4))}},
		page("PG-1", protocol.PageTriggered, nil),
		&protocol.Entry{At: protocol.At(minute(6)), Actor: "alice", Kind: protocol.EntryNote, Text: "looking"},
		page("PG-2", protocol.PageResolved, protocol.TimePtr(at.Add(-48*time.Hour))),
		page("PG-3", protocol.PageResolved, protocol.TimePtr(at.Add(-time.Hour))),
		transitionAt(minute(9), "web-3", "exim", protocol.StateDown, protocol.StateOK, ""),
		page("PG-1", protocol.PageAcknowledged, nil),
	)
	ans := boardOf(msgs, at)

	var texts []string
	for _, e := range ans.Entries {
		texts = append(texts, e.Text)
	}
	if want := []string{"exim on web-3 new → down: connect: refused", "httpd on web-1 ok → warn: slow",
		"load on web-3 ok → crit: load1 9.00 on 4 CPUs", "looking", "exim on web-3 down → ok"}; fmt.Sprint(texts) != fmt.Sprint(want) {
		t.Errorf("entries %q, want %q", texts, want)
	}
	var services []string
	for _, s := range ans.Services {
		services = append(services, fmt.Sprintf("%s/%s %s since %s %q", s.Host, s.Service, s.State, s.Since.Format("15:04"), s.Detail))
	}
	if want := []string{`web-1/httpd warn since 02:02 "slow"`, `web-3/exim ok since 02:09 ""`}; fmt.Sprint(services) != fmt.Sprint(want) {
		t.Errorf("services %q, want %q", services, want)
	}
	if len(ans.Pages) != 2 || !bytes.Equal(ans.Pages[0], msgs[7].Frame) || !bytes.Equal(ans.Pages[1], msgs[9].Frame) {
		t.Errorf("pages %s, want PG-3 then PG-1 acknowledged, as journaled", ans.Pages)
	}
}

// Once it holds rewindEntries entries, the board reads on only for the
// services not yet placed: an older transition of a placed one, or an
// entry that is no transition, is not even decoded.
func TestRewindBoardPastTheEntries(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)
	sec := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ms := []protocol.Message{
		transitionAt(sec(0), "web-3", "exim", "new", protocol.StateDown, ""),
		&protocol.Entry{At: protocol.At(sec(1)), Actor: "alice", Kind: protocol.EntryNote, Text: "older note"},
		transitionAt(sec(2), "web-3", "exim", protocol.StateDown, protocol.StateOK, ""),
		transitionAt(sec(3), "web-5", "ntp", "new", protocol.StateWarn, "drift 2s"),
	}
	for i := range rewindEntries {
		ms = append(ms, &protocol.Entry{At: protocol.At(sec(10 + i)), Actor: "alice", Kind: protocol.EntryNote, Text: fmt.Sprintf("note %d", i)})
	}
	msgs := framed(ms...)
	ans := boardOf(msgs, sec(10+rewindEntries))

	if n := len(ans.Entries); n != rewindEntries || ans.Entries[0].Text != "note 0" || ans.Entries[n-1].Text != fmt.Sprintf("note %d", rewindEntries-1) {
		t.Fatalf("%d entries, from %q to %q", n, ans.Entries[0].Text, ans.Entries[n-1].Text)
	}
	var services []string
	for _, s := range ans.Services {
		services = append(services, fmt.Sprintf("%s/%s %s since %s", s.Host, s.Service, s.State, s.Since.Format("15:04:05")))
	}
	if want := []string{"web-3/exim ok since 02:00:02", "web-5/ntp warn since 02:00:03"}; fmt.Sprint(services) != fmt.Sprint(want) {
		t.Errorf("services %q, want %q", services, want)
	}
	for i, decoded := range []bool{false, false, true, true} {
		if got := msgs[i].Msg != nil; got != decoded {
			t.Errorf("%q decoded %v, want %v", msgs[i].Frame, got, decoded)
		}
	}
}

// How far back a rewind reads.
func TestRewindScanFrom(t *testing.T) {
	for _, tt := range []struct{ seq, oldest, want uint64 }{
		{5, 1, 1},
		{rewindScan, 1, 1},
		{rewindScan + 1, 1, 2},
		{rewindScan + 500, 100, 501},
		{rewindScan + 500, 1000, 1000},
	} {
		if got := rewindScanFrom(tt.seq, tt.oldest); got != tt.want {
			t.Errorf("rewindScanFrom(%d, %d) = %d, want %d", tt.seq, tt.oldest, got, tt.want)
		}
	}
}

// oneTransitionJournal is a journal whose first segment holds exim on
// web-3 going down, the segments after it notes. It returns the journal,
// reopened, its directory and the moment of its end.
func oneTransitionJournal(t *testing.T) (journal.Backend, string, time.Time) {
	t.Helper()
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
	opts := journal.Options{SegmentBytes: 1 << 10, Now: clk.Now}
	j, _, err := journal.OpenWith(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	batch := []protocol.Message{transitionAt(clk.Now(), "web-3", "exim", "new", protocol.StateDown, "connect: refused")}
	for i := range 300 {
		if len(batch) == 10 || i == 0 {
			if _, err := j.Append("", batch...); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
			clk.set(clk.Now().Add(time.Second))
		}
		batch = append(batch, &protocol.Entry{At: protocol.At(clk.Now()), Actor: "alice", Kind: protocol.EntryNote, Text: fmt.Sprintf("note %d", i)})
	}
	if _, err := j.Append("", batch...); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if j, _, err = journal.OpenWith(dir, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, dir, clk.Now()
}

// A service that last changed before the rewind's scan stands as its
// newest transition said; where that cannot be read, the rewind says so
// rather than show the board without it.
func TestRewindPlacesServicesOlderThanItsScan(t *testing.T) {
	j, dir, end := oneTransitionJournal(t)
	h := NewHub(j, Options{Now: func() time.Time { return end }})
	defer h.Close()
	seq := j.Seq()
	lo := seq - 99 // the newest hundred
	ans := &protocol.Rewind{Services: []protocol.Service{}, Pages: []json.RawMessage{}, Entries: []protocol.Entry{}}
	if err := h.rewindRead(ans, lo, seq, end); err != nil {
		t.Fatal(err)
	}
	if len(ans.Entries) != 100 || len(ans.Services) != 1 || ans.Services[0].Service != "exim" || ans.Services[0].State != protocol.StateDown {
		t.Fatalf("%d entries, services %+v", len(ans.Entries), ans.Services)
	}

	if err := os.Truncate(filepath.Join(dir, "journal-00000000000000000001.wal"), 0); err != nil {
		t.Fatal(err)
	}
	if err := j.Range(lo, seq, func(journal.Message) bool { return true }); err != nil {
		t.Fatalf("the scan reaches the damaged segment: %v", err)
	}
	ans = &protocol.Rewind{Services: []protocol.Service{}, Pages: []json.RawMessage{}, Entries: []protocol.Entry{}}
	if err := h.rewindRead(ans, lo, seq, end); !errors.Is(err, journal.ErrDamaged) {
		t.Fatalf("read over a damaged start-up seq: services %+v, err %v", ans.Services, err)
	}
}
