package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// testClock is one clock for the hub and its journal.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// subscribeRaw subscribes with since over a plain WebSocket and returns
// the journal frames replayed and the synced that ended the replay.
func subscribeRaw(t *testing.T, url string, since uint64, journalID string) (*websocket.Conn, []protocol.Message, *protocol.Synced) {
	t.Helper()
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	conn.ReadMessage() // hello
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{Since: since, Journal: journalID}))
	var got []protocol.Message
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		m, err := protocol.Decode(data)
		if err != nil {
			t.Fatalf("undecodable frame %s: %v", data, err)
		}
		switch v := m.(type) {
		case *protocol.Synced:
			return conn, got, v
		case *protocol.Entry, *protocol.IncidentMsg:
			got = append(got, m)
		}
	}
}

func describe(msgs []protocol.Message) []string {
	var out []string
	for _, m := range msgs {
		switch v := m.(type) {
		case *protocol.Entry:
			out = append(out, fmt.Sprintf("%d %s", v.Seq, v.Text))
		case *protocol.IncidentMsg:
			out = append(out, fmt.Sprintf("%d %s %s", v.Seq, v.Incident.ID, v.Incident.Status))
		}
	}
	return out
}

// twoNights journals an incident resolved three days ago, one still open
// from then, fleet entries of both times, and an incident of today.
func twoNights(t *testing.T, srv *running, clk *testClock) {
	t.Helper()
	h := srv.hub
	n := 0
	cmd := func(c protocol.Command) {
		n++
		c.ID, c.Actor = fmt.Sprintf("c-%d", n), "alice"
		if r := h.Apply(c, true, nil); r.Code != "" {
			t.Fatalf("%s: %s", c.Op, r.Frame)
		}
	}
	record := func(text string) {
		want := h.Seq() + 1
		h.record(protocol.Entry{Actor: "web-3", Kind: protocol.EntryAlert, Text: text})
		eventually(t, "recorded", func() bool { return h.Seq() >= want })
	}
	cmd(protocol.Command{Op: "declare", Title: "old", Severity: "SEV3", Kind: "outage"})       // 1 entry, 2 INC-1
	cmd(protocol.Command{Op: "note", Incident: "INC-1", Text: "old note"})                     // 3
	record("old fleet")                                                                        // 4
	cmd(protocol.Command{Op: "declare", Title: "lingering", Severity: "SEV2", Kind: "outage"}) // 5, 6 INC-2
	cmd(protocol.Command{Op: "note", Incident: "INC-2", Text: "lingering note"})               // 7
	cmd(protocol.Command{Op: "status", Incident: "INC-1", Status: "resolved"})                 // 8, 9 INC-1 resolved
	clk.add(72 * time.Hour)
	record("new fleet")                                                                  // 10
	cmd(protocol.Command{Op: "declare", Title: "new", Severity: "SEV1", Kind: "outage"}) // 11, 12 INC-3
	cmd(protocol.Command{Op: "note", Incident: "INC-3", Text: "new note"})               // 13
}

func TestFreshSubscriberGetsTheCompactedJournal(t *testing.T) {
	for _, kind := range journalKinds {
		t.Run(kind.name, func(t *testing.T) {
			clk := &testClock{now: time.Date(2026, 11, 19, 2, 0, 0, 0, time.UTC)}
			dir := t.TempDir()
			srv := startServerOn(t, kind, dir, "", Options{Now: clk.Now, ReplayWindow: 24 * time.Hour}, journal.Options{Now: clk.Now, SegmentBytes: 1 << 10})
			twoNights(t, srv, clk)
			want := []string{
				"5 declared SEV2 outage: lingering", "6 INC-2 investigating", "7 lingering note", // open: all of it
				"9 INC-1 resolved",                                                                      // resolved: its newest frame only
				"10 new fleet", "11 declared SEV1 outage: new", "12 INC-3 investigating", "13 new note", // the window
			}
			check := func(srv *running) {
				t.Helper()
				_, got, synced := subscribeRaw(t, srv.url, 0, "")
				if strings.Join(describe(got), "|") != strings.Join(want, "|") {
					t.Fatalf("compacted replay:\n%s\nwant:\n%s", strings.Join(describe(got), "\n"), strings.Join(want, "\n"))
				}
				if !synced.Compacted || synced.Oldest != 1 || synced.Seq != 13 {
					t.Fatalf("synced = %+v", synced)
				}
				// A subscriber that resumes is replayed exactly, from disk.
				_, got, synced = subscribeRaw(t, srv.url, 2, srv.hub.JournalID())
				if len(got) != 11 || describe(got)[0] != "3 old note" || synced.Compacted {
					t.Fatalf("since 2: %q %+v", describe(got), synced)
				}
				// Another journal's seq means nothing here: compacted from 0.
				_, got, synced = subscribeRaw(t, srv.url, 12, "j-other")
				if len(got) != len(want) || !synced.Compacted {
					t.Fatalf("other journal: %q %+v", describe(got), synced)
				}
			}
			check(srv)
			// After a restart, from the segments' indexes: the same.
			addr := srv.addr
			srv.stop()
			srv = startServerOn(t, kind, dir, addr, Options{Now: clk.Now, ReplayWindow: 24 * time.Hour}, journal.Options{Now: clk.Now, SegmentBytes: 1 << 10})
			if got := len(srv.hub.Incidents()); got != 3 || srv.hub.Incidents()[0].ID != "INC-1" || !srv.hub.Incidents()[0].Resolved() {
				t.Fatalf("incidents after restart: %+v", srv.hub.Incidents())
			}
			check(srv)
		})
	}
}

