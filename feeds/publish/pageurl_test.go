package publish

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestPageURL(t *testing.T) {
	tests := []struct{ site, want string }{
		{"", ""},
		{"http://host:7070/status", "http://host:7070/status"},
		{"http://host:7070/status/", "http://host:7070/status"},
		{"https://example.com/ops/status", "https://example.com/ops/status"},
		{"https://status.example.com", "https://status.example.com/status"},
		{"https://status.example.com/", "https://status.example.com/status"},
	}
	for _, tt := range tests {
		if got := PageURL(tt.site); got != tt.want {
			t.Errorf("PageURL(%q) = %q, want %q", tt.site, got, tt.want)
		}
	}
}

// [serve.status] url set to the page's own address, as its comment says:
// every link points at the page and what lies under it, never a doubled
// /status/status.
func TestSiteURLIsThePagesAddress(t *testing.T) {
	const site = "http://host:7070/status"
	at := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	p := Page{Name: "Acme", URL: site, Updated: at,
		Active: []Notice{{ID: "INC-1", Name: "Mail delayed", Status: "investigating", Created: at, Updated: at,
			Updates: []PageUpdate{{Status: "investigating", Body: "On it.", At: at, Ref: "c-1"}}}}}
	atom, err := p.Atom()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	m := Message{Ref: "c-1", Channel: "ops", Text: "On it.", Site: Site{URL: site}}
	hookJSON, err := (&Webhook{Format: FormatJSON}).Body(m)
	if err != nil {
		t.Fatal(err)
	}
	var hook JSONBody
	json.Unmarshal(hookJSON, &hook)
	hookText, err := (&Webhook{}).Body(m)
	if err != nil {
		t.Fatal(err)
	}
	mail := emailBody(m)
	for name, out := range map[string]string{"atom": string(atom), "summary.json": string(sum), "webhook json": string(hookJSON), "webhook text": string(hookText), "email": mail} {
		if strings.Contains(out, "/status/status") {
			t.Errorf("%s doubles the path:\n%s", name, out)
		}
	}
	for _, want := range []string{`href="http://host:7070/status/feed.atom"`, `href="http://host:7070/status"`, `<id>http://host:7070/status/INC-1/c-1</id>`, `href="http://host:7070/status#INC-1"`} {
		if !strings.Contains(string(atom), want) {
			t.Errorf("atom lacks %s:\n%s", want, atom)
		}
	}
	if hook.Page != site || !strings.HasSuffix(string(hookText), `\n`+site+`"}`) || !strings.Contains(mail, "Live status: "+site+"\n") {
		t.Errorf("page %q, text %s, email:\n%s", hook.Page, hookText, mail)
	}
}
