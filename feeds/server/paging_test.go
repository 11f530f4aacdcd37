package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/paging"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
)

// clock is an injected time, moved by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// phone is a real HTTP server standing for a person's phone webhook.
type phone struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	keys   []string
}

func newPhone(t *testing.T) *phone {
	p := &phone{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.bodies = append(p.bodies, string(b))
		p.keys = append(p.keys, r.Header.Get(publish.HeaderDelivery))
		p.mu.Unlock()
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *phone) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.bodies...)
}

var pagingT0 = time.Date(2026, 11, 22, 2, 11, 40, 0, time.UTC)

func pagingConfig() paging.Config {
	return paging.Config{
		Email: true,
		People: map[string]paging.Person{
			"alice": {Name: "alice", Email: "alice@example.com"},
			"bob":   {Name: "bob", Email: "bob@example.com", Webhook: "bob-phone"},
		},
		Rotations: map[string]paging.Rotation{"primary": {Name: "primary", People: []string{"alice"}, Start: pagingT0.Add(-time.Hour), Shift: 168 * time.Hour}},
		Escalations: map[string]paging.Escalation{"default": {Name: "default", Levels: []paging.Level{
			{Notify: []string{"rotation:primary"}, Wait: 5 * time.Minute},
			{Notify: []string{"person:bob"}, Wait: 10 * time.Minute},
		}}},
		Rules: []paging.Rule{{Name: "default", On: []string{"down", "crit", "silent", "alert"}, Hosts: []string{"*"}, Services: []string{"*"},
			Escalation: "default", Group: 30 * time.Second, Urgency: "high"}},
		Components: []paging.Component{{ID: "mail", Hosts: []string{"mx-*"}}},
	}
}

type pagingRig struct {
	dir   string
	clock *clock
	mail  *relay
	phone *phone
	opts  Options
	hub   *Hub
	j     journal.Backend
	http  *httptest.Server
}

