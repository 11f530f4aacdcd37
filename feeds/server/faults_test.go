package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/probe"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// wire is a raw vigil.v1 client, for frames the Go client would never
// send: what an attacker or a client in another language may.
type wire struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialWire(t *testing.T, url string) *wire {
	t.Helper()
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	w := &wire{t: t, conn: conn}
	w.next() // hello
	w.sendRaw(`{"type":"subscribe","since":0,"journal":""}`)
	for {
		if _, ok := w.next().(*protocol.Synced); ok {
			return w
		}
	}
}

func (w *wire) sendRaw(frame string) {
	w.t.Helper()
	if err := w.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wire) send(cmd protocol.Command) {
	w.t.Helper()
	w.sendRaw(string(protocol.MustEncode(&cmd)))
}

// nextFrame reads one frame, failing the test on a read error.
func (w *wire) nextFrame() []byte {
	w.t.Helper()
	w.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := w.conn.ReadMessage()
	if err != nil {
		w.t.Fatal(err)
	}
	return data
}

func (w *wire) next() protocol.Message {
	w.t.Helper()
	data := w.nextFrame()
	m, err := protocol.Decode(data)
	if err != nil {
		w.t.Fatalf("undecodable frame from the server: %v: %.200s", err, data)
	}
	return m
}

// answer reads up to the ack or nack of id, returning the journal frames
// before it.
func (w *wire) answer(id string) (protocol.Message, [][]byte) {
	w.t.Helper()
	var frames [][]byte
	for {
		data := w.nextFrame()
		m, err := protocol.Decode(data)
		if err != nil {
			w.t.Fatalf("undecodable frame from the server: %v", err)
		}
		switch v := m.(type) {
		case *protocol.Ack:
			if v.ID == id {
				return v, frames
			}
		case *protocol.Nack:
			if v.ID == id {
				return v, frames
			}
		case *protocol.Entry, *protocol.IncidentMsg:
			frames = append(frames, data)
		}
	}
}

func (w *wire) wantNack(id, code, contains string) {
	w.t.Helper()
	ans, _ := w.answer(id)
	nk, ok := ans.(*protocol.Nack)
	if !ok || nk.Code != code || !strings.Contains(nk.Error, contains) {
		w.t.Fatalf("answer to %s: %+v, want nack %s with %q", id, ans, code, contains)
	}
}

func (w *wire) wantAck(id string) [][]byte {
	w.t.Helper()
	ans, frames := w.answer(id)
	if _, ok := ans.(*protocol.Ack); !ok {
		w.t.Fatalf("answer to %s: %+v, want ack", id, ans)
	}
	return frames
}

func TestPoisonCommandsAreNackedNothingWrittenRestartClean(t *testing.T) {
	dir := t.TempDir()
	srv := startServer(t, dir, "", Options{})
	w := dialWire(t, srv.url)
	poison := []struct {
		id, frame, want string
	}{
		{"c-year-10000", `{"type":"command","id":"c-year-10000","actor":"mallory","op":"declare","title":"x","severity":"SEV2","kind":"maintenance","scheduled_start":"9999-12-31T23:59:59.999-23:59"}`, "scheduled_start is not an RFC 3339 time"},
		{"c-no-sev", `{"type":"command","id":"c-no-sev","actor":"mallory","op":"declare","title":"x","kind":"outage"}`, "severity"},
		{"c-long-title", `{"type":"command","id":"c-long-title","actor":"mallory","op":"declare","title":"` + strings.Repeat("t", 257) + `","severity":"SEV2","kind":"outage"}`, "title is 257 bytes"},
		{"c-bad-at", `{"type":"command","id":"c-bad-at","actor":"mallory","op":"declare","title":"x","severity":"SEV2","kind":"outage","at":"yesterday"}`, "at is not"},
		{"c-bad-kind", `{"type":"command","id":"c-bad-kind","actor":"mallory","op":"declare","title":"x","severity":"SEV2","kind":"party"}`, `no runbook "party"`},
		// Malformed, but it names its id: answered, not silently skipped.
		{"c-mistyped", `{"type":"command","id":"c-mistyped","actor":"mallory","op":"declare","title":["x"],"severity":"SEV2","kind":"outage"}`, "malformed command"},
		{"c-no-op", `{"type":"command","id":"c-no-op","actor":"mallory"}`, "missing op"},
		{"c-collect", `{"type":"command","id":"c-collect","actor":"mallory","op":"collect","host":"web-3","at":"10000-01-01T00:00:00Z"}`, "at is not"},
	}
	for _, p := range poison {
		w.sendRaw(p.frame)
		w.wantNack(p.id, protocol.CodeInvalid, p.want)
	}
	if seq := srv.hub.Seq(); seq != 0 {
		t.Fatalf("refused commands wrote %d journal messages", seq)
	}
	// A valid command after them is applied: the connection survived.
	w.send(protocol.Command{ID: "c-good", Actor: "alice", Op: "declare", Title: "Mail down", Severity: "SEV2", Kind: "outage"})
	w.wantAck("c-good")
	addr := srv.addr
	srv.stop()
	// The server restarts over its own journal, which holds the one
	// acknowledged command and nothing else.
	msgs, rec, err := journal.ReadFile(dir)
	if err != nil || rec.TornBytes != 0 || len(msgs) != 2 {
		t.Fatalf("journal after refusals: %d messages, %+v, %v", len(msgs), rec, err)
	}
	srv2 := startServer(t, dir, addr, Options{})
	if srv2.hub.Seq() != 2 || len(srv2.hub.Incidents()) != 1 {
		t.Fatalf("after restart: seq %d, %d incidents", srv2.hub.Seq(), len(srv2.hub.Incidents()))
	}
}

