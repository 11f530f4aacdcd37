package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/quotedprintable"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
)

// Done when a subscriber can sign up, confirm, receive, and unsubscribe
// in one click and leave no trace: through the real hub, a real SMTP
// server, the RFC 8058 headers read from the received mail.
func TestSubscriberSignsUpReceivesAndLeavesNoTrace(t *testing.T) {
	bin := buildVigil(t)
	dir := t.TempDir()
	box := &personalBox{byRcpt: map[string][]*mailMessage{}}
	relay := servePersonalRelay(t, box)
	addr := freeAddr(t)
	base := "http://" + addr
	data := filepath.Join(dir, "data")
	conf := filepath.Join(dir, "hub.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`[serve]
data_dir = %q
probe_load = false

[serve.status]
name = "Example Hosting"
url = %q
subscriptions = true

[[serve.components]]
id = "mail"
name = "Mail"

[[serve.components]]
id = "web"
name = "Web hosting"

[[serve.channels]]
name = "ops-mail"
type = "email"
smtp = %q
tls = "none"
from = "status@example.com"
to = ["ops@example.com"]
`, data, base, relay)), 0o600); err != nil {
		t.Fatal(err)
	}
	startKillableHub(t, bin, conf, addr)

	page := get(t, base+"/status", http.StatusOK)
	if !strings.Contains(page, `<form class="subscribe" method="post" action="/status/subscribe">`) || !strings.Contains(page, `name="components" value="mail"`) {
		t.Fatalf("no sign-up form on /status:\n%s", page)
	}

	if !strings.Contains(page, "Uptime, last 90 days") {
		t.Fatalf("no uptime bars on /status")
	}
	var up publish.UptimeJSON
	if err := json.Unmarshal([]byte(get(t, base+"/status/uptime.json", http.StatusOK)), &up); err != nil {
		t.Fatal(err)
	}
	if len(up.Components) != 2 || len(up.Components[0].Days) != 90 || up.Components[0].Days[0].Uptime != nil || up.Components[0].Days[89].Uptime == nil {
		t.Fatalf("uptime.json: a fresh hub has data only for today: %+v", up.Components)
	}

	const who = "Dana.Subscriber@Example.com"
	newAnswer := post(t, base+"/status/subscribe", url.Values{"email": {who}, "components": {"mail"}}, http.StatusAccepted)
	mailOnly := box.waitMessage(t, "Dana.Subscriber@example.com")
	_ = mailOnly
	link := regexp.MustCompile(`http://\S+/status/confirm/[0-9a-f]+`).FindString(box.body(t, "Dana.Subscriber@example.com", 0))
	if link == "" {
		t.Fatalf("no confirmation link in:\n%s", box.body(t, "Dana.Subscriber@example.com", 0))
	}
	// A known address and another answer alike: nobody learns who subscribed.
	if again := post(t, base+"/status/subscribe", url.Values{"email": {who}}, http.StatusAccepted); again != newAnswer {
		t.Fatalf("a known address is answered differently:\n%s\n%s", again, newAnswer)
	}
	if other := post(t, base+"/status/subscribe", url.Values{"email": {"web-only@example.com"}, "components": {"web"}}, http.StatusAccepted); other != newAnswer {
		t.Fatalf("a new address is answered differently:\n%s\n%s", other, newAnswer)
	}
	// The second sign-up of a pending address sent a fresh link: take the newest.
	box.waitCount(t, "Dana.Subscriber@example.com", 2)
	link = regexp.MustCompile(`http://\S+/status/confirm/[0-9a-f]+`).FindString(box.body(t, "Dana.Subscriber@example.com", 1))
	get(t, link, http.StatusOK)
	get(t, link, http.StatusNotFound) // used once

	// Only confirmed addresses receive; web-only@ never confirmed.
	ws := dialFeed(t, addr)
	defer ws.close()
	ws.command(t, protocol.Command{ID: "d1", Actor: "alice", Op: protocol.OpDeclare, Title: "Mail delayed", Severity: "SEV3", Kind: "outage", Components: []string{"mail"}})
	incID := ws.incidentID(t)
	ws.command(t, protocol.Command{ID: "p1", Actor: "alice", Op: protocol.OpPublish, Incident: incID, Channels: []string{"page", "subscribers"}, Text: "Mail is delayed; we are on it."})
	done := ws.delivered(t, "p1", "subscribers")
	if !strings.Contains(done.Text, "1 of 1 accepted") || strings.Contains(done.Text, "@") {
		t.Fatalf("delivery entry: %q", done.Text)
	}
	update := box.message(t, "Dana.Subscriber@example.com", 2)
	unsub := update.Header.Get("List-Unsubscribe")
	if update.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" || !strings.HasPrefix(unsub, "<"+base+"/status/unsubscribe/") || !strings.HasSuffix(unsub, ">") {
		t.Fatalf("RFC 8058 headers: List-Unsubscribe %q, List-Unsubscribe-Post %q", unsub, update.Header.Get("List-Unsubscribe-Post"))
	}
	if n := box.count("web-only@example.com"); n != 1 {
		t.Fatalf("the unconfirmed address got %d messages, want only its confirmation", n)
	}

	// One click (RFC 8058: a POST with List-Unsubscribe=One-Click), and the
	// address is nowhere in the data directory.
	resp, err := http.Post(strings.Trim(unsub, "<>"), "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %s", resp.Status)
	}
	filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		if bytes.Contains(bytes.ToLower(b), []byte("dana.subscriber")) {
			t.Errorf("%s still holds the unsubscribed address", path)
		}
		return nil
	})

	// Rate-limited per client: five sign-ups each ten minutes.
	code := 0
	for i := range 4 {
		resp, err := http.PostForm(base+"/status/subscribe", url.Values{"email": {fmt.Sprintf("x%d@example.com", i)}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		code = resp.StatusCode
	}
	if code != http.StatusTooManyRequests {
		t.Fatalf("the 7th sign-up from one client answered %d, want 429", code)
	}
}

func get(t *testing.T, u string, want int) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s: %s, want %d\n%s", u, resp.Status, want, b)
	}
	return string(b)
}

func post(t *testing.T, u string, form url.Values, want int) string {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %s, want %d\n%s", u, resp.Status, want, b)
	}
	return string(b)
}

func (b *personalBox) count(rcpt string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.byRcpt[rcpt])
}

func (b *personalBox) waitCount(t *testing.T, rcpt string, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b.count(rcpt) >= n {
			return
		}
	}
	t.Fatalf("%s got %d messages, waited for %d", rcpt, b.count(rcpt), n)
}

func (b *personalBox) waitMessage(t *testing.T, rcpt string) *mailMessage {
	t.Helper()
	b.waitCount(t, rcpt, 1)
	return b.message(t, rcpt, 0)
}

func (b *personalBox) message(t *testing.T, rcpt string, i int) *mailMessage {
	t.Helper()
	b.waitCount(t, rcpt, i+1)
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byRcpt[rcpt][i]
}

func (b *personalBox) body(t *testing.T, rcpt string, i int) string {
	t.Helper()
	m := b.message(t, rcpt, i)
	data, _ := io.ReadAll(m.Body)
	m.Body = bytes.NewReader(data)
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		data, _ = io.ReadAll(quotedprintable.NewReader(bytes.NewReader(data)))
	}
	return string(data)
}
