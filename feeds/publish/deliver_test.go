package publish

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// selfSigned makes a certificate for 127.0.0.1 and a client config that
// trusts only it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// mailbox is a real SMTP server in-process: STARTTLS, AUTH PLAIN only
// over TLS, mail only once authenticated.
type mailbox struct {
	mu    sync.Mutex
	mails []string
	tls   []bool
	rcpts [][]string // each mail's envelope recipients
}

func (mb *mailbox) received() []string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return append([]string(nil), mb.mails...)
}

type session struct {
	mb     *mailbox
	conn   *smtp.Conn
	authed bool
	rcpts  []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "status" || pass != "hunter2" {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.mb.mu.Lock()
	s.mb.mails = append(s.mb.mails, string(b))
	s.mb.tls = append(s.mb.tls, isTLS)
	s.mb.rcpts = append(s.mb.rcpts, s.rcpts)
	s.mb.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.rcpts = nil }
func (s *session) Logout() error { return nil }

// serveSMTP serves mb on addr until the test ends.
func serveSMTP(t *testing.T, addr string, serverTLS *tls.Config, mb *mailbox) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{mb: mb, conn: c}, nil }))
	s.Domain, s.TLSConfig = "127.0.0.1", serverTLS
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// journalSink stands where the hub's journal stands: it keeps the
// delivery entries the engine reports.
type journalSink struct {
	mu      sync.Mutex
	entries []protocol.Entry
}

func (j *journalSink) record(e protocol.Entry) {
	j.mu.Lock()
	j.entries = append(j.entries, e)
	j.mu.Unlock()
}

func (j *journalSink) all() []protocol.Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]protocol.Entry(nil), j.entries...)
}