func newPagingRig(t *testing.T) *pagingRig {
	r := &pagingRig{dir: t.TempDir(), clock: &clock{t: pagingT0}, phone: newPhone(t)}
	var addr string
	r.mail, addr = startRelay(t)
	secret, err := LoadPagingSecret(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	r.opts = Options{Now: r.clock.Now, Paging: &PagingOptions{
		Config: pagingConfig(), Secret: secret,
		Email:    &publish.Email{Name: "pager-mail", Addr: addr, TLS: publish.TLSNone, From: "pager@example.com"},
		Webhooks: map[string]publish.Sender{"bob-phone": &publish.Webhook{Name: "bob-phone", URL: r.phone.URL, Format: publish.FormatJSON}},
	}}
	r.start(t)
	return r
}

// start opens the journal and a hub over it, serving its mux: a start,
// or a restart after stop.
func (r *pagingRig) start(t *testing.T) {
	j, _, err := journal.OpenWith(r.dir, journal.Options{Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r.j = j
	var mux http.Handler
	r.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { mux.ServeHTTP(w, req) }))
	opts := r.opts
	po := *opts.Paging
	po.URL = r.http.URL
	opts.Paging = &po
	r.hub = NewHub(j, opts)
	mux = r.hub.Mux("/feed")
}

// stop ends the hub as abruptly as a test can: its journal closed under
// it, nothing flushed by the hub.
func (r *pagingRig) stop() {
	r.http.Close()
	r.hub.pager.sending.Wait()
	r.j.Close()
}

// step runs the paging loop once at t and waits for the sends it began.
func (r *pagingRig) step(t *testing.T, at time.Time) {
	t.Helper()
	r.clock.set(at)
	r.hub.PagingStep(context.Background())
	eventually(t, "the sends", func() bool {
		r.hub.pager.mu.Lock()
		defer r.hub.pager.mu.Unlock()
		return len(r.hub.pager.inflight) == 0
	})
}

func (r *pagingRig) page(t *testing.T, id string) protocol.Page {
	t.Helper()
	for _, p := range r.hub.Pages() {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("no page %s", id)
	return protocol.Page{}
}

var ackLink = regexp.MustCompile(`Acknowledge: (http://\S+/ack/\S+)`)

// The "done when", at the hub: a service going down pages the
// on-call by email after the group window; unacknowledged, it reaches the
// next level on time through a restart, nobody paged twice; the link in
// the mail acknowledges and nothing more is sent.
func TestServiceDownPagesEscalatesThroughRestartAndTheLinkAcks(t *testing.T) {
	r := newPagingRig(t)
	down := protocol.Service{Host: "shared-04", Service: "exim", State: protocol.StateDown, Detail: "connect 127.0.0.1:25: refused\x1b[2J",
		At: protocol.At(pagingT0), Since: protocol.At(pagingT0)}
	r.hub.PublishService(down)
	r.step(t, pagingT0.Add(29*time.Second))
	if n := len(r.mail.received()); n != 0 {
		t.Fatalf("paged inside the group window: %d mails", n)
	}
	r.step(t, pagingT0.Add(30*time.Second))
	mails := r.mail.received()
	if len(mails) != 1 || !strings.Contains(mails[0], "To: <alice@example.com>") || !strings.Contains(mails[0], "Subject: [PG-1] shared-04: exim down") {
		t.Fatalf("level 1 mail: %q", mails)
	}
	if strings.Contains(mails[0], "\x1b") {
		t.Fatal("an escape sequence from the host reached the mail")
	}
	r.step(t, pagingT0.Add(time.Minute))
	if len(r.mail.received()) != 1 {
		t.Fatal("alice paged twice")
	}

	// A restart: the engine comes back from the journal.
	r.stop()
	r.start(t)
	if p := r.page(t, "PG-1"); p.Status != protocol.PageTriggered || len(p.Notified) != 1 || p.Notified[0].Person != "alice" {
		t.Fatalf("after restart %+v", p)
	}
	r.step(t, pagingT0.Add(5*time.Minute+29*time.Second))
	if len(r.mail.received()) != 1 || len(r.phone.received()) != 0 {
		t.Fatal("escalated early, or repeated level 1 after the restart")
	}
	r.step(t, pagingT0.Add(5*time.Minute+30*time.Second))
	mails = r.mail.received()
	if len(mails) != 2 || !strings.Contains(mails[1], "To: <bob@example.com>") {
		t.Fatalf("level 2 mails %q", mails)
	}
	bodies := r.phone.received()
	if len(bodies) != 1 {
		t.Fatalf("phone got %q", bodies)
	}
	var body map[string]any
	json.Unmarshal([]byte(bodies[0]), &body)
	if body["type"] != "page" || body["person"] != "bob" || body["level"] != 2.0 || !strings.HasPrefix(body["ack_url"].(string), r.http.URL+"/ack/") {
		t.Fatalf("webhook body %s", bodies[0])
	}

	link := ackLink.FindStringSubmatch(strings.ReplaceAll(mails[1], "=\r\n", ""))
	if link == nil {
		t.Fatalf("no acknowledge link in %q", mails[1])
	}
	// A GET (a mail scanner) shows the page and acknowledges nothing.
	resp, err := http.Get(link[1])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `<form method="post"`) || r.page(t, "PG-1").Status != protocol.PageTriggered {
		t.Fatalf("GET: %d %s", resp.StatusCode, b)
	}
	// A tampered token changes nothing and says why.
	bad := link[1][:len(link[1])-2] + "xx"
	resp, _ = http.Post(bad, "", nil)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), "altered") || r.page(t, "PG-1").Status != protocol.PageTriggered {
		t.Fatalf("tampered: %d %s", resp.StatusCode, b)
	}
	resp, err = http.Post(link[1], "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if p := r.page(t, "PG-1"); resp.StatusCode != 200 || p.Status != protocol.PageAcknowledged || *p.AckedBy != "bob" {
		t.Fatalf("POST: %d %s; page %+v", resp.StatusCode, b, p)
	}
	if acks := entriesOfKind(r.hub, protocol.EntryAck); len(acks) != 1 || acks[0].Actor != "bob" {
		t.Fatalf("ack entries %+v", acks)
	}
	// Nothing more is sent, however long nobody resolves it.
	for _, d := range []time.Duration{16 * time.Minute, time.Hour, 24 * time.Hour} {
		r.step(t, pagingT0.Add(d))
	}
	if len(r.mail.received()) != 2 || len(r.phone.received()) != 1 {
		t.Fatal("sent after the acknowledgement")
	}
	// The service comes back: the page resolves itself and says so to
	// everyone it paged; the link then says it is resolved.
	up := down
	up.State, up.At = protocol.StateOK, protocol.At(pagingT0.Add(25*time.Hour))
	r.hub.PublishService(up)
	r.step(t, pagingT0.Add(25*time.Hour))
	if p := r.page(t, "PG-1"); p.Status != protocol.PageResolved {
		t.Fatalf("not resolved: %+v", p)
	}
	mails = r.mail.received()
	if len(mails) != 4 || !strings.Contains(mails[2]+mails[3], "resolved") {
		t.Fatalf("resolution mails: %d", len(mails))
	}
	resp, _ = http.Post(link[1], "", nil)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 409 || !strings.Contains(string(b), "resolved") {
		t.Fatalf("link of a resolved page: %d %s", resp.StatusCode, b)
	}
	// Every notification was journaled as being sent before its outcome.
	count := func() (sending, outcome int) {
		for _, e := range entriesOfKind(r.hub, protocol.EntryPage) {
			if e.Notify.Outcome == protocol.NotifySending {
				sending++
			} else {
				outcome++
			}
		}
		return
	}
	eventually(t, "6 notifications journaled sending, then delivered", func() bool { s, o := count(); return s == 6 && o == 6 })
	r.stop()
}