func TestFramesStayUnderOneMiB(t *testing.T) {
	// A runbook whose checklist alone encodes past 1 MiB: 200 steps, each
	// hint 1,000 "<", which JSON writes as "\u003c", six bytes each.
	huge := incident.Runbook{Kind: "huge"}
	for i := range protocol.MaxChecklist {
		huge.Steps = append(huge.Steps, incident.Step{ID: fmt.Sprintf("s%d", i), Title: "t", Hint: strings.Repeat("<", 1000)})
	}
	book := incident.Defaults()
	book["huge"] = huge
	srv := startServer(t, t.TempDir(), "", Options{Book: book})
	w := dialWire(t, srv.url)

	w.send(protocol.Command{ID: "c-decl", Actor: "alice", Op: "declare", Title: "Mail down", Severity: "SEV2", Kind: "outage"})
	w.wantAck("c-decl")
	note := strings.Repeat("<", protocol.MaxTextBytes)
	w.send(protocol.Command{ID: "c-note", Actor: "alice", Op: "note", Incident: "INC-1", Text: note})
	frames := w.wantAck("c-note")
	if len(frames) != 1 || len(frames[0]) > protocol.MaxFrameSize || len(frames[0]) < 6*protocol.MaxTextBytes {
		t.Fatalf("note frames: %d, first %d bytes", len(frames), len(frames[0]))
	}
	w.send(protocol.Command{ID: "c-note-big", Actor: "alice", Op: "note", Incident: "INC-1", Text: note + "<"})
	w.wantNack("c-note-big", protocol.CodeInvalid, "text is 16385 bytes")

	seq := srv.hub.Seq()
	w.send(protocol.Command{ID: "c-huge", Actor: "alice", Op: "declare", Title: "x", Severity: "SEV3", Kind: "huge"})
	w.wantNack("c-huge", protocol.CodeInvalid, "would be a frame of")
	if srv.hub.Seq() != seq {
		t.Fatal("a refused command was journaled")
	}

	// What no command caused is trimmed to fit: a check whose output is
	// 2 MB of "<".
	detail := strings.Repeat("<", 2<<20)
	srv.hub.PublishService(protocol.Service{Host: "web-3", Service: "exim", State: "down", Detail: detail, Since: protocol.At(time.Now()), At: protocol.At(time.Now())})
	for {
		data := w.nextFrame()
		if len(data) > protocol.MaxFrameSize {
			t.Fatalf("a %d-byte frame", len(data))
		}
		if m, _ := protocol.Decode(data); m != nil {
			if e, ok := m.(*protocol.Entry); ok && e.Service == "exim" {
				if !strings.HasSuffix(e.Text, truncated) || len(e.Text) > protocol.MaxTextBytes {
					t.Fatalf("entry text of %d bytes, ends %q", len(e.Text), e.Text[len(e.Text)-20:])
				}
				break
			}
		}
	}
}

func TestFitEntryTrimsEvidence(t *testing.T) {
	big := strings.Repeat("<", 200<<10)
	e := protocol.Entry{Seq: 1, Kind: protocol.EntryEvidence, Text: strings.Repeat("x", 20<<10), Host: "web-3",
		Evidence: &protocol.EvidenceData{Reason: "load crit", Outputs: []protocol.Output{{Name: "a", Text: big}, {Name: "b", Text: big}, {Name: "c", Text: "short"}}}}
	fitEntry(&e)
	if n := frameSize(&e); n > protocol.MaxFrameSize {
		t.Fatalf("still %d bytes", n)
	}
	if e.Evidence == nil || e.Evidence.Outputs[2].Text != "short" || !e.Evidence.Outputs[0].Truncated || len(e.Text) > protocol.MaxTextBytes {
		t.Fatalf("evidence after fitting: %+v", e.Evidence.Outputs[2])
	}
}

