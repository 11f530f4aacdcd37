package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/client/clienttest"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

type running struct {
	hub  *Hub
	url  string
	addr string
	stop func()
}

// startServer runs a real feed server on loopback over a journal in dir.
// addr "" picks a free port; a restart passes the old one.
func startServer(t *testing.T, dir, addr string, opts Options) *running {
	t.Helper()
	return startServerWith(t, dir, addr, opts, journal.Options{})
}

func startServerWith(t *testing.T, dir, addr string, opts Options, jopts journal.Options) *running {
	t.Helper()
	return startServerOn(t, journalKinds[0], dir, addr, opts, jopts)
}

// journalKinds are the journal backends the wire tests of replay,
// history and group commit run against: the file journal now, a
// replicated one beside it later.
var journalKinds = []journalKind{
	{"file", func(dir string, opts journal.Options) (journal.Backend, error) {
		j, _, err := journal.OpenWith(dir, opts)
		return j, err
	}},
}

type journalKind struct {
	name string
	open func(dir string, opts journal.Options) (journal.Backend, error)
}

func startServerOn(t *testing.T, kind journalKind, dir, addr string, opts Options, jopts journal.Options) *running {
	t.Helper()
	j, err := kind.open(dir, jopts)
	if err != nil {
		t.Fatal(err)
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHub(j, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, h, ln, "/feed", "", ""); close(done) }()
	r := &running{hub: h, addr: ln.Addr().String(), url: "ws://" + ln.Addr().String() + "/feed"}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			j.Close()
		})
	}
	t.Cleanup(r.stop)
	return r
}

type dash struct {
	*clienttest.Collector
	c    *client.Client
	stop func()
}

func fast() client.Timings {
	tm := client.DefaultTimings()
	tm.BackoffMin, tm.BackoffMax = 5*time.Millisecond, 50*time.Millisecond
	tm.CloseWait = 200 * time.Millisecond
	return tm
}

// connect runs a real client against url and collects what it sees.
func connect(t *testing.T, url, token string) *dash {
	t.Helper()
	c, err := client.New([]client.FeedConfig{{Name: "hub", URL: url, Token: token}}, "", fast())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &dash{c: c, Collector: clienttest.Collect(ctx, c.Store())}
	ran := make(chan struct{})
	go func() { c.Run(ctx); close(ran) }()
	var once sync.Once
	d.stop = func() { once.Do(func() { cancel(); <-ran; <-d.Done() }) }
	t.Cleanup(d.stop)
	return d
}

func (d *dash) send(t *testing.T, cmd protocol.Command) client.Event {
	t.Helper()
	if cmd.Actor == "" {
		cmd.Actor = "alice"
	}
	id, err := d.c.Send("hub", cmd)
	if err != nil {
		t.Fatal(err)
	}
	var ans client.Event
	eventually(t, "answer to "+cmd.Op, func() bool { ans = d.Answer(id); return ans != nil })
	return ans
}

func (d *dash) synced() bool { return d.Health("hub").State == client.Synced }

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func yes() *bool { b := true; return &b }

func TestDeclareTickNoteOverTheWire(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{})
	d := connect(t, srv.url, "")
	eventually(t, "synced", d.synced)
	if _, ok := d.send(t, protocol.Command{Op: "declare", Title: "Mail down on web-3", Severity: "SEV2", Kind: "outage"}).(client.AckEvent); !ok {
		t.Fatal("declare nacked")
	}
	if _, ok := d.send(t, protocol.Command{Op: "check", Incident: "INC-1", Item: "ack", Done: yes()}).(client.AckEvent); !ok {
		t.Fatal("check nacked")
	}
	n := d.send(t, protocol.Command{Op: "check", Incident: "INC-1", Item: "nope", Done: yes()})
	if nk, ok := n.(client.NackEvent); !ok || nk.Code != protocol.CodeNotFound {
		t.Fatalf("unknown step answered %+v", n)
	}
	eventually(t, "entries", func() bool { return len(d.EntryTexts()) == 2 })
	got := d.EntryTexts()
	if got[0] != "declared SEV2 outage: Mail down on web-3" || got[1] != "ticked: Acknowledge and take ownership" {
		t.Fatalf("entries = %q", got)
	}
	inc := srv.hub.Incidents()[0]
	if !inc.Checklist[0].Done() || *inc.Checklist[0].DoneBy != "alice" {
		t.Fatalf("incident = %+v", inc.Checklist[0])
	}
}