// A crash between the journaled "sending" and the outcome resends with
// the same Message-ID: the receiver can tell it is the same page.
func TestInterruptedSendResendsWithTheSameIdentity(t *testing.T) {
	r := newPagingRig(t)
	r.hub.PublishService(protocol.Service{Host: "h", Service: "s", State: protocol.StateDown, At: protocol.At(pagingT0)})
	r.clock.set(pagingT0.Add(time.Minute))
	// Journal the sending entry as the loop would, and stop before sending.
	p := r.hub.pager
	p.mu.Lock()
	n := p.eng.Due(r.clock.Now())[0]
	p.mu.Unlock()
	st := n.Notify
	st.Outcome = protocol.NotifySending
	r.hub.record(protocol.Entry{Actor: "vigil", Kind: protocol.EntryPage, Page: n.Page, Notify: &st, Text: "paging alice by email"})
	r.hub.pageFlush(t)
	eventually(t, "durable", func() bool { return r.hub.Seq() >= 3 })
	r.stop()
	r.start(t)
	r.step(t, pagingT0.Add(2*time.Minute))
	r.step(t, pagingT0.Add(3*time.Minute))
	mails := r.mail.received()
	if len(mails) != 1 {
		t.Fatalf("%d mails", len(mails))
	}
	id := regexp.MustCompile(`Message-ID: <(\S+)>`).FindStringSubmatch(mails[0])
	want := publish.Message{Ref: n.ID(), Channel: "email"}.MessageID("example.com")
	if id == nil || id[1] != want {
		t.Fatalf("Message-ID %v, want %s", id, want)
	}
	r.stop()
}

// pageFlush journals the pages the engine changed in memory.
func (h *Hub) pageFlush(t *testing.T) {
	t.Helper()
	h.cmdMu.Lock()
	defer h.cmdMu.Unlock()
	h.pager.mu.Lock()
	var msgs []protocol.Message
	for _, pg := range h.pager.eng.Pages() {
		msgs = append(msgs, &protocol.PageMsg{Page: pg})
	}
	clear(h.pager.dirty)
	h.pager.mu.Unlock()
	if _, err := h.journal.Append("", msgs...); err != nil {
		t.Fatal(err)
	}
}

