package server

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
)

// relay is a real SMTP server on loopback that keeps what it accepted.
// (STARTTLS and AUTH are exercised in feeds/publish; here the hub's
// wiring is what is under test.)
type relay struct {
	mu    sync.Mutex
	mails []string
}

type relaySession struct{ r *relay }

func (s relaySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s relaySession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.r.mu.Lock()
	s.r.mails = append(s.r.mails, string(b))
	s.r.mu.Unlock()
	return err
}
func (s relaySession) Reset()        {}
func (s relaySession) Logout() error { return nil }

func (r *relay) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.mails...)
}

func startRelay(t *testing.T) (*relay, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return relaySession{r}, nil }))
	s.Domain, s.ReadTimeout, s.WriteTimeout = "127.0.0.1", 10*time.Second, 10*time.Second
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	t.Cleanup(func() { s.Close(); <-done })
	return r, ln.Addr().String()
}

// The "done when", at the hub: an outage update and a maintenance
// announcement each reach the page, the email list and the webhook, once,
// and tick their steps.
func TestOutageUpdateAndMaintenanceAnnouncementReachAllThreeChannels(t *testing.T) {
	hook := newReceiver(t)
	mail, addr := startRelay(t)
	opts := publishOptions(hook.URL)
	opts.Senders["customers"] = &publish.Email{Name: "customers", Addr: addr, TLS: publish.TLSNone,
		From: "status@example.com", To: []string{"a@example.com", "b@example.com"}}
	srv := startServer(t, t.TempDir(), "", opts)
	d := connect(t, srv.url, "")
	eventually(t, "synced", d.synced)
	all := []string{"page", "customers", "ops-chat"}
	start := time.Now().Add(8 * 24 * time.Hour).UTC().Truncate(time.Hour)
	cmds := []protocol.Command{
		{Op: "declare", Title: "Mail delayed", Severity: "SEV2", Kind: "outage", Components: []string{"mail"}},
		{Op: "publish", Incident: "INC-1", Item: "updates", Channels: all, Subject: "Mail delayed", Text: "Mail is delayed; we are on it."},
		{Op: "declare", Title: "Web server upgrade", Severity: "SEV4", Kind: "maintenance", Components: []string{"web"},
			ScheduledStart: protocol.TimePtr(start), ScheduledEnd: protocol.TimePtr(start.Add(2 * time.Hour))},
		{Op: "publish", Incident: "INC-2", Item: "announce-week", Channels: all, Subject: "Maintenance next week", Text: "Web hosting will be upgraded next week."},
	}
	for _, cmd := range cmds {
		if ans, ok := d.send(t, cmd).(client.AckEvent); !ok {
			t.Fatalf("%s answered %+v", cmd.Op, ans)
		}
	}
	eventually(t, "every channel delivered", func() bool {
		return srv.hub.PendingDeliveries() == 0 && len(entriesOfKind(srv.hub, protocol.EntryDelivery)) == 4
	})
	if n, byKey := hook.count(); n != 2 || len(byKey) != 2 {
		t.Fatalf("webhook got %v", byKey)
	}
	mails := mail.received()
	// two recipients, each their own mail of each publish
	if len(mails) != 4 || !strings.Contains(mails[0], "Subject: Mail delayed") || !strings.Contains(mails[3], "Subject: Maintenance next week") {
		t.Fatalf("mails %q", mails)
	}
	for _, e := range entriesOfKind(srv.hub, protocol.EntryDelivery) {
		if e.Delivery.Outcome != protocol.DeliveryDelivered || e.Delivery.Attempt != 1 {
			t.Fatalf("delivery %q %+v", e.Text, e.Delivery)
		}
	}
	incs := srv.hub.Incidents()
	if !incs[0].Checklist[5].Done() || !incs[1].Checklist[0].Done() {
		t.Fatal("the steps were not ticked")
	}
	page := publish.BuildPage(srv.hub.board.Site(), srv.hub.board.Snapshot(), time.Now())
	if len(page.Active) != 1 || len(page.Maintenance) != 1 || page.Maintenance[0].Status != publish.MaintenanceScheduled {
		t.Fatalf("page %+v", page)
	}
}
