package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Message is one publish as a channel delivers it.
type Message struct {
	Ref      string // the publish command's id
	Channel  string
	Actor    string
	At       time.Time
	Subject  string
	Text     string
	Item     string
	Incident protocol.Incident
	Site     Site
	// Components are the names of the public components the incident
	// names.
	Components []string
}

// DeliveryKey is what a receiver dedupes on: the same for every try of
// one publish to one channel (X-Vigil-Delivery, and the Message-ID).
func (m Message) DeliveryKey() string { return m.Ref + "/" + m.Channel }

// MessageID is a stable email Message-ID for the publish and channel, so a
// resend after a crash is recognisably the same message.
func (m Message) MessageID(domain string) string {
	sum := sha256.Sum256([]byte(m.DeliveryKey()))
	if domain == "" {
		domain = "vigil.invalid"
	}
	return "vigil." + hex.EncodeToString(sum[:16]) + "@" + domain
}

// Subject is the email subject: the responder's, else one from the site
// and the incident.
func (m Message) subject() string {
	if s := strings.TrimSpace(m.Subject); s != "" {
		return s
	}
	name := m.Site.Name
	if name == "" {
		name = "Status"
	}
	if m.Incident.Kind == MaintenanceKind {
		return name + ": scheduled maintenance: " + m.Incident.Title
	}
	return name + ": " + m.Incident.Title + " (" + m.Incident.Status + ")"
}