func TestMaintenanceWindowSilencesItsHosts(t *testing.T) {
	r := newPagingRig(t)
	start := pagingT0.Add(-time.Minute)
	res := r.hub.Apply(protocol.Command{ID: "c1", Actor: "carol", Op: "declare", Title: "Mail upgrade", Severity: "SEV4", Kind: "maintenance",
		ScheduledStart: protocol.TimePtr(start), ScheduledEnd: protocol.TimePtr(pagingT0.Add(time.Hour))}, true, nil)
	if res.Code != "" {
		t.Fatalf("%s", res.Frame)
	}
	// Components are the status page's; the hub's site has none here, so
	// the window's scope is set as journaled.
	r.hub.observePaging(&protocol.IncidentMsg{Incident: protocol.Incident{ID: "INC-1", Kind: "maintenance", Status: "investigating",
		ScheduledStart: protocol.TimePtr(start), ScheduledEnd: protocol.TimePtr(pagingT0.Add(time.Hour)), Components: []string{"mail"}}})
	r.hub.PublishService(protocol.Service{Host: "mx-1", Service: "exim", State: protocol.StateDown, At: protocol.At(pagingT0)})
	r.hub.PublishService(protocol.Service{Host: "web-1", Service: "nginx", State: protocol.StateDown, At: protocol.At(pagingT0)})
	r.step(t, pagingT0.Add(time.Minute))
	ps := r.hub.Pages()
	if len(ps) != 1 || ps[0].Events[0].Host != "web-1" || len(ps[0].Events) != 1 {
		t.Fatalf("pages %+v", ps)
	}
	// The window ends with mx-1 still down: it pages then.
	r.step(t, pagingT0.Add(time.Hour))
	ps = r.hub.Pages()
	if len(ps) != 1 || len(ps[0].Events) != 2 || ps[0].Events[1].Host != "mx-1" {
		t.Fatalf("after the window %+v", ps)
	}
	r.stop()
}

func TestPagingCommands(t *testing.T) {
	r := newPagingRig(t)
	cmds := []struct {
		cmd  protocol.Command
		code string
	}{
		{protocol.Command{Op: "summon", Who: "person:bob", Text: "need you on INC-1"}, ""},
		{protocol.Command{Op: "summon", Who: "person:zed", Text: "x"}, protocol.CodeNotFound},
		{protocol.Command{Op: "ack", Page: "PG-1"}, ""},
		{protocol.Command{Op: "ack", Page: "PG-1"}, protocol.CodeConflict},
		{protocol.Command{Op: "escalate", Page: "PG-9"}, protocol.CodeNotFound},
		{protocol.Command{Op: "resolve", Page: "PG-1"}, ""},
		{protocol.Command{Op: "silence", Hosts: []string{"db-*"}, Until: protocol.TimePtr(pagingT0.Add(time.Hour)), Reason: "disk swap"}, ""},
		{protocol.Command{Op: "silence", Silence: "SIL-1", Until: protocol.TimePtr(pagingT0)}, ""},
		{protocol.Command{Op: "override", Rotation: "primary", Person: "bob", From: protocol.TimePtr(pagingT0), Until: protocol.TimePtr(pagingT0.Add(time.Hour))}, ""},
		{protocol.Command{Op: "override", Rotation: "primary", Person: "bob"}, protocol.CodeInvalid},
	}
	for i, c := range cmds {
		c.cmd.ID, c.cmd.Actor = "c"+string(rune('a'+i)), "alice"
		if res := r.hub.Apply(c.cmd, true, nil); res.Code != c.code {
			t.Fatalf("%d %s: %s, want %q", i, c.cmd.Op, res.Frame, c.code)
		}
	}
	// An incident declared from a page starts with the page's events.
	r.hub.PublishService(protocol.Service{Host: "db-1", Service: "mysql", State: protocol.StateDown, Detail: "refused", At: protocol.At(pagingT0)})
	r.step(t, pagingT0.Add(time.Second))
	if res := r.hub.Apply(protocol.Command{ID: "decl", Actor: "alice", Op: "declare", Title: "DB down", Severity: "SEV2", Kind: "outage", Page: "PG-2"}, true, nil); res.Code != "" {
		t.Fatalf("declare from a page: %s", res.Frame)
	}
	if p := r.page(t, "PG-2"); p.Incident == nil || *p.Incident != "INC-1" {
		t.Fatalf("page after declare %+v", p)
	}
	var first *protocol.Entry
	for _, e := range entriesOfKind(r.hub, protocol.EntryAlert) {
		if e.Incident == "INC-1" {
			first = e
			break
		}
	}
	if first == nil || first.Text != "from PG-2: db-1 mysql down: refused" {
		t.Fatalf("first entry %+v", first)
	}
	frame := r.hub.oncallFrame()
	var o protocol.Oncall
	json.Unmarshal(frame, &o)
	if len(o.Rotations) != 1 || o.Rotations[0].Now != "bob" || len(o.Silences) != 0 {
		t.Fatalf("oncall %s", frame)
	}
	if p := r.page(t, "PG-1"); p.Status != protocol.PageResolved || *p.AckedBy != "alice" {
		t.Fatalf("%+v", p)
	}
	// Restarted, the override and silence hold.
	r.stop()
	r.start(t)
	r.step(t, pagingT0.Add(2*time.Second))
	json.Unmarshal(r.hub.oncallFrame(), &o)
	if o.Rotations[0].Now != "bob" {
		t.Fatalf("override lost: %+v", o)
	}
	r.stop()
}

