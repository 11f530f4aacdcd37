package publish

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Webhook formats.
const (
	FormatSlack = "slack" // {"text": …}: Slack, Mattermost, Discord's /slack endpoints
	FormatJSON  = "json"  // the incident, the update and the step
)

// Webhook headers.
const (
	HeaderSignature = "X-Vigil-Signature" // sha256=<hex HMAC-SHA256 of the body>
	HeaderDelivery  = "X-Vigil-Delivery"  // <ref>/<channel>: the same on every try
)

// Webhook posts a publish to a URL.
type Webhook struct {
	Name   string
	URL    string
	Format string // FormatSlack or FormatJSON
	Secret string // signs the body when set
	Client *http.Client
}

// JSONBody is the body of a json webhook.
type JSONBody struct {
	Delivery string       `json:"delivery"`
	Incident JSONIncident `json:"incident"`
	Update   JSONUpdate   `json:"update"`
	Step     *JSONStep    `json:"step,omitempty"`
	Page     string       `json:"page,omitempty"`
}

// JSONIncident is the public part of the incident.
type JSONIncident struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Kind       string   `json:"kind"`
	Severity   string   `json:"severity"`
	Status     string   `json:"status"`
	Components []string `json:"components"`
}

// JSONUpdate is what was published.
type JSONUpdate struct {
	Ref     string         `json:"ref"`
	Actor   string         `json:"actor"`
	At      *protocol.Time `json:"at"`
	Subject string         `json:"subject,omitempty"`
	Text    string         `json:"text"`
}

// JSONStep is the checklist step the publish ticked.
type JSONStep struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Body returns the request body for m in the webhook's format.
func (w *Webhook) Body(m Message) ([]byte, error) {
	if m.Page != nil {
		return w.pageBody(m)
	}
	if w.Format == FormatNtfy {
		return []byte(m.Text), nil
	}
	if w.Format == FormatJSON {
		b := JSONBody{
			Delivery: m.DeliveryKey(),
			// The title a receiver may show anywhere: the page's name for
			// the incident, never the responders' (it names hosts).
			Incident: JSONIncident{ID: m.Incident.ID, Title: publicName(m.Incident, []Update{{Subject: m.Subject}}, m.Components), Kind: m.Incident.Kind,
				Severity: m.Incident.Severity, Status: m.Incident.Status, Components: append([]string{}, m.Incident.Components...)},
			Update: JSONUpdate{Ref: m.Ref, Actor: m.Actor, At: tp(m.At), Subject: m.Subject, Text: m.Text},
		}
		b.Page = PageURL(m.Site.URL)
		if m.Item != "" {
			s := &JSONStep{ID: m.Item}
			for _, it := range m.Incident.Checklist {
				if it.ID == m.Item {
					s.Title = it.Label()
				}
			}
			b.Step = s
		}
		return json.Marshal(b)
	}
	text := m.Text
	if u := PageURL(m.Site.URL); u != "" {
		text += "\n" + u
	}
	return json.Marshal(struct {
		Text string `json:"text"`
	}{text})
}

// Sign returns the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether sig is the signature of body under secret, in
// constant time: what a receiver does.
func Verify(secret string, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(sig))
}

// Send posts m; any 2xx is delivered.
func (w *Webhook) Send(ctx context.Context, m Message) (string, error) {
	body, err := w.Body(m)
	if err != nil {
		return "", fmt.Errorf("webhook %s: %w", w.Name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("webhook %s: %w", w.Name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if w.Format == FormatNtfy {
		ntfyHeaders(req.Header, m)
	}
	req.Header.Set("User-Agent", "vigil")
	req.Header.Set(HeaderDelivery, m.DeliveryKey())
	if w.Secret != "" {
		req.Header.Set(HeaderSignature, Sign(w.Secret, body))
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("webhook %s: %v", w.Name, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("webhook %s: HTTP %d", w.Name, resp.StatusCode)
	}
	return fmt.Sprintf("webhook %s: HTTP %d", w.Name, resp.StatusCode), nil
}
