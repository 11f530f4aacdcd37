package main

import (
	"bytes"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Done when a publish to affected during a two-host outage reaches exactly
// the customers of those hosts once each, through a kill -9 of the hub in
// the middle of 1,000 sends.
func TestAffectedCustomersOnceEachThroughKill9(t *testing.T) {
	t.Parallel()
	bin := buildVigil(t)
	dir := t.TempDir()
	box := &personalBox{byRcpt: map[string][]*mailMessage{}}
	relay := servePersonalRelay(t, box)

	const perHost, bystanders = 500, 100
	var csv bytes.Buffer
	csv.WriteString("id,name,email,hosts,components,plan,monthly_fee\n")
	for i := range 2*perHost + bystanders {
		host := fmt.Sprintf("shared-0%d", 1+i/perHost) // 01, 02, and 03 for the bystanders
		fmt.Fprintf(&csv, "c%04d,Customer %04d,c%04d@example.com,%s,,shared,10\n", i, i, i, host)
	}
	if err := os.WriteFile(filepath.Join(dir, "customers.csv"), csv.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	conf := filepath.Join(dir, "hub.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`[serve]
data_dir = %q
probe_load = false

[serve.alertmanager]

[serve.customers]
file = "customers.csv"

[[serve.sla]]
plan = "shared"
target = 99.9
credits = [ { below = 99.9, percent = 10 } ]

[[serve.channels]]
name = "customers-mail"
type = "email"
smtp = %q
tls = "none"
from = "status@example.com"
to = ["ops@example.com"]

[[serve.channels]]
name = "affected"
type = "customers"
email = "customers-mail"
per_second = 500
`, filepath.Join(dir, "data"), relay)), 0o600); err != nil {
		t.Fatal(err)
	}
	hub := startKillableHub(t, bin, conf, addr)

	// The outage: exim down on the two hosts, by Alertmanager's webhook.
	var alerts []string
	for _, h := range []string{"shared-01", "shared-02"} {
		alerts = append(alerts, fmt.Sprintf(`{"status":"firing","labels":{"alertname":"exim","host":%q,"severity":"critical"},"startsAt":%q,"fingerprint":"fp-%s"}`,
			h, time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), h))
	}
	resp, err := http.Post("http://"+addr+"/alertmanager", "application/json",
		strings.NewReader(`{"version":"4","status":"firing","receiver":"vigil","alerts":[`+strings.Join(alerts, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("alertmanager webhook: %s", resp.Status)
	}

	ws := dialFeed(t, addr)
	ws.command(t, protocol.Command{ID: "d1", Actor: "alice", Op: protocol.OpDeclare, Title: "Mail down on shared-01 and shared-02", Severity: "SEV2", Kind: "outage"})
	incID := ws.incidentID(t)
	ws.command(t, protocol.Command{ID: "p1", Actor: "alice", Op: protocol.OpPublish, Incident: incID, Channels: []string{"affected"},
		Subject: "Mail is delayed", Text: "Dear {{.Customer.Name}},\n\nmail on your server is delayed; we are on it."})
	pub := ws.publishEntry(t, "p1")
	if len(pub.Recipients) != 2*perHost {
		t.Fatalf("publish froze %d recipients, want %d", len(pub.Recipients), 2*perHost)
	}
	ws.close()

	// Kill -9 in the middle of the sends, start again on the same data.
	box.waitFor(t, 300)
	hub.kill9(t)
	atKill := box.total()
	startKillableHub(t, bin, conf, addr)
	ws = dialFeed(t, addr)
	defer ws.close()
	done := ws.delivered(t, "p1", "affected")
	if !strings.Contains(done.Text, "1000 of 1000 accepted") {
		t.Fatalf("delivery entry says %q", done.Text)
	}
	if strings.Contains(done.Text, "@") {
		t.Fatalf("delivery entry names an address: %q", done.Text)
	}

	box.mu.Lock()
	twice := 0
	for i := range 2*perHost + bystanders {
		addr := fmt.Sprintf("c%04d@example.com", i)
		got := box.byRcpt[addr]
		if i >= 2*perHost {
			if len(got) != 0 {
				t.Errorf("%s is on shared-03, not down, and got %d messages", addr, len(got))
			}
			continue
		}
		switch {
		case len(got) == 0:
			t.Errorf("%s got nothing", addr)
			continue
		case len(got) == 2 && got[0].Header.Get("Message-Id") == got[1].Header.Get("Message-Id"):
			twice++ // the window no sender closes: the same message again
		case len(got) > 1:
			t.Errorf("%s got %d different messages", addr, len(got))
		}
		m := got[0]
		if to := m.Header.Get("To"); !strings.Contains(to, addr) || strings.Contains(to, ",") {
			t.Errorf("%s: To: %q, want that customer alone", addr, to)
		}
		body, _ := io.ReadAll(m.Body)
		if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body, _ = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
		}
		if want := fmt.Sprintf("Dear Customer %04d,", i); !strings.Contains(string(body), want) {
			t.Errorf("%s: body lacks %q:\n%s", addr, want, body)
		}
	}
	if twice > 1 {
		t.Errorf("%d customers got their message twice; only the one in flight at the kill may", twice)
	}
	t.Logf("killed after %d of 1000 messages; %d resent with the same Message-ID", atKill, twice)
	box.mu.Unlock()

	// vigil credits over the same journal: a row for each customer of the
	// two hosts (still down), none for the bystanders.
	month := time.Now().UTC().Format("2006-01")
	out, err := exec.Command(bin, "credits", "--month", month, "--journal", filepath.Join(dir, "data"), "--config", conf).CombinedOutput()
	if err != nil {
		t.Fatalf("vigil credits: %v\n%s", err, out)
	}
	rows := strings.Split(strings.TrimSpace(string(out)), "\n")
	if rows[0] != "customer,name,plan,down_minutes,availability,credit_percent,credit,incidents" || len(rows) != 1+2*perHost {
		t.Fatalf("credits: %d rows, header %q", len(rows)-1, rows[0])
	}
	for _, r := range rows[1:] {
		if !strings.HasPrefix(r, "c0") || !strings.HasSuffix(r, ","+incID) {
			t.Fatalf("credits row %q: want a customer of shared-01/02 and the incident", r)
		}
	}
}

// ----- a relay that keeps every message by recipient -----

type personalBox struct {
	mu     sync.Mutex
	byRcpt map[string][]*mailMessage
	n      int
}

func (b *personalBox) total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

func (b *personalBox) waitFor(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if b.total() >= n {
			return
		}
	}
	t.Fatalf("the relay got %d messages, waited for %d", b.total(), n)
}

type personalSession struct {
	box *personalBox
	to  []string
}

func (s *personalSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *personalSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *personalSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	defer s.box.mu.Unlock()
	for _, to := range s.to {
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			return err
		}
		s.box.byRcpt[to] = append(s.box.byRcpt[to], m)
	}
	s.box.n++
	return nil
}
func (s *personalSession) Reset()        { s.to = nil }
func (s *personalSession) Logout() error { return nil }

func servePersonalRelay(t *testing.T, box *personalBox) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &personalSession{box: box}, nil }))
	s.Domain = "127.0.0.1"
	s.AllowInsecureAuth = true
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	return ln.Addr().String()
}

// ----- a hub that can be killed -----

type killableHub struct {
	cmd  *exec.Cmd
	done chan struct{}
	logs *lockedBuffer
}

func startKillableHub(t *testing.T, bin, conf, addr string) *killableHub {
	t.Helper()
	h := &killableHub{cmd: exec.Command(bin, "serve", "--config", conf, "--listen", addr), done: make(chan struct{}), logs: &lockedBuffer{}}
	h.cmd.Stdout, h.cmd.Stderr = h.logs, h.logs
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		h.cmd.Process.Signal(os.Interrupt)
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			h.cmd.Process.Kill()
			<-h.done
		}
		if t.Failed() {
			t.Logf("hub log:\n%s", h.logs.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
	}
	t.Fatalf("the hub did not come up:\n%s", h.logs.String())
	return nil
}

func (h *killableHub) kill9(t *testing.T) {
	t.Helper()
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-h.done
}

// ----- the feed, spoken directly -----

type feedConn struct {
	conn *websocket.Conn
	mu   sync.Mutex
	msgs []protocol.Message
	done chan struct{}
}

func dialFeed(t *testing.T, addr string) *feedConn {
	t.Helper()
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial("ws://"+addr+"/feed", nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &feedConn{conn: conn, done: make(chan struct{})}
	if err := conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{})); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(f.done)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			if m, err := protocol.Decode(data); err == nil {
				f.mu.Lock()
				f.msgs = append(f.msgs, m)
				f.mu.Unlock()
			}
		}
	}()
	return f
}

func (f *feedConn) close() { f.conn.Close(); <-f.done }

// find waits for the first message ok accepts.
func (f *feedConn) find(t *testing.T, what string, wait time.Duration, ok func(protocol.Message) bool) protocol.Message {
	t.Helper()
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		f.mu.Lock()
		for _, m := range f.msgs {
			if ok(m) {
				f.mu.Unlock()
				return m
			}
		}
		f.mu.Unlock()
	}
	t.Fatalf("no %s on the feed", what)
	return nil
}

func (f *feedConn) command(t *testing.T, cmd protocol.Command) {
	t.Helper()
	if err := f.conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&cmd)); err != nil {
		t.Fatal(err)
	}
	m := f.find(t, "answer to "+cmd.ID, 30*time.Second, func(m protocol.Message) bool {
		switch a := m.(type) {
		case *protocol.Ack:
			return a.ID == cmd.ID
		case *protocol.Nack:
			return a.ID == cmd.ID
		}
		return false
	})
	if n, refused := m.(*protocol.Nack); refused {
		t.Fatalf("%s refused: %s %s", cmd.Op, n.Code, n.Error)
	}
}

func (f *feedConn) incidentID(t *testing.T) string {
	t.Helper()
	return f.find(t, "incident", 30*time.Second, func(m protocol.Message) bool {
		_, ok := m.(*protocol.IncidentMsg)
		return ok
	}).(*protocol.IncidentMsg).Incident.ID
}

func (f *feedConn) publishEntry(t *testing.T, ref string) *protocol.Entry {
	t.Helper()
	return f.find(t, "publish entry", 30*time.Second, func(m protocol.Message) bool {
		e, ok := m.(*protocol.Entry)
		return ok && e.Kind == protocol.EntryPublish && e.Ref == ref
	}).(*protocol.Entry)
}

func (f *feedConn) delivered(t *testing.T, ref, channel string) *protocol.Entry {
	t.Helper()
	return f.find(t, "delivered entry", 60*time.Second, func(m protocol.Message) bool {
		e, ok := m.(*protocol.Entry)
		return ok && e.Kind == protocol.EntryDelivery && e.Ref == ref && e.Channel == channel && e.Delivery != nil && e.Delivery.Outcome == protocol.DeliveryDelivered
	}).(*protocol.Entry)
}

type mailMessage = mail.Message