// A customer-facing step overdue by 10 minutes pages the incident's
// commander with the step; doing the step resolves that page.
func TestOverdueCustomerStepPagesTheCommander(t *testing.T) {
	r := newPagingRig(t)
	if res := r.hub.Apply(protocol.Command{ID: "d", Actor: "bob", Op: "declare", Title: "Mail down", Severity: "SEV2", Kind: "outage", At: protocol.TimePtr(pagingT0)}, true, nil); res.Code != "" {
		t.Fatalf("%s", res.Frame)
	}
	r.hub.Apply(protocol.Command{ID: "u", Actor: "bob", Op: "update", Incident: "INC-1", Commander: "alice"}, true, nil)
	// status-page is due 15m after opening: overdue by 9m, nobody paged.
	r.step(t, pagingT0.Add(24*time.Minute))
	if n := len(r.hub.Pages()); n != 0 {
		t.Fatalf("paged before the grace: %d pages", n)
	}
	r.step(t, pagingT0.Add(25*time.Minute))
	ps := r.hub.Pages()
	if len(ps) != 1 || ps[0].Escalation != "person:alice" || ps[0].Incident == nil || !strings.Contains(ps[0].Title, "status-page overdue") {
		t.Fatalf("pages %+v", ps)
	}
	mails := r.mail.received()
	if len(mails) != 1 || !strings.Contains(mails[0], "To: <alice@example.com>") || !strings.Contains(mails[0], "the customers are waiting") {
		t.Fatalf("mails %q", mails)
	}
	r.step(t, pagingT0.Add(26*time.Minute))
	if len(r.hub.Pages()) != 1 || len(r.mail.received()) != 1 {
		t.Fatal("paged again for the same step")
	}
	r.hub.Apply(protocol.Command{ID: "c", Actor: "alice", Op: "check", Incident: "INC-1", Item: "status-page", Done: yes()}, true, nil)
	r.step(t, pagingT0.Add(27*time.Minute))
	if p := r.page(t, ps[0].ID); p.Status != protocol.PageResolved {
		t.Fatalf("the step is done, the page is %s", p.Status)
	}
	r.stop()
}

// An acknowledge token reads back only as the page and person it was made
// for; anything else, however formed, is refused.
func FuzzAckToken(f *testing.F) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	f.Add(ackToken(secret, "PG-12", "alice"))
	f.Add("UEctMTIAYWxpY2U.xxxx")
	f.Add(".")
	f.Fuzz(func(t *testing.T, token string) {
		page, person, ok := readAckToken(secret, token)
		if ok && ackToken(secret, page, person) != token {
			t.Fatalf("%q read as %s/%s but is not its token", token, page, person)
		}
	})
}

func TestAckTokenRefusesAnotherHubsKey(t *testing.T) {
	tok := ackToken([]byte("one key, thirty-two bytes long!!"), "PG-1", "bob")
	if _, _, ok := readAckToken([]byte("another key, thirty-two bytes!!!"), tok); ok {
		t.Fatal("a token of another key was accepted")
	}
	if page, person, ok := readAckToken([]byte("one key, thirty-two bytes long!!"), tok); !ok || page != "PG-1" || person != "bob" {
		t.Fatal("its own token refused")
	}
}

