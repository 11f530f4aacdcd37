// Package reviewtest builds, through a real hub on loopback, a month of
// incidents with known times of action (every command carries at) and the
// night of the 22nd with its loads and services: what the review's
// figures, the debrief draft and the rewind are tested against.
package reviewtest

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/history"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// Hub is a real hub on loopback whose clock the test sets before each
// command, so every command's at is honoured.
type Hub struct {
	t      testing.TB
	levels map[string]level.Level
	Hub    *server.Hub
	Store  *history.Store
	Dir    string
	URL    string
	conn   *websocket.Conn
	mu     sync.Mutex
	now    time.Time
	Stop   func()
}

func Start(t testing.TB) *Hub {
	t.Helper()
	h := &Hub{t: t, Dir: t.TempDir()}
	clock := func() time.Time { h.mu.Lock(); defer h.mu.Unlock(); return h.now }
	j, _, err := journal.OpenWith(h.Dir, journal.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	store, err := history.Open(h.Dir, clock)
	if err != nil {
		t.Fatal(err)
	}
	h.Store = store
	hb := server.NewHub(j, server.Options{Now: clock, History: store})
	h.Hub = hb
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	stored := make(chan struct{})
	go func() { store.Run(ctx); close(stored) }()
	go func() { server.Serve(ctx, hb, ln, "/feed", "", ""); close(done) }()
	h.URL = "ws://" + ln.Addr().String() + "/feed"
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(h.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.conn = conn
	if err := conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{Since: 0})); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	h.Stop = func() {
		once.Do(func() {
			conn.Close()
			cancel()
			<-done
			<-stored
			hb.Close()
			hb.Wait(5 * time.Second)
			j.Close()
		})
	}
	t.Cleanup(h.Stop)
	return h
}

// Do sends cmd acted at at (the hub's clock a second later) and waits
// for its ack.
func (h *Hub) Do(at time.Time, cmd protocol.Command) {
	h.t.Helper()
	h.mu.Lock()
	h.now = at.Add(time.Second)
	h.mu.Unlock()
	cmd.ID = "c-" + at.Format("0102150405") + "-" + cmd.Op + "-" + cmd.Item
	cmd.At = protocol.TimePtr(at)
	if cmd.Actor == "" {
		cmd.Actor = "alice"
	}
	if err := h.conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&cmd)); err != nil {
		h.t.Fatal(err)
	}
	for {
		h.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := h.conn.ReadMessage()
		if err != nil {
			h.t.Fatal(err)
		}
		m, _ := protocol.Decode(data)
		switch v := m.(type) {
		case *protocol.Ack:
			if v.ID == cmd.ID {
				return
			}
		case *protocol.Nack:
			if v.ID == cmd.ID {
				h.t.Fatalf("%s: %s %s", cmd.ID, v.Code, v.Error)
			}
		}
	}
}

// Set moves the hub's clock.
func (h *Hub) Set(at time.Time) {
	h.mu.Lock()
	h.now = at
	h.mu.Unlock()
}

// journaled runs f at at and waits until what it journals asynchronously
// is on disk.
func (h *Hub) journaled(at time.Time, f func()) {
	h.t.Helper()
	h.Set(at)
	before := h.Hub.Seq()
	f()
	for deadline := time.Now().Add(10 * time.Second); h.Hub.Seq() == before; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			h.t.Fatal("never journaled")
		}
	}
}

