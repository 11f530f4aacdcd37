package publish

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// personalRelay counts messages per recipient; refuse answers RCPT with
// its error for the addresses it names.
type personalRelay struct {
	mu     sync.Mutex
	got    map[string]int
	refuse map[string]*smtp.SMTPError
}

type personalSession struct {
	r  *personalRelay
	to []string
}

func (s *personalSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *personalSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if e := s.r.refuse[to]; e != nil {
		return e
	}
	s.to = append(s.to, to)
	return nil
}
func (s *personalSession) Data(r io.Reader) error {
	io.Copy(io.Discard, r)
	s.r.mu.Lock()
	for _, to := range s.to {
		s.r.got[to]++
	}
	s.r.mu.Unlock()
	return nil
}
func (s *personalSession) Reset()        { s.to = nil }
func (s *personalSession) Logout() error { return nil }

func servePersonal(tb testing.TB, r *personalRelay) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &personalSession{r: r}, nil }))
	s.Domain = "127.0.0.1"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	done := make(chan struct{})
	go func() { s.Serve(ln); close(done) }()
	tb.Cleanup(func() { s.Close(); <-done })
	return ln.Addr().String()
}

func customerMail(tb testing.TB, addr string, n int) (*CustomerMail, Message) {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%d", i)
	}
	cm := &CustomerMail{Name: "affected", Mail: &Email{Name: "mail", Addr: addr, TLS: TLSNone, From: "status@example.com"},
		Dir: tb.TempDir(), Recipient: func(id string) (Recipient, bool) {
			if id == "gone" {
				return Recipient{}, false
			}
			return Recipient{ID: id, Name: "Name " + id, Email: id + "@example.com"}, true
		}}
	return cm, Message{Ref: "p1", Channel: "affected", Text: "Dear {{.Customer.Name}}", Recipients: ids, At: time.Now()}
}

func TestCustomerMailNamesFailuresByID(t *testing.T) {
	r := &personalRelay{got: map[string]int{}, refuse: map[string]*smtp.SMTPError{
		"c1@example.com": {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "c1@example.com: no such user"},
		"c2@example.com": {Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"},
	}}
	cm, m := customerMail(t, servePersonal(t, r), 4)
	m.Recipients = append(m.Recipients, "gone")
	_, err := cm.Send(context.Background(), m)
	if err == nil {
		t.Fatal("a temporary failure was not reported for a retry")
	}
	if msg := err.Error(); !strings.Contains(msg, "2 of 5 accepted") || !strings.Contains(msg, "c1: ") || !strings.Contains(msg, "c2: ") || !strings.Contains(msg, "gone: no longer in the customers file") || strings.Contains(msg, "@") {
		t.Fatalf("outcome %q: want counts and failures by id, no address", msg)
	}
	// The retry sends only to c2, now accepted; c1's refusal stands.
	r.mu.Lock()
	delete(r.refuse, "c2@example.com")
	r.mu.Unlock()
	m.Recipients = m.Recipients[:4]
	out, err := cm.Send(context.Background(), m)
	if err != nil || !strings.HasPrefix(out, "customers affected: 3 of 4 accepted, failed; c1: ") {
		t.Fatalf("retry: %q %v", out, err)
	}
	for _, who := range []string{"c0", "c2", "c3"} {
		if n := r.got[who+"@example.com"]; n != 1 {
			t.Errorf("%s got %d messages", who, n)
		}
	}
}

// BenchmarkCustomerMail is the sends per second of a customers channel
// with no rate limit to a relay on loopback, per-recipient progress
// synced after each.
func BenchmarkCustomerMail(b *testing.B) {
	r := &personalRelay{got: map[string]int{}}
	addr := servePersonal(b, r)
	const n = 200
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		cm, m := customerMail(b, addr, n)
		m.Ref = fmt.Sprintf("p%d", i)
		start := time.Now()
		if _, err := cm.Send(context.Background(), m); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "sends/s")
}