func TestRestartBetweenCommandsLosesAndDuplicatesNothing(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "", Options{})
	d := connect(t, srv.url, "")
	eventually(t, "synced", d.synced)
	d.send(t, protocol.Command{Op: "declare", Title: "Disk full", Severity: "SEV1", Kind: "outage"})
	d.send(t, protocol.Command{Op: "note", Incident: "INC-1", Text: "before restart"})
	addr := srv.addr
	srv.stop()
	srv2 := startServer(t, dir, addr, Options{})
	eventually(t, "resynced", d.synced)
	d.send(t, protocol.Command{Op: "note", Incident: "INC-1", Text: "after restart"})
	// A command id from before the restart is still known: no re-apply.
	if srv2.hub.Seq() != 4 {
		t.Fatalf("seq after restart = %d, want 4", srv2.hub.Seq())
	}
	eventually(t, "three entries", func() bool { return len(d.EntryTexts()) == 3 })
	time.Sleep(50 * time.Millisecond)
	want := []string{"declared SEV1 outage: Disk full", "before restart", "after restart"}
	if got := d.EntryTexts(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("entries = %q", got)
	}
	var seqs []uint64
	for _, m := range d.Journal() {
		switch v := m.(type) {
		case *protocol.Entry:
			seqs = append(seqs, v.Seq)
		case *protocol.IncidentMsg:
			seqs = append(seqs, v.Seq)
		}
	}
	if fmt.Sprint(seqs) != "[1 2 3 4]" {
		t.Fatalf("seqs = %v", seqs)
	}
}

func TestCommandIDAppliedAtMostOnceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "", Options{})
	cmd := protocol.Command{ID: "c-fixed", Actor: "a", Op: "declare", Title: "x", Severity: "SEV3", Kind: "outage"}
	first := srv.hub.Apply(cmd, true, nil)
	addr := srv.addr
	srv.stop()
	srv2 := startServer(t, dir, addr, Options{})
	again := srv2.hub.Apply(cmd, true, nil)
	if string(first.Frame) != string(again.Frame) || len(srv2.hub.Incidents()) != 1 {
		t.Fatalf("first %s, again %s, incidents %d", first.Frame, again.Frame, len(srv2.hub.Incidents()))
	}
}

func TestConcurrentCommandsOneOrderForAll(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{})
	a, b := connect(t, srv.url, ""), connect(t, srv.url, "")
	eventually(t, "both synced", func() bool { return a.synced() && b.synced() })
	a.send(t, protocol.Command{Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"})
	var wg sync.WaitGroup
	for _, d := range []*dash{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				d.c.Send("hub", protocol.Command{Actor: "x", Op: "note", Incident: "INC-1", Text: fmt.Sprintf("%p-%d", d, i)})
			}
		}()
	}
	wg.Wait()
	eventually(t, "all notes at both", func() bool { return len(a.EntryTexts()) == 41 && len(b.EntryTexts()) == 41 })
	if strings.Join(a.EntryTexts(), "|") != strings.Join(b.EntryTexts(), "|") {
		t.Fatal("the two dashboards saw different orders")
	}
}

func TestSnapshotAndChangesAreJournaled(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{})
	now := protocol.At(time.Now())
	srv.hub.PublishLoad(protocol.Load{Host: "web-3", At: now, Interval: protocol.Duration(5 * time.Second), Load1: 0.5, CPUs: 4})
	srv.hub.PublishLoad(protocol.Load{Host: "web-3", At: now, Interval: protocol.Duration(5 * time.Second), Load1: 4.4, CPUs: 4})
	srv.hub.PublishService(protocol.Service{Host: "web-3", Service: "exim", State: "ok", Since: now, At: now})
	srv.hub.PublishService(protocol.Service{Host: "web-3", Service: "exim", State: "down", Detail: "connect: refused", Since: now, At: now})
	d := connect(t, srv.url, "")
	eventually(t, "synced", d.synced)
	// Journaled once durable: in the replay, or live just after it.
	eventually(t, "the changes journaled", func() bool {
		texts := strings.Join(d.EntryTexts(), "\n")
		return strings.Contains(texts, "load on web-3 ok → crit") && strings.Contains(texts, "exim on web-3 ok → down: connect: refused")
	})
	eventually(t, "snapshot load", func() bool { return d.Loads() > 0 })
}