// Loads reports host's load every 10 s from from to to, load1 from f.
func (h *Hub) Loads(host string, from, to time.Time, f func(at time.Time) float64) {
	h.t.Helper()
	prev, known := h.levels[host]
	for at := from; at.Before(to); at = at.Add(10 * time.Second) {
		mem := 40 + f(at)
		l := protocol.Load{Host: host, At: protocol.At(at), Interval: protocol.Duration(10 * time.Second), Load1: f(at), CPUs: 4, MemUsedPct: &mem}
		lvl := level.Defaults().From(prev, l.Load1, l.CPUs)
		if (known && lvl != prev) || (!known && lvl != level.OK) {
			h.journaled(at, func() { h.Hub.PublishLoad(l) }) // a crossing the hub journals
		} else {
			h.Set(at)
			h.Hub.PublishLoad(l)
		}
		prev, known = lvl, true
	}
	if h.levels == nil {
		h.levels = map[string]level.Level{}
	}
	h.levels[host] = prev
	last := to.Add(-10 * time.Second)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if got, _, _ := h.Store.Samples(host, last, last, 0); len(got) == 1 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatal("load never stored")
		}
	}
}

// Service reports a service's state; a change of state is journaled
// (a new service that is ok is not).
func (h *Hub) Service(at time.Time, host, svc, state, detail string) {
	s := protocol.Service{Host: host, Service: svc, State: state, Detail: detail, At: protocol.At(at), Since: protocol.At(at)}
	if _, known := h.Hub.Service(host, svc); !known && state == protocol.StateOK {
		h.Set(at)
		h.Hub.PublishService(s)
		return
	}
	h.journaled(at, func() { h.Hub.PublishService(s) })
}

func yes() *bool { b := true; return &b }