func history(t *testing.T, conn *websocket.Conn, req protocol.History) (*protocol.History, int) {
	t.Helper()
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&req))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := protocol.Decode(data); m != nil {
			if h, ok := m.(*protocol.History); ok && h.ID == req.ID {
				return h, len(data)
			}
		}
	}
}

func historySeqs(t *testing.T, h *protocol.History) []uint64 {
	t.Helper()
	var seqs []uint64
	for _, raw := range h.Messages {
		m, err := protocol.Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		switch v := m.(type) {
		case *protocol.Entry:
			seqs = append(seqs, v.Seq)
		case *protocol.IncidentMsg:
			seqs = append(seqs, v.Seq)
		}
	}
	return seqs
}

func TestHistoryPagesOlderMessages(t *testing.T) {
	for _, kind := range journalKinds {
		t.Run(kind.name, func(t *testing.T) {
			clk := &testClock{now: time.Date(2026, 11, 19, 2, 0, 0, 0, time.UTC)}
			srv := startServerOn(t, kind, t.TempDir(), "", Options{Now: clk.Now}, journal.Options{Now: clk.Now, SegmentBytes: 1 << 10})
			twoNights(t, srv, clk)
			conn, _, _ := subscribeRaw(t, srv.url, 0, "")
			tests := []struct {
				req  protocol.History
				want string
				more bool
			}{
				{protocol.History{ID: "h-1", Before: 14, Limit: 5}, "[9 10 11 12 13]", true},
				{protocol.History{ID: "h-2", Before: 9, Limit: 5}, "[4 5 6 7 8]", true},
				{protocol.History{ID: "h-3", Before: 4, Limit: 5}, "[1 2 3]", false},
				{protocol.History{ID: "h-4", Limit: 3}, "[11 12 13]", true}, // no before: the newest
				{protocol.History{ID: "h-5", Before: 14, Incident: "INC-1"}, "[1 2 3 8 9]", false},
				{protocol.History{ID: "h-6", Before: 9, Limit: 2, Incident: "INC-1"}, "[3 8]", true},
				{protocol.History{ID: "h-7", Before: 1, Limit: 5}, "[]", false},
				{protocol.History{ID: "h-8", Incident: "INC-404"}, "[]", false},
			}
			for _, tt := range tests {
				got, _ := history(t, conn, tt.req)
				if fmt.Sprint(historySeqs(t, got)) != tt.want || got.More != tt.more {
					t.Errorf("%+v: %v more %v; want %s more %v", tt.req, historySeqs(t, got), got.More, tt.want, tt.more)
				}
			}
		})
	}
}

func TestHistoryAnswerStaysUnderTheFrameLimit(t *testing.T) {
	for _, kind := range journalKinds {
		t.Run(kind.name, func(t *testing.T) {
			srv := startServerOn(t, kind, t.TempDir(), "", Options{}, journal.Options{})
			srv.hub.Apply(protocol.Command{ID: "d", Actor: "a", Op: "declare", Title: "x", Severity: "SEV3", Kind: "outage"}, true, nil)
			// '<' is escaped as \u003c: 16 KiB of it is a 96 KiB frame.
			text := strings.Repeat("<", protocol.MaxTextBytes)
			for i := 0; i < 30; i++ {
				if r := srv.hub.Apply(protocol.Command{ID: fmt.Sprintf("n-%d", i), Actor: "a", Op: "note", Incident: "INC-1", Text: text}, true, nil); r.Code != "" {
					t.Fatalf("note: %s", r.Frame)
				}
			}
			conn, _, synced := subscribeRaw(t, srv.url, 0, "")
			conn.SetReadLimit(protocol.MaxFrameSize)
			got, size := history(t, conn, protocol.History{ID: "big", Before: synced.Seq + 1, Limit: 30})
			seqs := historySeqs(t, got)
			if size > protocol.MaxFrameSize || len(seqs) == 0 || len(seqs) >= 30 || !got.More {
				t.Fatalf("answer of %d bytes with %d messages, more %v", size, len(seqs), got.More)
			}
			if seqs[len(seqs)-1] != synced.Seq {
				t.Fatalf("the page does not end next to before: %v", seqs)
			}
		})
	}
}