func TestTokens(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{Tokens: []string{"s3cret"}})
	anon := connect(t, srv.url, "")
	eventually(t, "read-only subscriber synced", anon.synced)
	ans := anon.send(t, protocol.Command{Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"})
	if nk, ok := ans.(client.NackEvent); !ok || nk.Code != protocol.CodeForbidden {
		t.Fatalf("anonymous command answered %+v", ans)
	}
	authed := connect(t, srv.url, "s3cret")
	eventually(t, "synced", authed.synced)
	if _, ok := authed.send(t, protocol.Command{Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"}).(client.AckEvent); !ok {
		t.Fatal("authorized command refused")
	}

	strict := startServer(t, t.TempDir(), "", Options{Tokens: []string{"s3cret"}, RequireToken: true})
	_, resp, err := websocket.DefaultDialer.Dial(strict.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthenticated subscribe: %v %v", err, resp)
	}
}

// faultyDisk fails writes or fsyncs of every segment once told to.
type faultyDisk struct {
	writeErr, syncErr atomic.Pointer[error]
}

func (d *faultyDisk) wrap(f journal.File) journal.File { return &faultyFile{File: f, d: d} }

type faultyFile struct {
	journal.File
	d *faultyDisk
}

func (f *faultyFile) Write(p []byte) (int, error) {
	if err := f.d.writeErr.Load(); err != nil {
		return 0, *err
	}
	return f.File.Write(p)
}

func (f *faultyFile) Sync() error {
	if err := f.d.syncErr.Load(); err != nil {
		return *err
	}
	return f.File.Sync()
}

func TestFailingDiskNacksUnavailable(t *testing.T) {
	dir := t.TempDir()
	disk := &faultyDisk{}
	srv := startServerWith(t, dir, "", Options{}, journal.Options{WrapFile: disk.wrap})
	d := connect(t, srv.url, "")
	eventually(t, "synced", d.synced)
	d.send(t, protocol.Command{Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"})
	full := errors.New("no space left on device")
	disk.writeErr.Store(&full)
	ans := d.send(t, protocol.Command{Op: "check", Incident: "INC-1", Item: "ack", Done: yes()})
	if nk, ok := ans.(client.NackEvent); !ok || nk.Code != protocol.CodeUnavailable || !strings.Contains(nk.Error, "no space") {
		t.Fatalf("answer on a full disk: %+v", ans)
	}
	if srv.hub.Incidents()[0].Checklist[0].Done() {
		t.Fatal("a refused command was half-applied")
	}
	// State keeps flowing while the disk is full.
	srv.hub.PublishLoad(protocol.Load{Host: "h", At: protocol.At(time.Now()), Interval: protocol.Duration(time.Second), Load1: 0.1, CPUs: 1})
	eventually(t, "load while disk full", func() bool { return d.Loads() > 0 })
}

func TestSlowSubscriberIsDroppedOthersUnaffected(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{QueueSize: 16})
	// A stalled subscriber: subscribes, then never reads.
	slow, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(srv.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.ReadMessage()
	slow.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","since":0,"journal":""}`))
	fastDash := connect(t, srv.url, "")
	eventually(t, "synced", fastDash.synced)
	eventually(t, "two subscribers", func() bool { return srv.hub.Subscribers() == 2 })
	big := strings.Repeat("x", 60_000)
	for i := 0; i < 500 && srv.hub.Subscribers() == 2; i++ {
		srv.hub.PublishService(protocol.Service{Host: "h", Service: "s", State: "ok", Detail: big, Since: protocol.At(time.Now()), At: protocol.At(time.Now())})
		time.Sleep(time.Millisecond)
	}
	eventually(t, "slow subscriber dropped", func() bool { return srv.hub.Subscribers() == 1 })
	if !fastDash.synced() {
		t.Fatal("the fast subscriber was affected")
	}
	// The stalled client, when it finally reads, learns why.
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := slow.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) && ce.Code == websocket.CloseTryAgainLater && strings.Contains(ce.Text, "too slow") {
				return
			}
			t.Fatalf("slow client ended with %v, want close 1013 too slow", err)
		}
	}
}

func TestShutdownSendsCloseFrames(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{})
	d := connect(t, srv.url, "")
	eventually(t, "synced", d.synced)
	srv.stop()
	eventually(t, "told the server is going away", func() bool {
		for _, e := range d.Events() {
			if s, ok := e.(client.StatusEvent); ok && strings.Contains(s.Reason, "shutting down") {
				return true
			}
		}
		return false
	})
}

func TestHealthz(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{})
	resp, err := http.Get("http://" + srv.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 || body["status"] != "ok" || body["journal"] != srv.hub.JournalID() {
		t.Fatalf("healthz: %d %v", resp.StatusCode, body)
	}
}

func TestServerAndClientLeaveNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	srv := startServer(t, t.TempDir(), "", Options{PingPeriod: 20 * time.Millisecond})
	d := connect(t, srv.url, "")
	eventually(t, "synced", d.synced)
	d.send(t, protocol.Command{Op: "declare", Title: "x", Severity: "SEV3", Kind: "outage"})
	time.Sleep(60 * time.Millisecond) // a few pings and pongs
	d.stop()
	srv.stop()
	eventually(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= before+2 })
}

// /metrics times every command a subscriber sends, acked or refused,
// from its arrival to its answer.
func TestMetricsTimeEachCommand(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{})
	d := connect(t, srv.url, "")
	eventually(t, "synced", d.synced)
	d.send(t, protocol.Command{Op: "declare", Title: "Mail down on web-3", Severity: "SEV2", Kind: "outage"})
	d.send(t, protocol.Command{Op: "note", Incident: "INC-1", Text: "looking"})
	d.send(t, protocol.Command{Op: "check", Incident: "INC-1", Item: "nope", Done: yes()})
	resp, err := http.Get("http://" + srv.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "\nvigil_command_seconds_count 3\n") {
		t.Fatalf("/metrics does not count the 3 commands:\n%s", body)
	}
}
