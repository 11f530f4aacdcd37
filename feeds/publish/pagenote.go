package publish

import (
	"encoding/json"
	"net/http"
	"strings"
)

// FormatNtfy posts to an ntfy topic: the text as the body, the title and
// priority in headers, and for a page an action button that POSTs the
// acknowledge link (it works from a phone's lock screen).
const FormatNtfy = "ntfy"

// PageNote makes a Message a page's notification to one person rather
// than a publish: webhooks send it in the page shape (PROTOCOL.md,
// Paging), email as Text with Subject.
type PageNote struct {
	Person string
	Level  int
	AckURL string // "" for a notification that needs no answer
	Title  string
	Urgent bool
	// Page is the page object, encoded.
	Page json.RawMessage
}

// pageBody is the json webhook body of a page notification.
type pageBody struct {
	Type   string          `json:"type"`
	Person string          `json:"person"`
	Level  int             `json:"level"`
	AckURL string          `json:"ack_url,omitempty"`
	Text   string          `json:"text"`
	Page   json.RawMessage `json:"page"`
}

func (w *Webhook) pageBody(m Message) ([]byte, error) {
	n := m.Page
	switch w.Format {
	case FormatJSON:
		return json.Marshal(pageBody{Type: "page", Person: n.Person, Level: n.Level, AckURL: n.AckURL, Text: m.Text, Page: n.Page})
	case FormatNtfy:
		return []byte(m.Text), nil
	}
	text := m.Text
	if n.AckURL != "" && !strings.Contains(text, n.AckURL) {
		text += "\nAcknowledge: " + n.AckURL
	}
	return json.Marshal(struct {
		Text string `json:"text"`
	}{text})
}

// ntfyHeaders sets what ntfy reads from headers: the title, the priority,
// and a page's acknowledge button.
func ntfyHeaders(h http.Header, m Message) {
	h.Set("Content-Type", "text/plain; charset=utf-8")
	title := m.subject()
	if m.Page != nil {
		title = m.Page.Title
		if m.Page.Urgent {
			h.Set("X-Priority", "urgent")
			h.Set("X-Tags", "rotating_light")
		}
		if m.Page.AckURL != "" {
			h.Set("X-Actions", "http, Acknowledge, "+m.Page.AckURL+", method=POST, clear=true")
			h.Set("X-Click", m.Page.AckURL)
		}
	}
	h.Set("X-Title", headerSafe(title))
}

// headerSafe keeps a header value to one line.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}