// Eight clients pipeline commands; one fsync covers many. Every command is
// acked once, after the entry it caused reached its sender, and every
// client sees the same order.
func TestGroupCommitAcksEachAfterItsEntry(t *testing.T) {
	for _, kind := range journalKinds {
		t.Run(kind.name, func(t *testing.T) {
			srv := startServerOn(t, kind, t.TempDir(), "", Options{}, journal.Options{})
			srv.hub.Apply(protocol.Command{ID: "d", Actor: "a", Op: "declare", Title: "x", Severity: "SEV3", Kind: "outage"}, true, nil)
			const clients, each = 8, 40
			var wg sync.WaitGroup
			orders := make([][]uint64, clients)
			errs := make(chan error, clients)
			conns := make([]*websocket.Conn, clients)
			for c := range conns {
				conns[c], _, _ = subscribeRaw(t, srv.url, 0, "")
			}
			for c, conn := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Command{ID: fmt.Sprintf("c%d-%d", c, i), Actor: "a", Op: "note", Incident: "INC-1", Text: "n"}))
					}
					seen := map[uint64]bool{}
					acks := 0
					for acks < each || len(orders[c]) < clients*each {
						_, data, err := conn.ReadMessage()
						if err != nil {
							errs <- err
							return
						}
						switch v := mustDecode(data).(type) {
						case *protocol.Entry:
							if n := len(orders[c]); n > 0 && v.Seq <= orders[c][n-1] {
								errs <- fmt.Errorf("client %d: seq %d after %d", c, v.Seq, orders[c][n-1])
								return
							}
							orders[c] = append(orders[c], v.Seq)
							seen[v.Seq] = true
						case *protocol.Ack:
							if !strings.HasPrefix(v.ID, fmt.Sprintf("c%d-", c)) || !seen[v.Seq] {
								errs <- fmt.Errorf("client %d: ack %+v before its entry", c, v)
								return
							}
							acks++
						case *protocol.Nack:
							errs <- fmt.Errorf("nack %+v", v)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			for c := 1; c < clients; c++ {
				if fmt.Sprint(orders[c]) != fmt.Sprint(orders[0]) {
					t.Fatalf("client %d saw another order", c)
				}
			}
			if srv.hub.Seq() != 2+clients*each {
				t.Fatalf("seq %d", srv.hub.Seq())
			}
		})
	}
}

func isAck(e client.Event) bool { _, ok := e.(client.AckEvent); return ok }

func mustDecode(data []byte) protocol.Message {
	m, _ := protocol.Decode(data)
	return m
}

func healthz(t *testing.T, addr string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v map[string]any
	json.Unmarshal(body, &v)
	return resp.StatusCode, v
}