func (j *journalSink) outcomes() []string {
	var out []string
	for _, e := range j.all() {
		out = append(out, e.Delivery.Outcome)
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

var quick = Retry{Attempts: 6, First: 20 * time.Millisecond, Max: 100 * time.Millisecond}

func publishEntry(ref string, channels ...string) *protocol.Entry {
	return &protocol.Entry{Incident: "INC-42", At: protocol.At(t0), Actor: "alice", Kind: protocol.EntryPublish,
		Text: "Mail is delayed. We are on it.", Subject: "Mail delayed", Channels: channels, Ref: ref}
}

// run starts e until the test ends.
func run(t *testing.T, e *Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestEmailSTARTTLSAuthDownThenBackDeliveredOnce(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	addr := freeAddr(t) // nothing listens yet: the relay is down
	mb := &mailbox{}
	email := &Email{Name: "customers", Addr: addr, TLS: TLSStartTLS, Username: "status", Password: "hunter2",
		From: "status@example.com", To: []string{"a@example.com", "b@example.com", "c@example.com"}, TLSConfig: clientTLS, Timeout: 5 * time.Second}
	sink := &journalSink{}
	b := board(published(inc("INC-42", "SEV2", "outage", "identified", t0, "mail"), "c-1", "x", t0))
	e := NewEngine(b, EngineOptions{Senders: map[string]Sender{"customers": email}, Record: sink.record, Retry: quick})
	e.Observe(publishEntry("c-7", "page", "customers"))
	run(t, e)
	eventually(t, "a journaled retry while the relay is down", func() bool { return len(sink.all()) >= 1 })
	first := sink.all()[0]
	if first.Delivery.Outcome != protocol.DeliveryRetrying || first.Delivery.NextTry == nil || !strings.Contains(first.Text, "retry 2 in") {
		t.Fatalf("first try: %+v %+v", first, first.Delivery)
	}
	serveSMTP(t, addr, serverTLS, mb)
	eventually(t, "delivered", func() bool { return e.Pending() == 0 })
	all := sink.all()
	last := all[len(all)-1]
	if last.Delivery.Outcome != protocol.DeliveryDelivered || last.Channel != "customers" || last.Ref != "c-7" ||
		!strings.HasPrefix(last.Text, "email customers to 3 recipients: 250") {
		t.Fatalf("last entry %+v %+v", last, last.Delivery)
	}
	for _, en := range all[:len(all)-1] {
		if en.Delivery.Outcome != protocol.DeliveryRetrying {
			t.Fatalf("outcomes %v", sink.outcomes())
		}
	}
	// Each recipient their own mail, addressed to them alone: customers
	// never see each other's addresses.
	mails := mb.received()
	if len(mails) != 3 {
		t.Fatalf("%d mails, want one per recipient", len(mails))
	}
	m := Message{Ref: "c-7", Channel: "customers"}
	for i, to := range email.To {
		mb.mu.Lock()
		rcpts, overTLS := mb.rcpts[i], mb.tls[i]
		mb.mu.Unlock()
		if !overTLS || len(rcpts) != 1 || rcpts[0] != to {
			t.Fatalf("mail %d: envelope %v (tls %v), want %s alone", i, rcpts, overTLS, to)
		}
		for _, want := range []string{"To: <" + to + ">", "Message-ID: <" + m.MessageID("example.com") + ">", "X-Vigil-Delivery: c-7/customers", "Subject: Mail delayed", "Mail is delayed. We are on it."} {
			if !strings.Contains(mails[i], want) {
				t.Fatalf("mail to %s lacks %q:\n%s", to, want, mails[i])
			}
		}
		for _, other := range email.To {
			if other != to && strings.Contains(mails[i], other) {
				t.Fatalf("mail to %s shows %s:\n%s", to, other, mails[i])
			}
		}
	}
}

func TestEmailRefusedWithoutTLS(t *testing.T) {
	// A relay without STARTTLS: a starttls channel never sends in clear.
	mb := &mailbox{}
	addr := freeAddr(t)
	serveSMTP(t, addr, nil, mb)
	email := &Email{Name: "customers", Addr: addr, TLS: TLSStartTLS, Username: "status", Password: "hunter2",
		From: "status@example.com", To: []string{"a@example.com"}, Timeout: 5 * time.Second}
	if _, err := email.Send(context.Background(), Message{Ref: "c-1", Channel: "customers", Text: "x", At: t0}); err == nil {
		t.Fatal("sent without TLS")
	}
	if len(mb.received()) != 0 {
		t.Fatal("the relay got mail in clear")
	}
}

func TestWebhookSignedRetriedDeliveredOnce(t *testing.T) {
	for _, format := range []string{FormatSlack, FormatJSON} {
		t.Run(format, func(t *testing.T) {
			var mu sync.Mutex
			calls, accepted := 0, map[string]int{}
			var body []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				defer mu.Unlock()
				calls++
				if !Verify("s3cret", b, r.Header.Get(HeaderSignature)) {
					http.Error(w, "bad signature", http.StatusUnauthorized)
					return
				}
				if calls == 1 {
					http.Error(w, "busy", http.StatusServiceUnavailable)
					return
				}
				accepted[r.Header.Get(HeaderDelivery)]++
				body = b
			}))
			defer srv.Close()
			sink := &journalSink{}
			hook := &Webhook{Name: "ops-chat", URL: srv.URL, Format: format, Secret: "s3cret"}
			in := inc("INC-42", "SEV2", "outage", "identified", t0, "mail")
			in.Checklist = []protocol.Item{{ID: "status-page", Title: "First notice on the status page"}}
			b := board(published(in, "c-1", "x", t0))
			e := NewEngine(b, EngineOptions{Senders: map[string]Sender{"ops-chat": hook}, Record: sink.record, Retry: quick})
			pe := publishEntry("c-9", "ops-chat")
			pe.Item = "status-page"
			e.Observe(pe)
			run(t, e)
			eventually(t, "delivered", func() bool { return e.Pending() == 0 })
			if it := sink.all()[0].Item; it != "status-page" {
				t.Fatalf("the delivery entry names step %q", it)
			}
			if got := strings.Join(sink.outcomes(), " "); got != "retrying delivered" {
				t.Fatalf("outcomes %q", got)
			}
			if first := sink.all()[0].Text; !strings.HasPrefix(first, "webhook ops-chat: HTTP 503, retry 2 in ") {
				t.Fatalf("retry text %q", first)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(accepted) != 1 || accepted["c-9/ops-chat"] != 1 {
				t.Fatalf("accepted %v", accepted)
			}
			if format == FormatSlack {
				var s struct{ Text string }
				if err := json.Unmarshal(body, &s); err != nil || !strings.HasPrefix(s.Text, "Mail is delayed. We are on it.") || !strings.Contains(s.Text, "https://status.example.com/status") {
					t.Fatalf("slack body %s", body)
				}
				return
			}
			var j JSONBody
			if err := json.Unmarshal(body, &j); err != nil || j.Incident.ID != "INC-42" || j.Update.Ref != "c-9" || j.Update.Text != "Mail is delayed. We are on it." ||
				j.Step == nil || j.Step.Title != "First notice on the status page" || j.Delivery != "c-9/ops-chat" || len(j.Incident.Components) != 1 {
				t.Fatalf("json body %s", body)
			}
		})
	}
}

func TestSignature(t *testing.T) {
	// RFC 4231 test case 2.
	if got := Sign("Jefe", []byte("what do ya want for nothing?")); got != "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Fatalf("signature %s", got)
	}
	if Verify("Jefe", []byte("what do ya want for nothing!"), Sign("Jefe", []byte("what do ya want for nothing?"))) {
		t.Fatal("a changed body verified")
	}
}