func TestCommandTimeOfAction(t *testing.T) {
	now := time.Date(2026, 11, 22, 2, 40, 0, 0, time.UTC)
	srv := startServer(t, t.TempDir(), "", Options{Now: func() time.Time { return now }})
	w := dialWire(t, srv.url)
	w.send(protocol.Command{ID: "c-decl", Actor: "alice", Op: "declare", Title: "Mail down", Severity: "SEV2", Kind: "outage"})
	w.wantAck("c-decl")
	tests := []struct {
		name     string
		at       time.Time
		want     time.Time
		received bool
	}{
		{"ten minutes back: used, received set", now.Add(-10 * time.Minute), now.Add(-10 * time.Minute), true},
		{"three days back: the server's time", now.Add(-72 * time.Hour), now, false},
		{"in the future: the server's time", now.Add(time.Hour), now, false},
		{"within a second: used, no received", now.Add(-300 * time.Millisecond), now.Add(-300 * time.Millisecond), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("c-%d", i)
			w.send(protocol.Command{ID: id, Actor: "alice", Op: "note", Incident: "INC-1", Text: tt.name, At: protocol.TimePtr(tt.at)})
			frames := w.wantAck(id)
			var e protocol.Entry
			if len(frames) != 1 || json.Unmarshal(frames[0], &e) != nil {
				t.Fatalf("frames %q", frames)
			}
			if !e.At.Equal(tt.want) || (e.Received != nil) != tt.received {
				t.Fatalf("at %s received %v; want at %s received %v", e.At, e.Received, tt.want, tt.received)
			}
			if e.Received != nil && !e.Received.Equal(now) {
				t.Fatalf("received %s, want %s", e.Received, now)
			}
		})
	}
	// A tick carries its time of action into the checklist too.
	tick := now.Add(-10 * time.Minute)
	w.send(protocol.Command{ID: "c-tick", Actor: "alice", Op: "check", Incident: "INC-1", Item: "ack", Done: yes(), At: protocol.TimePtr(tick)})
	w.wantAck("c-tick")
	if got := srv.hub.Incidents()[0].Checklist[0].DoneAt; got == nil || !got.Equal(tick) {
		t.Fatalf("done_at %v, want %s", got, tick)
	}
}

// transitions returns the journal's service and level transition entries.
func transitions(h *Hub) []string {
	var out []string
	h.journal.Range(1, h.Seq(), func(m journal.Message) bool {
		if msg, err := m.Decode(); err == nil {
			if e, ok := msg.(*protocol.Entry); ok && (e.Service != "" || e.Level != "") {
				out = append(out, e.Text)
			}
		}
		return true
	})
	return out
}

