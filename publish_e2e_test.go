package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/client/clienttest"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
	"github.com/vigil-oncall/vigil/internal/testprog"
)

// Issue 14, done when: a responder publishes an outage update and a
// maintenance announcement from the dashboard (the real binary in tmux at
// 80x24) to the hub's status page, by email (a real SMTP server with
// STARTTLS and AUTH) and to a signed webhook, each exactly once, with the
// publish and delivery entries journaled and the step ticked.
func TestPublishFromTheDashboardEndToEnd(t *testing.T) {
	t.Parallel()
	testprog.Need(t, "tmux", "tmux")
	bin := buildVigil(t)
	dir := t.TempDir()

	// The relay: STARTTLS with a certificate the hub trusts only through
	// SSL_CERT_FILE, AUTH PLAIN only over TLS.
	certFile, serverTLS := selfSignedCert(t, dir)
	mb := &relayBox{}
	smtpAddr := serveRelay(t, serverTLS, mb)

	// The chat: a webhook receiver that refuses anything unsigned.
	hook := &hookReceiver{secret: "hook-s3cret"}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()

	addr := freeAddr(t)
	conf := filepath.Join(dir, "hub.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`[serve]
data_dir = %q
probe_load = false

[serve.status]
name = "Example Hosting"
url = "https://status.example.com"

[[serve.components]]
id = "mail"
name = "Mail"

[[serve.components]]
id = "web"
name = "Web hosting"

[[serve.channels]]
name = "customers"
type = "email"
smtp = %q
tls = "starttls"
username_env = "E2E_SMTP_USER"
password_env = "E2E_SMTP_PASSWORD"
from = "status@example.com"
to = ["ann@example.net", "bo@example.org"]

[[serve.channels]]
name = "ops-chat"
type = "webhook"
url = %q
format = "json"
secret_env = "E2E_HOOK_SECRET"
`, filepath.Join(dir, "hub"), smtpAddr, hookSrv.URL+"/hooks/vigil")), 0o600); err != nil {
		t.Fatal(err)
	}
	hubLog := startPublishingHub(t, bin, conf, addr, certFile)
	base := "http://" + addr

	// A reader of the journal, over the protocol like any dashboard.
	ctx, cancel := context.WithCancel(context.Background())
	c, err := client.New([]client.FeedConfig{{Name: "hub", URL: "ws://" + addr + "/feed"}}, "", client.DefaultTimings())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	journal := clienttest.Collect(ctx, c.Store())
	clientDone := make(chan struct{})
	go func() { c.Run(ctx); close(clientDone) }()
	defer func() { cancel(); <-clientDone; <-journal.Done() }()

	x := &tmux{t: t, session: "vigil-publish", socket: filepath.Join(dir, "tmux.sock")}
	stderrLog := filepath.Join(dir, "stderr.log")
	x.run("new-session", "-d", "-s", x.session, "-x", "80", "-y", "24",
		fmt.Sprintf("env HOME=%s XDG_STATE_HOME=%s/state TERM=xterm-256color %s --feed ws://%s/feed --actor e2e 2>%s", dir, dir, bin, addr, stderrLog))
	defer exec.Command("tmux", "-S", x.socket, "kill-server").Run()
	defer func() {
		if t.Failed() {
			data, _ := os.ReadFile(stderrLog)
			t.Logf("vigil's stderr:\n%s\nthe hub's log:\n%s", data, hubLog.String())
		}
	}()
	x.waitFor("the dashboard, synced", func(s string) bool {
		return strings.Contains(s, "feeds 1/1") && strings.Contains(s, "no active incident")
	})

	// ----- an outage: declare it affecting Mail, publish the first notice -----
	x.keys("D")
	x.waitFor("the declare form with the hub's components", func(s string) bool {
		return strings.Contains(s, "Declare an incident") && strings.Contains(s, "[ ] Mail") && strings.Contains(s, "[ ] Web hosting")
	})
	x.text("Mail delivery delayed")
	x.keys("Tab", "Tab", "Tab", "Space")
	x.waitFor("Mail ticked", func(s string) bool { return strings.Contains(s, "›[x] Mail") })
	x.keys("Enter")
	x.waitFor("INC-1 declared", func(s string) bool { return strings.HasPrefix(s, "INC-1 SEV2 investigating") })

	x.keys("4")
	x.waitFor("the checklist", func(s string) bool { return strings.Contains(s, "First notice on the status page") })
	x.keys("j", "p")
	x.waitFor("the publish dialog with the draft naming Mail", func(s string) bool {
		return strings.Contains(s, "Publish status-page of INC-1") && strings.Contains(s, "Affected: Mail.")
	})
	x.keys("Enter")
	x.text("We are moving mail to a second relay.")
	x.keys("Tab", "Right", "Space", "Right", "Space")
	x.waitFor("both channels ticked", func(s string) bool { return strings.Contains(s, "[x] page  [x] customers  [x] ops-chat") })
	x.keys("Tab", "C-u")
	x.text("Mail delayed")
	x.keys("C-s")
	x.waitFor("the confirmation", func(s string) bool {
		return strings.Contains(s, "Publish to customers?") && strings.Contains(s, "page, customers, ops-chat")
	})
	x.keys("y")
	x.waitFor("the step ticked by the publish", func(s string) bool {
		return screenLineWith(s, "First notice on the status page", "✓", "e2e")
	})

	outage := waitDelivered(t, journal, "INC-1", "status-page", 2)
	// Each customer their own mail: nobody sees another's address.
	if n := len(mb.received()); n != 2 {
		t.Fatalf("the relay received %d mails for one publish to two customers", n)
	}
	mail := mb.received()[0]
	for _, want := range []string{"Subject: Mail delayed", "Disruption to Mail\r\nWe are investigating the problem. Affected: Mail.", "We are moving mail to a second relay.", "X-Vigil-Delivery: "} {
		if !strings.Contains(mail, want) {
			t.Fatalf("the mail lacks %q:\n%s", want, mail)
		}
	}
	if rcpts := mb.rcpts(); len(rcpts) != 2 || !slices.Equal(rcpts[0], []string{"ann@example.net"}) || !slices.Equal(rcpts[1], []string{"bo@example.org"}) {
		t.Fatalf("envelope recipients of each mail %q", rcpts)
	}
	if strings.Contains(mb.received()[0], "bo@example.org") || strings.Contains(mb.received()[1], "ann@example.net") {
		t.Fatalf("a customer's mail shows another's address:\n%s", mb.received())
	}
	posts := hook.received()
	if len(posts) != 1 || posts[0].Incident.ID != "INC-1" || !slices.Equal(posts[0].Incident.Components, []string{"mail"}) ||
		!strings.Contains(posts[0].Update.Text, "We are moving mail to a second relay.") || posts[0].Step == nil || posts[0].Step.ID != "status-page" {
		t.Fatalf("the webhook received %d signed posts: %+v", len(posts), posts)
	}
	if hook.unsigned() != 0 {
		t.Fatalf("%d unsigned or badly signed posts", hook.unsigned())
	}
	if outage.publish.Actor != "e2e" || outage.publish.Subject != "Mail delayed" || !slices.Equal(outage.publish.Channels, []string{"page", "customers", "ops-chat"}) {
		t.Fatalf("the publish entry %+v", outage.publish)
	}

	var summary publish.Summary
	fetchJSON(t, base+"/status/summary.json", &summary)
	if len(summary.Incidents) != 1 || summary.Incidents[0].Name != "Mail delayed" || !slices.Equal(componentIDs(summary.Incidents[0].Components), []string{"mail"}) ||
		len(summary.Incidents[0].IncidentUpdates) != 1 || !strings.Contains(summary.Incidents[0].IncidentUpdates[0].Body, "We are moving mail to a second relay.") {
		t.Fatalf("summary.json incidents: %+v", summary.Incidents)
	}
	if st := componentStatus(summary, "mail"); st != "partial_outage" {
		t.Fatalf("Mail is %q on the page; a SEV2 outage naming it is partial_outage", st)
	}
	page := fetchPage(t, base+"/status")
	if !strings.Contains(page, "We are moving mail to a second relay.") {
		t.Fatalf("/status does not show the published text:\n%s", page)
	}

	// ----- maintenance: declare it with a window and a component, announce it a week ahead -----
	x.keys("D")
	x.waitFor("the declare form", func(s string) bool { return strings.Contains(s, "Declare an incident") })
	x.text("Kernel upgrade on the web servers")
	x.keys("Tab", "Tab", "Right", "Tab")
	x.waitFor("the window fields", func(s string) bool { return strings.Contains(s, "starts") && strings.Contains(s, "ends") })
	x.text("+168h")
	x.keys("Tab")
	x.text("2h")
	x.keys("Tab", "Right", "Space")
	x.waitFor("the window in words and Web hosting ticked", func(s string) bool {
		return strings.Contains(s, "(2h00m), starts in 7d") && strings.Contains(s, "›[x] Web hosting")
	})
	x.keys("Enter")
	x.waitFor("INC-2 declared", func(s string) bool { return !strings.Contains(s, "Declare an incident") })
	pickIncident(x, "INC-2")
	x.keys("4")
	x.waitFor("the maintenance checklist with its window", func(s string) bool {
		return strings.Contains(s, "Checklist INC-2") && strings.Contains(s, "Announce the maintenance a week ahead")
	})
	x.keys("p")
	x.waitFor("the week-ahead draft", func(s string) bool {
		return strings.Contains(s, "Publish announce-week of INC-2") && strings.Contains(s, "What will be disrupted: Web hosting.")
	})
	// The draft asks for what it cannot know; the responder writes it.
	x.keys("C-s")
	x.waitFor("the (fill in) refused", func(s string) bool { return strings.Contains(s, "still asks to fill in") })
	x.keys("M-<", "Down", "Down", "Down", "Down", "Down", "End")
	x.keys(slices.Repeat([]string{"BSpace"}, len("(fill in: the reason, in your customers' words)."))...)
	x.text("a new kernel.")
	x.keys("Down", "End")
	x.keys(slices.Repeat([]string{"BSpace"}, len("(fill in)."))...)
	x.text("the latest security fixes.")
	x.keys("M->", "Up", "Up", "End")
	x.keys(slices.Repeat([]string{"BSpace"}, len("(fill in, if any)."))...)
	x.text("none needed.")
	x.waitFor("the draft filled in", func(s string) bool {
		return strings.Contains(s, "Why: a new kernel.") && strings.Contains(s, "The benefit to you: the latest security fixes.") && strings.Contains(s, "lasts: none needed.") && !strings.Contains(s, "(fill in")
	})
	x.keys("Tab", "Right", "Space", "Right", "Space", "C-s")
	x.waitFor("the confirmation", func(s string) bool {
		return strings.Contains(s, "Publish to customers?") && strings.Contains(s, "page, customers, ops-chat") && strings.Contains(s, "Scheduled maintenance on")
	})
	x.keys("y")
	x.waitFor("the announcement ticked", func(s string) bool {
		return screenLineWith(s, "Announce the maintenance a week ahead", "✓", "e2e")
	})

	maint := waitDelivered(t, journal, "INC-2", "announce-week", 2)
	mails := mb.received()
	if len(mails) != 4 {
		t.Fatalf("the relay received %d mails for two publishes to two customers", len(mails))
	}
	for _, want := range []string{"Subject: Scheduled maintenance on ", "What will be disrupted: Web hosting.", "The benefit to you: the latest security fixes."} {
		if !strings.Contains(mails[3], want) {
			t.Fatalf("the announcement mail lacks %q:\n%s", want, mails[3])
		}
	}
	posts = hook.received()
	if len(posts) != 2 || posts[1].Incident.ID != "INC-2" || posts[1].Incident.Kind != "maintenance" || !slices.Equal(posts[1].Incident.Components, []string{"web"}) ||
		posts[1].Step == nil || posts[1].Step.ID != "announce-week" || posts[0].Delivery == posts[1].Delivery {
		t.Fatalf("the webhook received %d signed posts: %+v", len(posts), posts)
	}
	fetchJSON(t, base+"/status/summary.json", &summary)
	if len(summary.ScheduledMaintenances) != 1 {
		t.Fatalf("summary.json scheduled_maintenances: %+v", summary.ScheduledMaintenances)
	}
	sm := summary.ScheduledMaintenances[0]
	start, end := maint.incident.ScheduledStart, maint.incident.ScheduledEnd
	if sm.ID != "INC-2" || sm.Status != "scheduled" || !slices.Equal(componentIDs(sm.Components), []string{"web"}) ||
		start == nil || end == nil || end.Sub(start.Time) != 2*time.Hour || time.Until(start.Time) < 167*time.Hour ||
		sm.ScheduledFor == nil || !sm.ScheduledFor.Equal(start.Time) || sm.ScheduledUntil == nil || !sm.ScheduledUntil.Equal(end.Time) ||
		len(sm.IncidentUpdates) != 1 || !strings.Contains(sm.IncidentUpdates[0].Body, "the latest security fixes.") {
		t.Fatalf("summary.json scheduled maintenance %+v (incident window %v – %v)", sm, start, end)
	}
	if st := componentStatus(summary, "web"); st != "operational" {
		t.Fatalf("Web hosting is %q a week before its maintenance", st)
	}
	if page := fetchPage(t, base+"/status"); !strings.Contains(page, "the latest security fixes.") {
		t.Fatalf("/status does not show the announcement:\n%s", page)
	}

	// The Atom feed: one entry per publish to the page.
	type atomEntry struct {
		ID      string `xml:"id"`
		Content string `xml:"content"`
	}
	var atom struct {
		Entries []atomEntry `xml:"entry"`
	}
	if err := xml.Unmarshal([]byte(fetchPage(t, base+"/status/feed.atom")), &atom); err != nil {
		t.Fatalf("feed.atom: %v", err)
	}
	if len(atom.Entries) != 2 || !slices.ContainsFunc(atom.Entries, func(e atomEntry) bool { return strings.Contains(e.Content, "the latest security fixes.") }) {
		t.Fatalf("feed.atom entries: %+v", atom.Entries)
	}

	// Nothing more arrives: each channel got each publish once.
	if n, p := len(mb.received()), len(hook.received()); n != 4 || p != 2 || hook.unsigned() != 0 {
		t.Fatalf("after both publishes: %d mails, %d signed posts, %d unsigned", n, p, hook.unsigned())
	}
	x.keys("q")
}

// ----- the hub -----

func startPublishingHub(t *testing.T, bin, conf, addr, certFile string) *lockedBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "serve", "--config", conf, "--listen", addr)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+certFile, "SSL_CERT_DIR="+filepath.Dir(certFile),
		"E2E_SMTP_USER=status", "E2E_SMTP_PASSWORD=hunter2", "E2E_HOOK_SECRET=hook-s3cret")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return logs
			}
		}
	}
	t.Fatalf("the hub did not come up:\n%s", logs.String())
	return nil
}

// journaledPublish is one publish as the journal holds it: the publish entry,
// its delivery entries, and the incident after it.
type journaledPublish struct {
	publish    *protocol.Entry
	deliveries map[string]*protocol.Entry // by channel
	incident   protocol.Incident
}

// waitDelivered waits until the journal holds the publish of item and a
// delivered entry for each of its n channels besides the page, and the
// step is ticked.
func waitDelivered(t *testing.T, journal *clienttest.Collector, incidentID, item string, n int) journaledPublish {
	t.Helper()
	var p journaledPublish
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		p = journaledPublish{deliveries: map[string]*protocol.Entry{}}
		for _, m := range journal.Journal() {
			switch m := m.(type) {
			case *protocol.Entry:
				switch {
				case m.Incident != incidentID || m.Item != item:
				case m.Kind == protocol.EntryPublish:
					p.publish = m
				case m.Kind == protocol.EntryDelivery && m.Delivery != nil && m.Delivery.Outcome == protocol.DeliveryDelivered:
					if p.deliveries[m.Channel] != nil {
						t.Fatalf("channel %s delivered twice: %q and %q", m.Channel, p.deliveries[m.Channel].Text, m.Text)
					}
					p.deliveries[m.Channel] = m
				}
			case *protocol.IncidentMsg:
				if m.Incident.ID == incidentID {
					p.incident = m.Incident
				}
			}
		}
		if p.publish != nil && len(p.deliveries) == n && stepDone(p.incident, item) {
			return p
		}
	}
	t.Fatalf("the journal never held the publish of %s/%s (%v), %d of %d deliveries and the tick; entries:\n%s",
		incidentID, item, p.publish != nil, len(p.deliveries), n, strings.Join(journal.EntryTexts(), "\n"))
	return p
}

func stepDone(in protocol.Incident, item string) bool {
	for _, it := range in.Checklist {
		if it.ID == item {
			return it.Done()
		}
	}
	return false
}

func componentStatus(s publish.Summary, id string) string {
	for _, c := range s.Components {
		if c.ID == id {
			return c.Status
		}
	}
	return "(missing)"
}

func fetchPage(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	return string(body)
}

func fetchJSON(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(fetchPage(t, url)), v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// ----- the dashboard -----

// lineWith reports whether one line of the screen holds every part.
func screenLineWith(screen string, parts ...string) bool {
	for _, line := range strings.Split(screen, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

// pickIncident shows incident id with the incident picker.
func pickIncident(x *tmux, id string) {
	x.t.Helper()
	// The picker lists the incidents held when it opens: open it once the
	// dashboard holds id (the header names it), and see it listed (a
	// choice is "INC-2  SEV2 …", the header "INC-2 SEV2").
	x.waitFor("the dashboard holding "+id, func(s string) bool { return strings.Contains(s, id+" ") })
	x.keys("i")
	screen := x.waitFor("the incident picker listing "+id, func(s string) bool { return strings.Contains(s, "Pick an incident") && strings.Contains(s, id+" ") })
	// One key at a time, each waited for: a key sent before the last one
	// was drawn would move the cursor past id.
	for i := 0; i < 4 && !screenLineWith(screen, "› "+id); i++ {
		cursor, target := pickerRow(screen, "› INC-", "› the whole timeline"), pickerRow(screen, id+"  ")
		if cursor < 0 || target < 0 {
			x.t.Fatalf("the picker shows no cursor or no %s:\n%s", id, screen)
		}
		key := "k"
		if target > cursor {
			key = "j"
		}
		x.keys(key)
		screen = x.waitFor("the picker's cursor moved", func(s string) bool { return pickerRow(s, "› INC-", "› the whole timeline") != cursor })
	}
	x.keys("Enter")
	x.waitFor(id+" shown", func(s string) bool { return strings.HasPrefix(s, id+" ") })
}

// pickerRow is the first line of the screen holding any of parts, or -1.
func pickerRow(screen string, parts ...string) int {
	for i, line := range strings.Split(screen, "\n") {
		for _, p := range parts {
			if strings.Contains(line, p) {
				return i
			}
		}
	}
	return -1
}

// ----- the relay -----

// selfSignedCert writes a certificate for 127.0.0.1 to dir (the hub
// trusts it through SSL_CERT_FILE) and returns the server's TLS config.
func selfSignedCert(t *testing.T, dir string) (string, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(dir, "ca")
	os.MkdirAll(certDir, 0o700)
	file := filepath.Join(certDir, "relay.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// relayBox is a real SMTP server in-process: STARTTLS, AUTH PLAIN only
// over TLS, mail only once authenticated.
type relayBox struct {
	mu         sync.Mutex
	mails      []string
	recipients [][]string
}

func (mb *relayBox) received() []string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return slices.Clone(mb.mails)
}

// rcpts is each mail's envelope recipients.
func (mb *relayBox) rcpts() [][]string {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return slices.Clone(mb.recipients)
}

type relaySession struct {
	mb     *relayBox
	conn   *smtp.Conn
	authed bool
	to     []string
}

func (s *relaySession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *relaySession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "status" || pass != "hunter2" {
			return errors.New("bad credentials")
		}
		if _, isTLS := s.conn.TLSConnectionState(); !isTLS {
			return errors.New("AUTH before STARTTLS")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *relaySession) Mail(string, *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mb.mu.Lock()
	s.mb.mails = append(s.mb.mails, string(b))
	s.mb.recipients = append(s.mb.recipients, s.to)
	s.mb.mu.Unlock()
	return nil
}
func (s *relaySession) Reset()        { s.to = nil }
func (s *relaySession) Logout() error { return nil }

func serveRelay(t *testing.T, serverTLS *tls.Config, mb *relayBox) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &relaySession{mb: mb, conn: c}, nil }))
	s.Domain, s.TLSConfig = "127.0.0.1", serverTLS
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	return ln.Addr().String()
}

// ----- the chat -----

// hookReceiver keeps each correctly signed POST and counts the others.
type hookReceiver struct {
	secret string
	mu     sync.Mutex
	posts  []publish.JSONBody
	bad    int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	var b publish.JSONBody
	if r.Method != http.MethodPost || !publish.Verify(h.secret, body, r.Header.Get(publish.HeaderSignature)) || json.Unmarshal(body, &b) != nil ||
		r.Header.Get(publish.HeaderDelivery) != b.Delivery {
		h.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	h.posts = append(h.posts, b)
}

func (h *hookReceiver) received() []publish.JSONBody {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.posts)
}

func (h *hookReceiver) unsigned() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.bad
}

// componentIDs are the ids of summary.json component objects.
func componentIDs(cs []publish.SummaryComponent) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}