func TestGivesUpAfterTheLimitLoudly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusGone)
	}))
	defer srv.Close()
	sink := &journalSink{}
	e := NewEngine(NewBoard(site), EngineOptions{Senders: map[string]Sender{"ops-chat": &Webhook{Name: "ops-chat", URL: srv.URL, Format: FormatSlack}},
		Record: sink.record, Retry: Retry{Attempts: 3, First: time.Millisecond, Max: time.Millisecond}})
	e.Observe(publishEntry("c-1", "ops-chat"))
	run(t, e)
	eventually(t, "given up", func() bool { return e.Pending() == 0 })
	all := sink.all()
	if got := strings.Join(sink.outcomes(), " "); got != "retrying retrying failed" {
		t.Fatalf("outcomes %q", got)
	}
	if last := all[2]; last.Delivery.Attempt != 3 || last.Text != "webhook ops-chat: HTTP 410; gave up after 3 tries: not delivered" {
		t.Fatalf("last %q %+v", last.Text, last.Delivery)
	}
}

// The engine is rebuilt from the journal: a pair with a terminal outcome
// is never tried again; a retrying one resumes at its attempt and time.
func TestEngineRebuildsFromJournal(t *testing.T) {
	next := protocol.TimePtr(t0.Add(time.Minute))
	retrying := &protocol.Entry{Kind: protocol.EntryDelivery, Ref: "c-1", Channel: "ops-chat", Delivery: &protocol.Delivery{Outcome: protocol.DeliveryRetrying, Attempt: 2, NextTry: next}}
	tests := []struct {
		name    string
		journal []protocol.Message
		pending int
	}{
		{"published, never tried", []protocol.Message{publishEntry("c-1", "page", "ops-chat", "customers")}, 2},
		{"page only", []protocol.Message{publishEntry("c-1", "page")}, 0},
		{"one delivered", []protocol.Message{publishEntry("c-1", "ops-chat", "customers"),
			&protocol.Entry{Kind: protocol.EntryDelivery, Ref: "c-1", Channel: "customers", Delivery: &protocol.Delivery{Outcome: protocol.DeliveryDelivered, Attempt: 1}}}, 1},
		{"retrying", []protocol.Message{publishEntry("c-1", "ops-chat"), retrying}, 1},
		{"failed", []protocol.Message{publishEntry("c-1", "ops-chat"), retrying,
			&protocol.Entry{Kind: protocol.EntryDelivery, Ref: "c-1", Channel: "ops-chat", Delivery: &protocol.Delivery{Outcome: protocol.DeliveryFailed, Attempt: 3}}}, 0},
		{"channel gone", []protocol.Message{publishEntry("c-1", "old-list")}, 1},
		{"channel gone, already failed", []protocol.Message{publishEntry("c-1", "old-list"),
			&protocol.Entry{Kind: protocol.EntryDelivery, Ref: "c-1", Channel: "old-list", Delivery: &protocol.Delivery{Outcome: protocol.DeliveryFailed}}}, 0},
		{"publish seen twice", []protocol.Message{publishEntry("c-1", "ops-chat"), publishEntry("c-1", "ops-chat")}, 1},
	}
	senders := map[string]Sender{"ops-chat": &Webhook{}, "customers": &Email{}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEngine(NewBoard(site), EngineOptions{Senders: senders})
			for _, m := range tt.journal {
				e.Observe(m)
			}
			if e.Pending() != tt.pending {
				t.Fatalf("pending %d, want %d", e.Pending(), tt.pending)
			}
		})
	}
	e := NewEngine(NewBoard(site), EngineOptions{Senders: senders})
	e.Observe(publishEntry("c-1", "ops-chat"))
	e.Observe(retrying)
	j, wait := e.head(e.queues["ops-chat"])
	if j.attempt != 2 || !j.next.Equal(next.Time) || wait > 0 && j.next.IsZero() {
		t.Fatalf("resumed job %+v", j)
	}
}

