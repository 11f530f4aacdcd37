package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
)

// receiver is a webhook endpoint that counts what it accepted by
// delivery key, checking each signature.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	accepted map[string]int
	bodies   []string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{accepted: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		if !publish.Verify("s3cret", b, req.Header.Get(publish.HeaderSignature)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		r.mu.Lock()
		r.accepted[req.Header.Get(publish.HeaderDelivery)]++
		r.bodies = append(r.bodies, string(b))
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) count() (total int, byKey map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	byKey = map[string]int{}
	for k, n := range r.accepted {
		byKey[k] = n
		total += n
	}
	return total, byKey
}

func publishOptions(hookURL string) Options {
	return Options{
		Site:    publish.Site{Name: "Example Hosting", URL: "https://status.example.com", Components: []protocol.Component{{ID: "mail", Name: "Mail"}, {ID: "web", Name: "Web"}}},
		Senders: map[string]publish.Sender{"ops-chat": &publish.Webhook{Name: "ops-chat", URL: hookURL, Format: publish.FormatSlack, Secret: "s3cret"}},
		Retry:   publish.Retry{Attempts: 3, First: 10 * time.Millisecond, Max: 20 * time.Millisecond},
	}
}

func entriesOfKind(h *Hub, kind string) []*protocol.Entry {
	var out []*protocol.Entry
	h.journal.Range(1, h.Seq(), func(m journal.Message) bool {
		if msg, err := m.Decode(); err == nil {
			if e, ok := msg.(*protocol.Entry); ok && e.Kind == kind {
				out = append(out, e)
			}
		}
		return true
	})
	return out
}

func TestHelloNamesChannelsAndComponents(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", publishOptions("http://127.0.0.1:1/"))
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(srv.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	m, err := protocol.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	hello := m.(*protocol.Hello)
	if strings.Join(hello.Channels, ",") != "page,ops-chat" || len(hello.Components) != 2 || hello.Components[0] != (protocol.Component{ID: "mail", Name: "Mail"}) {
		t.Fatalf("hello %+v", hello)
	}
}

func TestPublishOverTheWire(t *testing.T) {
	hook := newReceiver(t)
	srv := startServer(t, t.TempDir(), "", publishOptions(hook.URL))
	d := connect(t, srv.url, "")
	eventually(t, "synced", d.synced)
	if _, ok := d.send(t, protocol.Command{Op: "declare", Title: "Mail delayed", Severity: "SEV2", Kind: "outage", Components: []string{"mail"}}).(client.AckEvent); !ok {
		t.Fatal("declare nacked")
	}
	if _, ok := d.send(t, protocol.Command{Op: "claim", Incident: "INC-1", Item: "status-page", Claim: yes()}).(client.AckEvent); !ok {
		t.Fatal("claim nacked")
	}
	ans := d.send(t, protocol.Command{Op: "publish", Incident: "INC-1", Item: "status-page", Channels: []string{"page", "ops-chat"},
		Text: "Mail is delayed. We are investigating; next update by 03:00 UTC."})
	if _, ok := ans.(client.AckEvent); !ok {
		t.Fatalf("publish answered %+v", ans)
	}
	eventually(t, "delivered", func() bool { n, _ := hook.count(); return n == 1 && srv.hub.PendingDeliveries() == 0 })
	eventually(t, "the delivery entry", func() bool { return len(entriesOfKind(srv.hub, protocol.EntryDelivery)) == 1 })
	eventually(t, "the delivery entry at the dashboard", func() bool { return len(d.EntryTexts()) == 5 })
	texts := strings.Join(d.EntryTexts(), "\n")
	for _, want := range []string{"declared SEV2 outage: Mail delayed; affects Mail", `alice is on "First notice on the status page / website"`, "Mail is delayed.", "ticked: First notice on the status page / website", "webhook ops-chat: HTTP 200"} {
		if !strings.Contains(texts, want) {
			t.Errorf("timeline lacks %q:\n%s", want, texts)
		}
	}
	inc := srv.hub.Incidents()[0]
	step := inc.Checklist[1]
	if !step.Done() || *step.DoneBy != "alice" || step.ClaimedBy != nil {
		t.Fatalf("step after publish %+v", step)
	}
	pub := entriesOfKind(srv.hub, protocol.EntryPublish)[0]
	if pub.Ref == "" || pub.Item != "status-page" || strings.Join(pub.Channels, ",") != "page,ops-chat" || pub.Actor != "alice" {
		t.Fatalf("publish entry %+v", pub)
	}
	del := entriesOfKind(srv.hub, protocol.EntryDelivery)[0]
	if del.Ref != pub.Ref || del.Channel != "ops-chat" || del.Delivery.Outcome != protocol.DeliveryDelivered {
		t.Fatalf("delivery entry %+v", del)
	}
	// The page shows it, served beside /feed.
	for path, want := range map[string]string{"/status": "Mail is delayed.", "/status/feed.atom": "Mail is delayed.", "/status/summary.json": `"status": "partial_outage"`} {
		resp, err := http.Get("http://" + srv.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
		}
	}
}

func TestPublishRefusals(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", publishOptions("http://127.0.0.1:1/"))
	h := srv.hub
	h.Apply(protocol.Command{ID: "c-0", Actor: "alice", Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"}, true, nil)
	ok := protocol.Command{Actor: "alice", Op: "publish", Incident: "INC-1", Channels: []string{"page"}, Text: "hello"}
	with := func(f func(*protocol.Command)) protocol.Command { c := ok; f(&c); return c }
	tests := []struct {
		name string
		cmd  protocol.Command
		code string
		msg  string
	}{
		{"unknown channel", with(func(c *protocol.Command) { c.Channels = []string{"page", "twitter"} }), protocol.CodeInvalid, `no channel "twitter" (have: page, ops-chat)`},
		{"no channel", with(func(c *protocol.Command) { c.Channels = nil }), protocol.CodeInvalid, "at least one channel"},
		{"no text", with(func(c *protocol.Command) { c.Text = "  \n" }), protocol.CodeInvalid, "needs text"},
		{"text too long", with(func(c *protocol.Command) { c.Text = strings.Repeat("x", protocol.MaxTextBytes+1) }), protocol.CodeInvalid, "at most 16384"},
		{"subject with a newline", with(func(c *protocol.Command) { c.Subject = "a\r\nBcc: all@example.com" }), protocol.CodeInvalid, "one line"},
		{"unknown step", with(func(c *protocol.Command) { c.Item = "pray" }), protocol.CodeNotFound, `no checklist step "pray"`},
		{"unknown incident", with(func(c *protocol.Command) { c.Incident = "INC-9" }), protocol.CodeNotFound, "no incident"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cmd.ID = "c-r" + string(rune('a'+i))
			res := h.Apply(tt.cmd, true, nil)
			var nk protocol.Nack
			json.Unmarshal(res.Frame, &nk)
			if res.Code != tt.code || !strings.Contains(nk.Error, tt.msg) {
				t.Fatalf("answer %s, want %s containing %q", res.Frame, tt.code, tt.msg)
			}
		})
	}
	if n := len(entriesOfKind(h, protocol.EntryPublish)); n != 0 {
		t.Fatalf("%d publish entries after refusals", n)
	}
}

// A resend of the same command id is acked again and delivers nothing
// more, across a restart too.
func TestPublishResendSameIDDeliversNothingMore(t *testing.T) {
	hook := newReceiver(t)
	dir := t.TempDir()
	opts := publishOptions(hook.URL)
	srv := startServer(t, dir, "", opts)
	srv.hub.Apply(protocol.Command{ID: "c-0", Actor: "alice", Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"}, true, nil)
	cmd := protocol.Command{ID: "c-pub", Actor: "alice", Op: "publish", Incident: "INC-1", Item: "updates", Channels: []string{"page", "ops-chat"}, Text: "Update one."}
	first := srv.hub.Apply(cmd, true, nil)
	eventually(t, "delivered", func() bool { n, _ := hook.count(); return n == 1 && srv.hub.PendingDeliveries() == 0 })
	again := srv.hub.Apply(cmd, true, nil)
	if string(first.Frame) != string(again.Frame) || srv.hub.PendingDeliveries() != 0 {
		t.Fatalf("first %s again %s pending %d", first.Frame, again.Frame, srv.hub.PendingDeliveries())
	}
	addr := srv.addr
	srv.stop()
	srv2 := startServer(t, dir, addr, opts)
	third := srv2.hub.Apply(cmd, true, nil)
	if string(third.Frame) != string(first.Frame) || srv2.hub.PendingDeliveries() != 0 {
		t.Fatalf("after restart: %s, pending %d", third.Frame, srv2.hub.PendingDeliveries())
	}
	if n := len(entriesOfKind(srv2.hub, protocol.EntryPublish)); n != 1 {
		t.Fatalf("%d publish entries", n)
	}
	if got := srv2.hub.Incidents()[0].Checklist; got[5].ID != "updates" || got[5].Count != 1 {
		t.Fatalf("the recurring step counted %d times", got[5].Count)
	}
	if n, byKey := hook.count(); n != 1 || byKey["c-pub/ops-chat"] != 1 {
		t.Fatalf("receiver got %v", byKey)
	}
}

// The hub dies after the publish entry is on disk and before any delivery
// (here: the hub is closed before its engine ever ran); the next start
// delivers, once, and the one after delivers nothing.
func TestKillBetweenPublishEntryAndDeliveryDeliversOnce(t *testing.T) {
	hook := newReceiver(t)
	dir := t.TempDir()
	opts := publishOptions(hook.URL)
	j, _, err := journal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHub(j, opts)
	h.Apply(protocol.Command{ID: "c-0", Actor: "alice", Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"}, true, nil)
	res := h.Apply(protocol.Command{ID: "c-pub", Actor: "alice", Op: "publish", Incident: "INC-1", Channels: []string{"ops-chat", "page"}, Text: "We are on it."}, true, nil)
	if res.Code != "" || h.PendingDeliveries() != 1 {
		t.Fatalf("publish %s pending %d", res.Frame, h.PendingDeliveries())
	}
	j.Close() // killed: the journal holds the publish, nothing was sent
	if n, _ := hook.count(); n != 0 {
		t.Fatal("delivered before the engine ran")
	}

	srv := startServer(t, dir, "", opts)
	eventually(t, "delivered after restart", func() bool { n, _ := hook.count(); return n == 1 && srv.hub.PendingDeliveries() == 0 })
	eventually(t, "journaled", func() bool { return len(entriesOfKind(srv.hub, protocol.EntryDelivery)) == 1 })
	addr := srv.addr
	srv.stop()

	srv2 := startServer(t, dir, addr, opts)
	if p := srv2.hub.PendingDeliveries(); p != 0 {
		t.Fatalf("%d deliveries pending after a restart that follows a delivered one", p)
	}
	if n, byKey := hook.count(); n != 1 || byKey["c-pub/ops-chat"] != 1 {
		t.Fatalf("receiver got %v", byKey)
	}
	if n := len(entriesOfKind(srv2.hub, protocol.EntryDelivery)); n != 1 {
		t.Fatalf("%d delivery entries", n)
	}
}

// A publish a lost hub journaled and did not deliver is owed by every hub
// that reads it: the one holding the delivery lease sends it (in a
// cluster; alone, the hub itself), with the delivery key it always had.
func TestEveryHubResumesAPublishItsJournalingHubLeft(t *testing.T) {
	hook := newReceiver(t)
	dir := t.TempDir()
	j, _, err := journal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHub(j, publishOptions(hook.URL))
	h.Apply(protocol.Command{ID: "c-0", Actor: "alice", Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"}, true, nil)
	j.Close()
	// What hub-a of a cluster journaled, as the journal's write path
	// stores it: a publish it delivers, not yet delivered.
	j, _, err = journal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub := &protocol.Entry{Incident: "INC-1", At: protocol.At(time.Now()), Actor: "alice", Kind: protocol.EntryPublish,
		Text: "Mail is delayed; we are on it.", Channels: []string{"ops-chat", "page"}, Ref: "c-pub", Deliverer: "hub-a"}
	j.OnDurable(func([]journal.Message, error) {})
	if _, err := j.Append("c-pub", pub); err != nil {
		t.Fatal(err)
	}
	j.Close() // waits for the record's fsync

	for _, tt := range []struct {
		name    string
		pending int
	}{{"hub-b", 1}, {"hub-a", 1}} {
		t.Run(tt.name, func(t *testing.T) {
			j, _, err := journal.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			opts := publishOptions(hook.URL)
			opts.Name = tt.name
			h := NewHub(j, opts)
			if p := h.PendingDeliveries(); p != tt.pending {
				t.Fatalf("%s resumes %d deliveries of hub-a's publish, want %d", tt.name, p, tt.pending)
			}
			page := httptest.NewRecorder()
			h.statusHandler().ServeHTTP(page, httptest.NewRequest("GET", "/status", nil))
			if !strings.Contains(page.Body.String(), "Mail is delayed") {
				t.Fatalf("%s does not show the publish on its status page", tt.name)
			}
		})
	}
}

// A delivery that failed before a restart resumes with its attempt count:
// the limit counts tries across restarts, and each is journaled.
func TestRetriesAcrossRestartAreCountedAndGiveUp(t *testing.T) {
	dir := t.TempDir()
	opts := publishOptions("http://" + freeTCP(t) + "/") // nothing listens
	opts.Retry = publish.Retry{Attempts: 3, First: time.Millisecond, Max: time.Millisecond}
	j, _, _ := journal.Open(dir)
	h := NewHub(j, opts)
	h.Apply(protocol.Command{ID: "c-0", Actor: "alice", Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"}, true, nil)
	h.Apply(protocol.Command{ID: "c-pub", Actor: "alice", Op: "publish", Incident: "INC-1", Channels: []string{"ops-chat"}, Text: "x"}, true, nil)
	h.record(protocol.Entry{Incident: "INC-1", Actor: "vigil", Kind: protocol.EntryDelivery, Text: "webhook ops-chat: refused, retry 2 in 0s", Ref: "c-pub", Channel: "ops-chat",
		Delivery: &protocol.Delivery{Outcome: protocol.DeliveryRetrying, Attempt: 1, NextTry: protocol.TimePtr(time.Now())}})
	j.Close()
	srv := startServer(t, dir, "", opts)
	eventually(t, "given up", func() bool { return srv.hub.PendingDeliveries() == 0 })
	// The give-up is journaled through h.record, which does not wait for
	// the disk: wait for it to be durable, then check the whole story.
	outcomes := func() string {
		var out []string
		for _, e := range entriesOfKind(srv.hub, protocol.EntryDelivery) {
			out = append(out, e.Delivery.Outcome+"#"+string(rune('0'+e.Delivery.Attempt)))
		}
		return strings.Join(out, " ")
	}
	eventually(t, "the give-up journaled", func() bool { return strings.Contains(outcomes(), protocol.DeliveryFailed) })
	if got := outcomes(); got != "retrying#1 retrying#2 failed#3" {
		t.Fatalf("outcomes %v", got)
	}
}

func freeTCP(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}

func TestClaim(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", publishOptions("http://127.0.0.1:1/"))
	h := srv.hub
	h.Apply(protocol.Command{ID: "c-0", Actor: "alice", Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"}, true, nil)
	no := false
	steps := []struct {
		actor string
		claim *bool
		item  string
		code  string
		text  string
		by    string
	}{
		{"carol", yes(), "email-customers", "", `carol is on "Email affected customers"`, "carol"},
		{"carol", yes(), "email-customers", protocol.CodeConflict, "", "carol"},
		{"bob", yes(), "email-customers", "", `bob took "Email affected customers" over from carol`, "bob"},
		{"carol", &no, "email-customers", "", `carol released "Email affected customers" (held by bob)`, ""},
		{"carol", &no, "email-customers", protocol.CodeConflict, "", ""},
		{"carol", nil, "email-customers", protocol.CodeInvalid, "", ""},
		{"carol", yes(), "pray", protocol.CodeNotFound, "", ""},
		{"dave", yes(), "email-customers", "", `dave is on "Email affected customers"`, "dave"},
		{"dave", &no, "email-customers", "", `dave released "Email affected customers"`, ""},
	}
	for i, s := range steps {
		res := h.Apply(protocol.Command{ID: "c-" + string(rune('a'+i)), Actor: s.actor, Op: "claim", Incident: "INC-1", Item: s.item, Claim: s.claim}, true, nil)
		if res.Code != s.code {
			t.Fatalf("step %d: %s, want %q", i, res.Frame, s.code)
		}
		it := h.Incidents()[0].Checklist[2]
		by := ""
		if it.ClaimedBy != nil {
			by = *it.ClaimedBy
			if it.ClaimedAt == nil {
				t.Fatalf("step %d: claimed without a time", i)
			}
		}
		if by != s.by {
			t.Fatalf("step %d: claimed by %q, want %q", i, by, s.by)
		}
		if s.text != "" {
			claims := entriesOfKind(h, protocol.EntryClaim)
			if last := claims[len(claims)-1]; last.Text != s.text || last.Item != "email-customers" {
				t.Fatalf("step %d: entry %q", i, last.Text)
			}
		}
	}
}

func TestComponentsAndMaintenanceWindow(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", publishOptions("http://127.0.0.1:1/"))
	h := srv.hub
	start := time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Minute)
	end := start.Add(2 * time.Hour)
	bad := h.Apply(protocol.Command{ID: "c-1", Actor: "alice", Op: "declare", Title: "Upgrade", Severity: "SEV4", Kind: "maintenance",
		ScheduledStart: protocol.TimePtr(start), ScheduledEnd: protocol.TimePtr(end), Components: []string{"ftp"}}, true, nil)
	if bad.Code != protocol.CodeInvalid || !strings.Contains(string(bad.Frame), `no public component \"ftp\" (have: mail, web)`) {
		t.Fatalf("unknown component: %s", bad.Frame)
	}
	backwards := h.Apply(protocol.Command{ID: "c-2", Actor: "alice", Op: "declare", Title: "Upgrade", Severity: "SEV4", Kind: "maintenance",
		ScheduledStart: protocol.TimePtr(end), ScheduledEnd: protocol.TimePtr(start)}, true, nil)
	if backwards.Code != protocol.CodeInvalid || !strings.Contains(string(backwards.Frame), "not after scheduled_start") {
		t.Fatalf("end before start: %s", backwards.Frame)
	}
	if res := h.Apply(protocol.Command{ID: "c-3", Actor: "alice", Op: "declare", Title: "Upgrade", Severity: "SEV4", Kind: "maintenance",
		ScheduledStart: protocol.TimePtr(start), ScheduledEnd: protocol.TimePtr(end), Components: []string{"web"}}, true, nil); res.Code != "" {
		t.Fatalf("declare: %s", res.Frame)
	}
	in := h.Incidents()[0]
	if in.ScheduledEnd == nil || !in.ScheduledEnd.Equal(end) || strings.Join(in.Components, ",") != "web" {
		t.Fatalf("declared %+v", in)
	}
	tests := []struct {
		name string
		cmd  protocol.Command
		code string
		text string
	}{
		{"components", protocol.Command{Components: []string{"web", "mail"}}, "", "updated components Web → Web, Mail"},
		{"same components", protocol.Command{Components: []string{"web", "mail"}}, protocol.CodeInvalid, ""},
		{"window and title", protocol.Command{ScheduledEnd: protocol.TimePtr(end.Add(time.Hour)), Title: "Bigger upgrade"}, "", `updated scheduled_end → ` + protocol.At(end.Add(time.Hour)).String() + `, title "Upgrade" → "Bigger upgrade"`},
		{"clear components", protocol.Command{Components: []string{}}, "", "updated components Web, Mail → none"},
		{"unknown component", protocol.Command{Components: []string{"ftp"}}, protocol.CodeInvalid, ""},
		{"end before start", protocol.Command{ScheduledEnd: protocol.TimePtr(start.Add(-time.Hour))}, protocol.CodeInvalid, ""},
		{"plain update still works", protocol.Command{Commander: "bob"}, "", "updated commander alice → bob"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := tt.cmd
			cmd.ID, cmd.Actor, cmd.Op, cmd.Incident = "c-u"+string(rune('a'+i)), "alice", "update", "INC-1"
			res := h.Apply(cmd, true, nil)
			if res.Code != tt.code {
				t.Fatalf("answer %s, want %q", res.Frame, tt.code)
			}
			if tt.text != "" {
				es := entriesOfKind(h, protocol.EntryStatus)
				if got := es[len(es)-1].Text; got != tt.text {
					t.Fatalf("entry %q\nwant  %q", got, tt.text)
				}
			}
		})
	}
	var sum publish.Summary
	resp, err := http.Get("http://" + srv.addr + "/status/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&sum)
	resp.Body.Close()
	if len(sum.Components) != 2 || sum.Components[1].Status != publish.Operational || len(sum.ScheduledMaintenances) != 0 {
		t.Fatalf("nothing announced yet, nothing in progress: %+v", sum)
	}
}
