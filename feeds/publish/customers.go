package publish

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"
)

// Recipient is one person a personal message addresses: a customer, or a
// subscriber of the status page. Headers are added to their message
// (List-Unsubscribe).
type Recipient struct {
	ID, Name, Email string
	Headers         map[string]string
}

// CustomerMail writes to each customer of a publish's frozen recipient
// list (Message.Recipients, customer ids) alone, through an email
// channel's relay and From, at most PerSecond messages a second. Which
// recipients the relay accepted is kept in Dir, one line per customer,
// synced before the next is sent: a restarted hub sends only to the rest.
// A kill between the relay's 250 and that line resends that one message
// with the same Message-ID, which receivers dedupe on.
type CustomerMail struct {
	Name      string
	Mail      *Email
	PerSecond float64
	Dir       string
	// Recipient looks a customer up by id when their message is sent, so
	// an address changed since the publish goes to the new one.
	Recipient func(id string) (Recipient, bool)
}

// PersonalMessageID is the Message-ID of one customer's copy of a
// publish: the same on every try.
func PersonalMessageID(m Message, customer, domain string) string {
	sum := sha256.Sum256([]byte(m.DeliveryKey() + "/" + customer))
	if domain == "" {
		domain = "vigil.invalid"
	}
	return "vigil." + hex.EncodeToString(sum[:16]) + "@" + domain
}

// Personalize fills the placeholders a responder may write in a text
// meant for each customer.
func Personalize(text string, r Recipient) string {
	return strings.NewReplacer("{{.Customer.Name}}", r.Name, "{{.Customer.ID}}", r.ID).Replace(text)
}

// Send writes to every recipient not yet done and says how many of all
// were accepted; failures are named by customer id, never by address.
func (c *CustomerMail) Send(ctx context.Context, m Message) (string, error) {
	if len(m.Recipients) == 0 {
		return fmt.Sprintf("customers %s: nobody affected, nothing sent", c.Name), nil
	}
	p := personal{what: "customers " + c.Name, mail: c.Mail, perSecond: c.PerSecond, dir: c.Dir, lookup: func(id string) (Recipient, bool, string) {
		r, ok := c.Recipient(id)
		return r, ok, "no longer in the customers file"
	}}
	return p.send(ctx, m, m.Recipients)
}

// personal sends one message to each of a list of recipients, by id,
// keeping durable per-recipient progress.
type personal struct {
	what      string // "customers affected": how the outcome starts
	mail      *Email
	perSecond float64
	dir       string
	lookup    func(id string) (r Recipient, ok bool, whyNot string)
}

func (c *personal) send(ctx context.Context, m Message, ids []string) (string, error) {
	prog, err := openProgress(c.dir, m.DeliveryKey())
	if err != nil {
		return "", fmt.Errorf("%s: progress: %w", c.what, err)
	}
	defer prog.close()
	s := &sending{personal: c, m: m, total: len(ids), prog: prog, failed: map[string]string{}}
	if c.perSecond > 0 {
		s.gap = time.Duration(float64(time.Second) / c.perSecond)
	}
	defer s.hangUp()
	for _, id := range ids {
		if err := s.sendOne(ctx, id); err != nil {
			return "", err
		}
	}
	return s.outcome()
}

// sending is one send of a message to its recipients: the relay's
// connection, opened at the first message and kept, and what failed.
type sending struct {
	*personal
	m      Message
	total  int
	prog   *progress
	failed map[string]string // id → why; temporary failures are tried again
	cl     *mail.Client
	gap    time.Duration // between two messages; 0 is no limit
	last   time.Time     // when the last message was started
}

func (s *sending) hangUp() {
	if s.cl != nil {
		_ = s.cl.Close()
	}
}

// sendOne sends to the recipient unless they are done; an error ends the
// send, a recipient's failure does not.
func (s *sending) sendOne(ctx context.Context, id string) error {
	if s.prog.done[id] || s.prog.refused[id] != "" {
		return nil
	}
	r, ok, whyNot := s.lookup(id)
	if !ok {
		s.failed[id] = whyNot
		return nil
	}
	if err := s.pace(ctx); err != nil {
		return err
	}
	if err := s.dial(ctx); err != nil {
		return err
	}
	msg, err := s.message(s.m, r)
	if err == nil {
		err = s.cl.Send(msg)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		s.failedTo(id, r, err)
		return nil
	}
	if err := s.prog.accept(id); err != nil {
		return fmt.Errorf("%s: progress: %w", s.what, err)
	}
	return nil
}

// pace waits out the gap since the last message.
func (s *sending) pace(ctx context.Context) error {
	if wait := s.gap - time.Since(s.last); s.gap > 0 && !s.last.IsZero() && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	s.last = time.Now()
	return nil
}

// dial connects to the relay unless connected.
func (s *sending) dial(ctx context.Context) error {
	if s.cl != nil {
		return nil
	}
	cl, err := s.mail.client()
	if err == nil {
		err = cl.DialWithContext(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s: %d of %d accepted; relay: %s", s.what, len(s.prog.done), s.total, smtpReason(err))
	}
	s.cl = cl
	return nil
}

// failedTo records why the relay did not take r's message: for good when
// it refused it, else to be tried again.
func (s *sending) failedTo(id string, r Recipient, err error) {
	// The relay's words without go-mail's recipient and Message-ID
	// tail: the journal names customers by id only.
	why, _, _ := strings.Cut(smtpReason(err), ", affected recipient")
	why = strings.ReplaceAll(why, r.Email, id)
	var se *mail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		s.prog.refuse(id, why)
	} else {
		s.failed[id] = why
	}
	if errors.As(err, &se) && se.Reason == mail.ErrConnCheck {
		_ = s.cl.Close()
		s.cl = nil
	}
}