// A certificate check's warning pages by a rule on expiry, days before
// anything is down; renewed, its page resolves by itself.
func TestExpiryWarningPages(t *testing.T) {
	r := newPagingRig(t)
	cfg := pagingConfig()
	cfg.Rules = []paging.Rule{{Name: "renewals", On: []string{"expiry"}, Hosts: []string{"*"}, Services: []string{"*"},
		Escalation: "default", Group: 30 * time.Second, Urgency: "high"}}
	r.stop()
	r.opts.Paging.Config = cfg
	r.start(t)
	cert := func(state, detail string, at time.Time) protocol.Service {
		return protocol.Service{Host: "hub", Service: "www-cert", State: state, Detail: detail, At: protocol.At(at), Since: protocol.At(at)}
	}
	sink := r.hub.ExpirySink()
	sink.PublishService(cert(protocol.StateOK, "expires in 40 days", pagingT0))
	r.hub.PublishService(protocol.Service{Host: "hub", Service: "www", State: protocol.StateWarn, At: protocol.At(pagingT0), Since: protocol.At(pagingT0)})
	r.step(t, pagingT0.Add(time.Minute))
	if n := len(r.hub.Pages()); n != 0 {
		t.Fatalf("%d pages before any expiry warned", n)
	}
	sink.PublishService(cert(protocol.StateWarn, "expires in 13 days", pagingT0.Add(2*time.Minute)))
	r.step(t, pagingT0.Add(3*time.Minute))
	mails := r.mail.received()
	if len(mails) != 1 || !strings.Contains(mails[0], "To: <alice@example.com>") || !strings.Contains(mails[0], "www-cert") {
		t.Fatalf("the expiry warning paged %q", mails)
	}
	sink.PublishService(cert(protocol.StateDown, "expired", pagingT0.Add(4*time.Minute)))
	r.step(t, pagingT0.Add(4*time.Minute+time.Second))
	if ps := r.hub.Pages(); len(ps) != 1 {
		t.Fatalf("warn then down made %d pages, want one", len(ps))
	}
	sink.PublishService(cert(protocol.StateOK, "expires in 89 days", pagingT0.Add(5*time.Minute)))
	r.step(t, pagingT0.Add(5*time.Minute+time.Second))
	if p := r.page(t, "PG-1"); p.Status != protocol.PageResolved {
		t.Fatalf("renewed, the page is %s", p.Status)
	}
}

// A rewind shows each page as its frame stood at the moment.
func TestRewindShowsPagesAsTheyStood(t *testing.T) {
	r := newPagingRig(t)
	r.hub.PublishService(protocol.Service{Host: "shared-04", Service: "exim", State: protocol.StateDown,
		At: protocol.At(pagingT0), Since: protocol.At(pagingT0)})
	r.step(t, pagingT0.Add(30*time.Second))
	r.clock.set(pagingT0.Add(2 * time.Minute))
	if res := r.hub.Apply(protocol.Command{ID: "c-ack", Actor: "alice", Op: protocol.OpAck, Page: "PG-1"}, true, nil); res.Code != "" {
		t.Fatalf("ack: %s", res.Frame)
	}
	r.step(t, pagingT0.Add(3*time.Minute))
	for _, tt := range []struct {
		at   time.Time
		want string // the page's status, "" for none
	}{
		{pagingT0.Add(-time.Minute), ""},
		{pagingT0.Add(time.Minute), protocol.PageTriggered},
		{pagingT0.Add(3 * time.Minute), protocol.PageAcknowledged},
	} {
		ans, err := r.hub.Rewind(context.Background(), tt.at)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		for _, frame := range ans.Pages {
			m, err := protocol.Decode(frame)
			if err != nil {
				t.Fatalf("a rewind's page frame: %v", err)
			}
			if pg := m.(*protocol.PageMsg).Page; pg.ID == "PG-1" {
				got = pg.Status
			}
		}
		if got != tt.want {
			t.Errorf("rewound to %s: PG-1 %q, want %q", tt.at.Format(time.TimeOnly), got, tt.want)
		}
	}
}