func TestRestartFabricatesNoTransitions(t *testing.T) {
	dir := t.TempDir()
	// A Nagios plugin that always says critical: down without depending on
	// a port nobody else may take meanwhile.
	check := probe.Check{Name: "exim", Type: "command", Target: `sh -c "echo CRITICAL - exim not answering; exit 2"`, Every: 10 * time.Millisecond, Timeout: 5 * time.Second, Rise: 2, Fall: 3}
	runCheck := func(h *Hub) func() {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); probe.RunCheck(ctx, "web-3", check, "", h) }()
		return func() { cancel(); wg.Wait() }
	}
	crit := protocol.Load{Host: "web-3", Interval: protocol.Duration(time.Second), Load1: 9, CPUs: 4}

	srv := startServer(t, dir, "", Options{})
	stopCheck := runCheck(srv.hub)
	eventually(t, "the down transition", func() bool { return len(transitions(srv.hub)) == 1 })
	crit.At = protocol.At(time.Now())
	srv.hub.PublishLoad(crit)
	stopCheck()
	// Journaled once durable: record does not wait for the disk.
	eventually(t, "the crit transition", func() bool { return len(transitions(srv.hub)) == 2 })
	before := transitions(srv.hub)
	if len(before) != 2 || !strings.Contains(before[0], "exim on web-3 new → down") || !strings.Contains(before[1], "ok → crit") {
		t.Fatalf("transitions before restart: %q", before)
	}
	var since protocol.Time
	srv.hub.mu.Lock()
	since = srv.hub.live.services[serviceKey("web-3", "exim")].Since
	srv.hub.mu.Unlock()
	addr := srv.addr
	srv.stop()

	srv2 := startServer(t, dir, addr, Options{})
	seq := srv2.hub.Seq()
	stopCheck = runCheck(srv2.hub)
	d := connect(t, srv2.url, "")
	var after protocol.Service
	eventually(t, "exim reported after the restart", func() bool {
		srv2.hub.mu.Lock()
		defer srv2.hub.mu.Unlock()
		s := srv2.hub.live.services[serviceKey("web-3", "exim")]
		if s != nil {
			after = *s
		}
		return s != nil
	})
	crit.At = protocol.At(time.Now())
	srv2.hub.PublishLoad(crit)
	stopCheck()
	eventually(t, "synced", d.synced)
	if got := srv2.hub.Seq(); got != seq {
		t.Fatalf("the restart journaled %d new messages: %q", got-seq, transitions(srv2.hub)[len(before):])
	}
	if after.State != protocol.StateDown || !after.Since.Equal(since.Time) {
		t.Fatalf("after restart: %s since %s, want down since %s", after.State, after.Since, since)
	}
	// A real change after the restart is journaled from the known state.
	srv2.hub.PublishService(protocol.Service{Host: "web-3", Service: "exim", State: "ok", At: protocol.At(time.Now()), Since: protocol.At(time.Now())})
	eventually(t, "the ok transition", func() bool { return len(transitions(srv2.hub)) >= 3 })
	if got := transitions(srv2.hub); len(got) != 3 || !strings.Contains(got[2], "exim on web-3 down → ok") {
		t.Fatalf("transitions: %q", got)
	}
}

// logger sends the hub's log to l (fleet_test.go), for tests that read it.
func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// readToClose reads until the connection ends and returns how.
func readToClose(conn *websocket.Conn) error {
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			return err
		}
	}
}

func wantClose(t *testing.T, err error, code int, reason string) {
	t.Helper()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || !strings.Contains(ce.Text, reason) {
		t.Fatalf("connection ended with %v, want close %d with %q", err, code, reason)
	}
}

// stalled subscribes and then reads nothing.
func stalled(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, _, err := conn.ReadMessage(); err != nil {
		t.Fatal(err)
	}
	conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","since":0,"journal":""}`))
	return conn
}