func TestRetryDelays(t *testing.T) {
	r := Retry{Attempts: 8, First: 30 * time.Second, Max: 5 * time.Minute}
	var got []string
	for a := 1; a <= 6; a++ {
		got = append(got, r.Delay(a).String())
	}
	if strings.Join(got, " ") != "30s 1m0s 2m0s 4m0s 5m0s 5m0s" {
		t.Fatalf("delays %v", got)
	}
}

// A publish to a channel that was configured then but is not now is
// journaled as failed on start, loudly, rather than left pending forever.
func TestRemovedChannelFailsLoudlyOnStart(t *testing.T) {
	sink := &journalSink{}
	e := NewEngine(NewBoard(site), EngineOptions{Record: sink.record})
	e.Observe(publishEntry("c-1", "page", "old-list"))
	run(t, e)
	eventually(t, "journaled", func() bool { return len(sink.all()) == 1 })
	got := sink.all()[0]
	if got.Delivery.Outcome != protocol.DeliveryFailed || got.Channel != "old-list" || got.Ref != "c-1" || !strings.Contains(got.Text, `channel "old-list" is no longer configured; not sent`) {
		t.Fatalf("entry %q %+v", got.Text, got.Delivery)
	}
	if e.Pending() != 0 {
		t.Fatalf("pending %d", e.Pending())
	}
}

func TestEngineEndsItsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	e := NewEngine(NewBoard(site), EngineOptions{Senders: map[string]Sender{"a": &Webhook{}, "b": &Email{}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	cancel()
	<-done
	eventually(t, "goroutines back to baseline", func() bool { return runtime.NumGoroutine() <= before })
}

// FuzzEngineReplay: whatever entries a journal holds, replaying them
// never panics and never queues more than the publishes asked for.
func FuzzEngineReplay(f *testing.F) {
	f.Add(`{"type":"entry","seq":1,"text":"x","kind":"publish","ref":"c-1","channels":["page","ops-chat","gone"]}`,
		`{"type":"entry","seq":2,"text":"x","kind":"delivery","ref":"c-1","channel":"ops-chat","delivery":{"outcome":"retrying","attempt":2,"next_try":"2026-11-22T02:14:00.000Z"}}`)
	f.Add(`{"type":"entry","seq":1,"text":"x","kind":"delivery","ref":"c-1","channel":"ops-chat"}`,
		`{"type":"entry","seq":2,"text":"x","kind":"delivery","ref":"c-9","channel":"gone","delivery":{"outcome":"failed","attempt":-3}}`)
	f.Fuzz(func(t *testing.T, a, b string) {
		e := NewEngine(NewBoard(site), EngineOptions{Senders: map[string]Sender{"ops-chat": &Webhook{}, "customers": &Email{}}})
		asked := 0
		for _, frame := range []string{a, b, a} {
			m, err := protocol.Decode([]byte(frame))
			if err != nil {
				continue
			}
			if en, ok := m.(*protocol.Entry); ok && en.Kind == protocol.EntryPublish {
				asked += len(en.Channels)
			}
			e.Observe(m)
			e.Pending()
		}
		if p := e.Pending(); p > asked {
			t.Fatalf("%d pending after publishes to %d channels", p, asked)
		}
		if q := e.queues["ops-chat"]; len(q.jobs) > 0 {
			e.head(q)
		}
	})
}

func TestRecipientsInWords(t *testing.T) {
	for n, want := range map[int]string{0: "0 recipients", 1: "1 recipient", 2: "2 recipients"} {
		if got := recipients(n); got != want {
			t.Errorf("recipients(%d) = %q, want %q", n, got, want)
		}
	}
}
