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
	// Recipients are the customer ids a customers channel writes to, as
	// frozen in the publish entry.
	Recipients []string
	// Page, when set, makes this a page's notification (pagenote.go).
	Page *PageNote
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

// subject is the email subject: the responder's, else the name the
// status page gives the incident (never its internal title).
func (m Message) subject() string {
	if s := strings.TrimSpace(m.Subject); s != "" {
		return s
	}
	name := publicName(m.Incident, nil, m.Components)
	if m.Site.Name != "" {
		return m.Site.Name + ": " + name
	}
	return name
}