func TestSlowSubscriberGetsACloseFrameItCanRead(t *testing.T) {
	big := strings.Repeat("x", protocol.MaxTextBytes)
	flood := func(h *Hub, every int, until func() bool) {
		for i := 0; i < 20_000 && !until(); i++ {
			h.PublishService(protocol.Service{Host: "h", Service: "s", State: "ok", Detail: fmt.Sprint(i, big), Since: protocol.At(time.Now()), At: protocol.At(time.Now())})
			if i%every == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}
	t.Run("queue full", func(t *testing.T) {
		var logs logBuffer
		srv := startServer(t, t.TempDir(), "", Options{QueueSize: 16, Logger: logs.logger()})
		slow := stalled(t, srv.url)
		eventually(t, "subscribed", func() bool { return srv.hub.Subscribers() == 1 })
		flood(srv.hub, 64, func() bool { return srv.hub.Subscribers() == 0 })
		eventually(t, "slow subscriber dropped", func() bool { return srv.hub.Subscribers() == 0 })
		wantClose(t, readToClose(slow), websocket.CloseTryAgainLater, "too slow")
		if !strings.Contains(logs.String(), "dropped slow subscriber") {
			t.Fatalf("the drop was not logged:\n%s", logs.String())
		}
	})
	t.Run("stalled past the write deadline", func(t *testing.T) {
		// The queue never fills; the socket does, and the frame in flight
		// waits. Before, that write timed out and the connection was cut
		// with no close frame at all.
		var logs logBuffer
		srv := startServer(t, t.TempDir(), "", Options{WriteWait: 2 * time.Second, QueueSize: 1 << 16, Logger: logs.logger()})
		slow := stalled(t, srv.url)
		eventually(t, "subscribed", func() bool { return srv.hub.Subscribers() == 1 })
		flood(srv.hub, 1, func() bool { return srv.hub.Subscribers() == 0 })
		eventually(t, "slow subscriber dropped", func() bool { return srv.hub.Subscribers() == 0 })
		wantClose(t, readToClose(slow), websocket.CloseTryAgainLater, "too slow")
		if !strings.Contains(logs.String(), tooSlowWrite) {
			t.Fatalf("the drop was not logged:\n%s", logs.String())
		}
	})
}

func TestPingTimeoutDropIsLogged(t *testing.T) {
	var logs logBuffer
	srv := startServer(t, t.TempDir(), "", Options{PingPeriod: 50 * time.Millisecond, Logger: logs.logger()})
	conn := stalled(t, srv.url)
	// A peer that answers no ping: gorilla answers them only while reading.
	eventually(t, "subscribed", func() bool { return srv.hub.Subscribers() == 1 })
	eventually(t, "dropped", func() bool { return srv.hub.Subscribers() == 0 })
	eventually(t, "the drop logged", func() bool { return strings.Contains(logs.String(), "no frame or pong") })
	conn.Close()
}

func TestNoSubscribeIsClosedWithAReason(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{WriteWait: 200 * time.Millisecond})
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(srv.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wantClose(t, readToClose(conn), websocket.ClosePolicyViolation, "no subscribe within 200ms of hello")
}

func TestHealthzUnderRequireToken(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", Options{Tokens: []string{"s3cret"}, RequireToken: true})
	get := func(token string) map[string]any {
		req, _ := http.NewRequest(http.MethodGet, "http://"+srv.addr+"/healthz", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("healthz: %d %v", resp.StatusCode, err)
		}
		return body
	}
	for _, token := range []string{"", "wrong"} {
		if body := get(token); body["status"] != "ok" || len(body) != 1 {
			t.Fatalf("healthz with token %q told %v", token, body)
		}
	}
	if body := get("s3cret"); body["status"] != "ok" || body["journal"] != srv.hub.JournalID() {
		t.Fatalf("healthz with the token: %v", body)
	}
}

func TestCloseFrameReasonFits(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes
	frame := closeFrame(websocket.CloseProtocolError, long)
	if len(frame) > 125 || !bytes.HasPrefix(frame[2:], []byte("é")) || !utf8.Valid(frame[2:]) {
		t.Fatalf("close frame of %d bytes", len(frame))
	}
}

// FuzzCommandReplays: whatever a peer sends as a command, what the hub
// acknowledges it can replay (the journal reopens whole, with the same
// seq), and no frame it journaled passes 1 MiB. The property of
// PROTOCOL.md's Limits, for any input, not only the cases above.
func FuzzCommandReplays(f *testing.F) {
	for _, seed := range []string{
		`{"type":"command","id":"c-1","actor":"a","op":"declare","title":"x","severity":"SEV2","kind":"maintenance","scheduled_start":"9999-12-31T23:59:59.999-23:59"}`,
		`{"type":"command","id":"c-1","actor":"a","op":"declare","title":"x","severity":"SEV2","kind":"outage","at":"2026-11-22T02:00:00Z"}`,
		`{"type":"command","id":"c-1","actor":"a","op":"note","incident":"INC-1","text":"<<<<"}`,
		`{"type":"command","id":"c-1","actor":"a","op":"check","incident":"INC-1","item":"ack","done":true}`,
		`{"type":"command","id":"c-1","actor":"a","op":"update","incident":"INC-1","title":"y","commander":"b c"}`,
		`{"type":"command","id":"c-1","actor":"a","op":"status","incident":"INC-1","status":"resolved"}`,
		`{"type":"command","id":"c-1","actor":"a","op":"declare","title":["x"]}`,
		`{"type":"command","id":"c 1","actor":"a\u0000","op":"note","incident":"INC-1","text":"\ud800"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		dir := t.TempDir()
		j, _, err := journal.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		h := NewHub(j, Options{Now: func() time.Time { return time.Date(2026, 11, 22, 2, 40, 0, 0, time.UTC) }})
		h.Apply(protocol.Command{ID: "c-0", Actor: "alice", Op: "declare", Title: "Mail down", Severity: "SEV2", Kind: "outage"}, true, nil)
		m, err := protocol.Decode(frame)
		if err != nil {
			nackMalformed(frame, err) // must not panic
		} else if cmd, ok := m.(*protocol.Command); ok {
			h.Apply(*cmd, true, nil)
		}
		seq := j.Seq()
		j.Range(1, seq, func(m journal.Message) bool {
			if !protocol.FitsFrame(m.Frame) {
				t.Fatalf("journaled a %d-byte frame", len(m.Frame))
			}
			return true
		})
		j.Close()
		again, rec, err := journal.Open(dir)
		if err != nil || rec.TornBytes != 0 || again.Seq() != seq {
			t.Fatalf("the journal does not replay: %v, torn %d, seq %d of %d", err, rec.TornBytes, again.Seq(), seq)
		}
		again.Close()
	})
}
