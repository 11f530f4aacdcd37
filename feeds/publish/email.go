package publish

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// TLS modes of an email channel.
const (
	TLSStartTLS = "starttls" // plain connection upgraded, mandatory
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // only for a relay on the same host
)

// Email sends a publish by SMTP. go-mail, because the standard library's
// net/smtp is frozen and lacks what a relay needs (STARTTLS policy,
// AUTH mechanisms, a Message-ID of our choosing).
type Email struct {
	Name     string
	Addr     string // host:port
	TLS      string // TLSStartTLS, TLSImplicit or TLSNone
	Username string
	Password string
	From     string
	To       []string
	// TLSConfig overrides the default (system roots, server name from
	// Addr): tests trust their own certificate with it.
	TLSConfig *tls.Config
	Timeout   time.Duration
}

// Send delivers m to every recipient, each their own message (To: them
// alone: customers never see each other's addresses), over one SMTP
// connection, and returns what the server said. Every copy carries the
// same Message-ID and X-Vigil-Delivery, so a retry after a partial send
// is recognisably the same message.
func (e *Email) Send(ctx context.Context, m Message) (string, error) {
	c, err := e.client()
	if err != nil {
		return "", err
	}
	msgs := make([]*mail.Msg, 0, len(e.To))
	for _, to := range e.To {
		msg := mail.NewMsg()
		if err := msg.From(e.From); err != nil {
			return "", fmt.Errorf("email %s: from %q: %w", e.Name, e.From, err)
		}
		if err := msg.To(to); err != nil {
			return "", fmt.Errorf("email %s: to %q: %w", e.Name, to, err)
		}
		msg.Subject(m.subject())
		msg.SetMessageIDWithValue(m.MessageID(domainOf(e.From)))
		msg.SetDateWithValue(m.At)
		msg.SetGenHeader("X-Vigil-Delivery", m.DeliveryKey())
		msg.SetBodyString(mail.TypeTextPlain, emailBody(m))
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return "", fmt.Errorf("email %s: no recipients", e.Name)
	}
	if err := c.DialAndSendWithContext(ctx, msgs...); err != nil {
		return "", fmt.Errorf("email %s to %s: %s", e.Name, recipients(len(e.To)), smtpReason(err))
	}
	// DATA was answered 250 (anything else is an error above); the text
	// after it often carries the relay's queue id, worth keeping.
	msg := msgs[len(msgs)-1]
	resp := "250 " + strings.TrimSpace(msg.ServerResponse())
	if strings.TrimSpace(msg.ServerResponse()) == "" {
		resp = "250 accepted"
	}
	return fmt.Sprintf("email %s to %s: %s", e.Name, recipients(len(e.To)), resp), nil
}

func smtpReason(err error) string {
	var se *mail.SendError
	if errors.As(err, &se) && se.ErrorCode() > 0 {
		return fmt.Sprintf("%d %v", se.ErrorCode(), err)
	}
	return err.Error()
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.Trim(addr[i+1:], "> ")
	}
	return ""
}

func emailBody(m Message) string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(m.Text, "\n"))
	b.WriteString("\n")
	if u := PageURL(m.Site.URL); u != "" {
		b.WriteString("\n-- \nLive status: " + u + "\n")
	}
	return b.String()
}

// client is a mail client for the channel's relay, TLS policy and
// credentials.
func (e *Email) client() (*mail.Client, error) {
	host, portS, err := net.SplitHostPort(e.Addr)
	if err != nil {
		return nil, fmt.Errorf("email %s: smtp %q: %w", e.Name, e.Addr, err)
	}
	port, _ := strconv.Atoi(portS)
	timeout := e.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(timeout)}
	tc := e.TLSConfig
	if tc == nil {
		tc = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	switch e.TLS {
	case TLSImplicit:
		opts = append(opts, mail.WithSSL(), mail.WithTLSConfig(tc))
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory), mail.WithTLSConfig(tc))
	}
	if e.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(e.Username), mail.WithPassword(e.Password))
	}
	c, err := mail.NewClient(host, opts...)
	if err != nil {
		return nil, fmt.Errorf("email %s: %w", e.Name, err)
	}
	return c, nil
}

// recipients is a count of them in words: "1 recipient", "3 recipients".
func recipients(n int) string {
	if n == 1 {
		return "1 recipient"
	}
	return fmt.Sprintf("%d recipients", n)
}