// outcome says how many were accepted and names the first ten failures by
// id; it is an error when a failure is worth another try.
func (s *sending) outcome() (string, error) {
	summary := fmt.Sprintf("%s: %d of %d accepted", s.what, len(s.prog.done), s.total)
	for id, why := range s.prog.refused {
		s.failed[id] = why
	}
	if len(s.failed) == 0 {
		return summary, nil
	}
	bad := make([]string, 0, len(s.failed))
	for id := range s.failed {
		bad = append(bad, id)
	}
	sort.Strings(bad)
	var b strings.Builder
	for i, id := range bad {
		if i == 10 {
			fmt.Fprintf(&b, "; and %d more", len(bad)-10)
			break
		}
		fmt.Fprintf(&b, "; %s: %s", id, s.failed[id])
	}
	// Only temporary failures are worth another try; refusals stay.
	if len(s.failed) == len(s.prog.refused) {
		return summary + ", failed" + b.String(), nil
	}
	return "", errors.New(summary + ", failed" + b.String())
}

func (c *personal) message(m Message, r Recipient) (*mail.Msg, error) {
	msg := mail.NewMsg()
	if err := msg.From(c.mail.From); err != nil {
		return nil, err
	}
	if err := msg.To(r.Email); err != nil {
		return nil, err
	}
	msg.Subject(Personalize(m.subject(), r))
	msg.SetMessageIDWithValue(PersonalMessageID(m, r.ID, domainOf(c.mail.From)))
	msg.SetDateWithValue(m.At)
	msg.SetGenHeader("X-Vigil-Delivery", m.DeliveryKey()+"/"+r.ID)
	for k, v := range r.Headers {
		msg.SetGenHeader(mail.Header(k), v)
	}
	pm := m
	pm.Text = Personalize(m.Text, r)
	msg.SetBodyString(mail.TypeTextPlain, emailBody(pm))
	return msg, nil
}

// progress is one publish's per-recipient record: "+ id" once the relay
// accepted a customer's message, "! id why" once it refused it for good.
type progress struct {
	f       *os.File
	done    map[string]bool
	refused map[string]string
}

func progressPath(dir, key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, hex.EncodeToString(sum[:12])+".progress")
}

func openProgress(dir, key string) (*progress, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(progressPath(dir, key), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, err
	}
	p := &progress{f: f, done: map[string]bool{}, refused: map[string]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "+ "):
			p.done[line[2:]] = true
		case strings.HasPrefix(line, "! "):
			id, why, _ := strings.Cut(line[2:], " ")
			p.refused[id] = why
		}
		// A torn last line (killed mid-write) is neither: that customer
		// is sent again, with the same Message-ID.
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, err
	}
	return p, nil
}

func (p *progress) accept(id string) error {
	if _, err := p.f.WriteString("+ " + id + "\n"); err != nil {
		return err
	}
	p.done[id] = true
	return p.f.Sync()
}

func (p *progress) refuse(id, why string) {
	why = strings.NewReplacer("\n", " ", "\r", " ").Replace(why)
	if _, err := p.f.WriteString("! " + id + " " + why + "\n"); err == nil {
		_ = p.f.Sync()
	}
	p.refused[id] = why
}

func (p *progress) close() { _ = p.f.Close() }

// SubscriberMail writes a publish to each confirmed subscriber of the
// status page whose components it names (every subscriber when it names
// none), one message each with their own unsubscribe link, keeping
// per-recipient progress like CustomerMail.
type SubscriberMail struct {
	Name      string
	Mail      *Email
	PerSecond float64
	Dir       string
	// Confirmed lists the confirmed subscribers of any of components (of
	// all, when none), their Headers carrying List-Unsubscribe.
	Confirmed func(components []string) []Recipient
}

// Send writes to every matching subscriber not yet done.
func (s *SubscriberMail) Send(ctx context.Context, m Message) (string, error) {
	subs := s.Confirmed(m.Incident.Components)
	if len(subs) == 0 {
		return fmt.Sprintf("subscribers %s: nobody subscribed, nothing sent", s.Name), nil
	}
	by := make(map[string]Recipient, len(subs))
	ids := make([]string, len(subs))
	for i, r := range subs {
		by[r.ID], ids[i] = r, r.ID
	}
	p := personal{what: "subscribers " + s.Name, mail: s.Mail, perSecond: s.PerSecond, dir: s.Dir, lookup: func(id string) (Recipient, bool, string) {
		r, ok := by[id]
		return r, ok, "unsubscribed"
	}}
	return p.send(ctx, m, ids)
}

// SendOne sends one message outside any publish (a subscription's
// confirmation) to one address through the channel's relay.
func (e *Email) SendOne(ctx context.Context, to, subject, body, messageID string) error {
	c, err := e.client()
	if err != nil {
		return err
	}
	msg := mail.NewMsg()
	if err := msg.From(e.From); err != nil {
		return err
	}
	if err := msg.To(to); err != nil {
		return err
	}
	msg.Subject(subject)
	msg.SetMessageIDWithValue(messageID + "@" + orInvalid(domainOf(e.From)))
	msg.SetDate()
	msg.SetBodyString(mail.TypeTextPlain, body)
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("email %s: %s", e.Name, smtpReason(err))
	}
	return nil
}

func orInvalid(domain string) string {
	if domain == "" {
		return "vigil.invalid"
	}
	return domain
}