func TS(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// November builds, through a real hub, a month with known times of action:
// an October outage running into November, a short outage on the 5th, a
// maintenance declared five days ahead, and the night of the 22nd.
func November(t testing.TB) *Hub {
	h := Start(t)
	check := func(inc, item string) protocol.Command {
		return protocol.Command{Op: "check", Incident: inc, Item: item, Done: yes()}
	}
	publish := func(inc, item, text string) protocol.Command {
		return protocol.Command{Op: "publish", Incident: inc, Item: item, Channels: []string{"page"}, Text: text}
	}
	resolve := func(inc string) protocol.Command {
		return protocol.Command{Op: "status", Incident: inc, Status: "resolved"}
	}
	// INC-1: opened in October, resolved half an hour into November.
	h.Do(TS("2026-10-31T23:00:00Z"), protocol.Command{Op: "declare", Title: "DNS failing", Severity: "SEV2", Kind: "outage"})
	h.Do(TS("2026-11-01T00:30:00Z"), resolve("INC-1"))
	// INC-2: 25 minutes; first notice 5 minutes late, nothing after.
	h.Do(TS("2026-11-05T14:00:00Z"), protocol.Command{Op: "declare", Title: "Web slow", Severity: "SEV3", Kind: "outage"})
	h.Do(TS("2026-11-05T14:10:00Z"), check("INC-2", "ack"))
	h.Do(TS("2026-11-05T14:20:00Z"), publish("INC-2", "status-page", "Web pages load slowly; we are on it."))
	h.Do(TS("2026-11-05T14:25:00Z"), resolve("INC-2"))
	// INC-3: a maintenance declared five days ahead of its start.
	start := TS("2026-11-15T09:00:00Z")
	h.Do(TS("2026-11-10T09:00:00Z"), protocol.Command{Op: "declare", Title: "Database upgrade", Severity: "SEV4", Kind: "maintenance", ScheduledStart: protocol.TimePtr(start)})
	h.Do(TS("2026-11-10T09:10:00Z"), publish("INC-3", "announce-week", "On 15 November from 09:00 UTC the database is upgraded."))
	h.Do(TS("2026-11-14T08:00:00Z"), check("INC-3", "announce-day"))
	h.Do(TS("2026-11-14T10:00:00Z"), check("INC-3", "channels"))
	h.Do(TS("2026-11-15T09:02:00Z"), publish("INC-3", "start-notice", "The database upgrade has started."))
	h.Do(TS("2026-11-15T11:00:00Z"), resolve("INC-3"))
	// The night of the 22nd: shared-04's load climbs, exim goes down.
	h.Loads("shared-04", TS("2026-11-22T01:50:00Z"), TS("2026-11-22T02:11:00Z"), func(at time.Time) float64 {
		return 0.4 + 8*at.Sub(TS("2026-11-22T01:50:00Z")).Hours()*3
	})
	h.Loads("web-1", TS("2026-11-22T01:50:00Z"), TS("2026-11-22T02:11:00Z"), func(time.Time) float64 { return 0.3 })
	h.Service(TS("2026-11-22T01:55:00Z"), "web-1", "http", "ok", "HTTP 200")
	h.Service(TS("2026-11-22T02:11:40Z"), "shared-04", "exim", "down", "connect 127.0.0.1:25: connection refused")
	h.Loads("shared-04", TS("2026-11-22T02:11:00Z"), TS("2026-11-22T02:12:00Z"), func(time.Time) float64 { return 9.8 })
	// INC-4, shared-04 reporting every 10 s throughout, so the journal
	// holds everything in the order it happened.
	reported := TS("2026-11-22T02:12:00Z")
	shared04 := func(at time.Time) float64 {
		if at.Before(TS("2026-11-22T03:10:00Z")) {
			return 9.8 - at.Sub(TS("2026-11-22T02:12:00Z")).Hours()*8
		}
		return 0.6 // rebooted
	}
	until := func(to time.Time) {
		if to.After(reported) {
			h.Loads("shared-04", reported, to, shared04)
			reported = to
		}
	}
	do := func(at time.Time, cmd protocol.Command) {
		until(at)
		h.Do(at, cmd)
	}
	do(TS("2026-11-22T02:12:00Z"), protocol.Command{Op: "declare", Title: "Mail delayed", Severity: "SEV2", Kind: "outage"})
	do(TS("2026-11-22T02:15:00Z"), check("INC-4", "ack"))
	do(TS("2026-11-22T02:16:00Z"), publish("INC-4", "status-page", "Mail is delayed; we are investigating."))
	// What was running on the host, captured by its agent before anyone
	// touched it; the hub journals it asynchronously.
	until(TS("2026-11-22T02:20:00Z"))
	h.mu.Lock()
	h.now = TS("2026-11-22T02:20:01Z")
	h.mu.Unlock()
	before := h.Hub.Seq()
	h.Hub.RecordEvidence(protocol.Evidence{Host: "shared-04", At: protocol.At(TS("2026-11-22T02:20:00Z")),
		EvidenceData: protocol.EvidenceData{Reason: "load crit: 9.8 on 4 CPUs", Processes: []protocol.Process{{PID: 4123, User: "shop42", Command: "php-cgi", Count: 240, CPUPct: 96.1}}}})
	for deadline := time.Now().Add(10 * time.Second); h.Hub.Seq() == before; {
		if time.Now().After(deadline) {
			t.Fatal("the evidence was never journaled")
		}
		time.Sleep(time.Millisecond)
	}
	do(TS("2026-11-22T02:32:00Z"), check("INC-4", "social"))
	do(TS("2026-11-22T02:40:00Z"), check("INC-4", "root-cause"))
	do(TS("2026-11-22T02:47:00Z"), check("INC-4", "updates"))
	do(TS("2026-11-22T02:52:00Z"), publish("INC-4", "email-customers", "Mail to your mailboxes is delayed."))
	do(TS("2026-11-22T03:02:00Z"), check("INC-4", "answer-messages"))
	do(TS("2026-11-22T03:10:00Z"), protocol.Command{Op: "note", Incident: "INC-4", Text: "rebooted shared-04 after the queue drained"})
	until(TS("2026-11-22T03:35:00Z"))
	h.Service(TS("2026-11-22T03:35:00Z"), "shared-04", "exim", "ok", "")
	do(TS("2026-11-22T03:42:00Z"), resolve("INC-4"))
	until(TS("2026-11-22T03:50:00Z"))
	h.Do(TS("2026-11-22T06:12:00Z"), publish("INC-4", "resolved-notice", "Mail is delivered again."))
	h.Do(TS("2026-11-23T03:42:00Z"), check("INC-4", "postmortem"))
	return h
}