func TestFailedFsyncStopsAcksUntilRestart(t *testing.T) {
	dir := t.TempDir()
	disk := &faultyDisk{}
	srv := startServerWith(t, dir, "", Options{}, journal.Options{WrapFile: disk.wrap})
	d := connect(t, srv.url, "")
	eventually(t, "synced", d.synced)
	d.send(t, protocol.Command{Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"})
	eio := errors.New("input/output error")
	disk.syncErr.Store(&eio)
	check := func(what string, ans client.Event) {
		t.Helper()
		if nk, ok := ans.(client.NackEvent); !ok || nk.Code != protocol.CodeUnavailable {
			t.Fatalf("%s answered %+v", what, ans)
		}
	}
	check("a command whose fsync failed", d.send(t, protocol.Command{Op: "note", Incident: "INC-1", Text: "in doubt"}))
	disk.syncErr.Store(nil) // the disk seems fine again; the journal is not trusted until reopened
	check("a command after the failure", d.send(t, protocol.Command{Op: "note", Incident: "INC-1", Text: "after"}))
	if code, body := healthz(t, srv.addr); code != http.StatusServiceUnavailable || body["status"] != "failed" || !strings.Contains(fmt.Sprint(body["error"]), "input/output error") {
		t.Fatalf("healthz: %d %v", code, body)
	}
	addr := srv.addr
	srv.stop()
	srv = startServer(t, dir, addr, Options{})
	if code, _ := healthz(t, srv.addr); code != http.StatusOK {
		t.Fatalf("healthz after restart: %d", code)
	}
	eventually(t, "resynced", d.synced)
	if ans := d.send(t, protocol.Command{Op: "note", Incident: "INC-1", Text: "after restart"}); !isAck(ans) {
		t.Fatalf("after a restart: %+v", ans)
	}
	texts := strings.Join(d.EntryTexts(), "|")
	if strings.Contains(texts, "in doubt") || strings.Contains(texts, "|after|") || !strings.HasSuffix(texts, "after restart") {
		t.Fatalf("entries: %s", texts)
	}
}

// gatedDisk holds every fsync while shut, telling the test it started.
type gatedDisk struct {
	shut    atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (g *gatedDisk) wrap(f journal.File) journal.File { return &gatedFile{File: f, g: g} }

type gatedFile struct {
	journal.File
	g *gatedDisk
}

func (f *gatedFile) Sync() error {
	if f.g.shut.Load() {
		f.g.entered <- struct{}{}
		<-f.g.release
	}
	return f.File.Sync()
}

// While the fsync that covers a command runs, neither its entry nor its
// ack leaves the hub: a history request sent after it is answered first.
func TestNothingIsSentBeforeItsFsync(t *testing.T) {
	gate := &gatedDisk{entered: make(chan struct{}), release: make(chan struct{})}
	srv := startServerWith(t, t.TempDir(), "", Options{}, journal.Options{WrapFile: gate.wrap})
	var open sync.Once
	let := func() { gate.shut.Store(false); open.Do(func() { close(gate.release) }) }
	t.Cleanup(let) // before the server stops: a failing test leaves no fsync held
	srv.hub.Apply(protocol.Command{ID: "d", Actor: "a", Op: "declare", Title: "x", Severity: "SEV3", Kind: "outage"}, true, nil)
	conn, _, _ := subscribeRaw(t, srv.url, 0, "")
	gate.shut.Store(true)
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Command{ID: "n-1", Actor: "a", Op: "note", Incident: "INC-1", Text: "held"}))
	<-gate.entered // its fsync runs, and is held
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.History{ID: "h-1", Limit: 1}))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		switch v := mustDecode(data).(type) {
		case *protocol.Entry, *protocol.Ack:
			t.Fatalf("sent before its fsync returned: %s", data)
		case *protocol.History:
			if v.ID != "h-1" {
				continue
			}
			let()
			var entry, ack bool
			for !ack {
				_, data, err := conn.ReadMessage()
				if err != nil {
					t.Fatal(err)
				}
				switch v := mustDecode(data).(type) {
				case *protocol.Entry:
					entry = v.Text == "held"
				case *protocol.Ack:
					if !entry || v.ID != "n-1" {
						t.Fatalf("ack %+v before its entry", v)
					}
					ack = true
				}
			}
			return
		}
	}
}

// A service's last transition is recovered at start however old it is:
// the start-up state reaches past the replay window for it.
func TestRestartRecoversStatesOlderThanTheWindow(t *testing.T) {
	clk := &testClock{now: time.Date(2026, 11, 19, 2, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	opts := Options{Now: clk.Now, ReplayWindow: 24 * time.Hour}
	jopts := journal.Options{Now: clk.Now, SegmentBytes: 1 << 10}
	srv := startServerWith(t, dir, "", opts, jopts)
	down := func(h *Hub) {
		at := protocol.At(clk.Now())
		h.PublishService(protocol.Service{Host: "web-3", Service: "exim", State: protocol.StateDown, Since: at, At: at})
	}
	down(srv.hub)
	eventually(t, "the transition", func() bool { return len(transitions(srv.hub)) == 1 })
	clk.add(72 * time.Hour)
	for i := 0; i < 20; i++ { // a window's worth of other entries
		srv.hub.record(protocol.Entry{Actor: "web-1", Kind: protocol.EntrySystem, Text: fmt.Sprintf("other %d", i)})
	}
	eventually(t, "the others", func() bool { return srv.hub.Seq() == 21 })
	addr := srv.addr
	srv.stop()
	srv = startServerWith(t, dir, addr, opts, jopts)
	down(srv.hub) // still down: nothing to journal
	srv.hub.record(protocol.Entry{Actor: "web-1", Kind: protocol.EntrySystem, Text: "marker"})
	eventually(t, "the marker", func() bool { return srv.hub.Seq() >= 22 })
	if got := transitions(srv.hub); len(got) != 1 {
		t.Fatalf("the restart fabricated a transition: %q", got)
	}
}
