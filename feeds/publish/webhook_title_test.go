package publish

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A webhook's incident title is the page's name for it (the subject, else
// the components), never the responders' title.
func TestWebhookTitleIsPublic(t *testing.T) {
	w := &Webhook{Format: FormatJSON}
	in := protocol.Incident{ID: "INC-1", Title: "MySQL down on web-1, sites erroring", Kind: "outage", Components: []string{"web"}}
	for _, tt := range []struct{ subject, want string }{{"", "Disruption to Web hosting"}, {"Slow websites", "Slow websites"}} {
		body, err := w.Body(Message{Ref: "c-1", Channel: "ops-chat", Incident: in, Subject: tt.subject, Text: "We are on it.", Components: []string{"Web hosting"}})
		if err != nil {
			t.Fatal(err)
		}
		var got JSONBody
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Incident.Title != tt.want || strings.Contains(string(body), "MySQL") {
			t.Errorf("subject %q: title %q, body %s", tt.subject, got.Incident.Title, body)
		}
	}
}
