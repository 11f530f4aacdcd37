package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/internal/testprog"
)

// The responders' title names a host and a guess; customers read neither.
// Through the real dashboard in tmux and a real hub: the drafts start
// from the components, a text naming a host the hub knows is held once
// more, and /status, its Atom feed and summary.json never show the title
// or the host, through the first notice and the resolution notice.
func TestTheInternalTitleNeverReachesThePage(t *testing.T) {
	t.Parallel()
	testprog.Need(t, "tmux", "tmux")
	bin := buildVigil(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	conf := filepath.Join(dir, "hub.toml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`[serve]
data_dir = %q
probe_load = false

[serve.status]
name = "Example Hosting"

[[serve.components]]
id = "mail"
name = "Mail"

[[serve.components]]
id = "web"
name = "Web hosting"

[serve.alertmanager]
token_env = ""
`, filepath.Join(dir, "hub"))), 0o600); err != nil {
		t.Fatal(err)
	}
	hubLog := startPublishingHub(t, bin, conf, addr, filepath.Join(dir, "none.pem"))
	base := "http://" + addr

	// The hub learns of web-1 and its MysqlDown the way it would in life.
	alert := `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"MysqlDown","host":"web-1","severity":"critical"},"annotations":{"summary":"mysqld not answering"},"startsAt":"` +
		time.Now().Add(-time.Minute).UTC().Format(time.RFC3339) + `"}]}`
	resp, err := http.Post(base+"/alertmanager", "application/json", bytes.NewReader([]byte(alert)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("alertmanager webhook: HTTP %d", resp.StatusCode)
	}

	x := &tmux{t: t, session: "vigil-leak", socket: filepath.Join(dir, "tmux.sock")}
	stderrLog := filepath.Join(dir, "stderr.log")
	x.run("new-session", "-d", "-s", x.session, "-x", "80", "-y", "24",
		fmt.Sprintf("env HOME=%s XDG_STATE_HOME=%s/state TERM=xterm-256color %s --feed ws://%s/feed --actor e2e 2>%s", dir, dir, bin, addr, stderrLog))
	defer exec.Command("tmux", "-S", x.socket, "kill-server").Run()
	defer func() {
		if t.Failed() {
			data, _ := os.ReadFile(stderrLog)
			t.Logf("vigil's stderr:\n%s\nthe hub's log:\n%s", data, hubLog.String())
		}
	}()
	x.waitFor("the dashboard, synced, knowing web-1", func(s string) bool {
		return strings.Contains(s, "feeds 1/1") && strings.Contains(s, "no active incident")
	})

	const title = "MySQL down on web-1, sites erroring"
	x.keys("D")
	x.waitFor("the declare form", func(s string) bool {
		return strings.Contains(s, "Declare an incident") && strings.Contains(s, "[ ] Web hosting")
	})
	x.text(title)
	x.keys("Tab", "Tab", "Tab", "Right", "Space")
	x.waitFor("Web hosting ticked", func(s string) bool { return strings.Contains(s, "›[x] Web hosting") })
	x.keys("Enter")
	x.waitFor("INC-1 declared", func(s string) bool { return strings.HasPrefix(s, "INC-1 SEV2 investigating") })

	// In the dialog (the header and the footer are the responders' and
	// may name the incident), nothing of the title shows.
	belowHeader := func(s string) string {
		from, to := strings.Index(s, "╭"), strings.LastIndex(s, "╰")
		if from < 0 || to < from {
			return s
		}
		return s[from:to]
	}
	x.keys("4")
	x.waitFor("the checklist", func(s string) bool { return strings.Contains(s, "First notice on the status page") })
	x.keys("j", "p")
	screen := x.waitFor("the publish dialog", func(s string) bool { return strings.Contains(s, "Publish status-page of INC-1") })
	if !strings.Contains(screen, "│ Disruption to Web hosting") || !strings.Contains(screen, "subject   Disruption to Web hosting") {
		t.Fatalf("the draft and its subject do not start from the component:\n%s", screen)
	}
	for _, leak := range []string{"MySQL", "web-1", "erroring"} {
		if strings.Contains(belowHeader(screen), leak) {
			t.Fatalf("the draft shows %q:\n%s", leak, screen)
		}
	}

	// A line naming the host is held, naming it; n goes back to the text.
	x.keys("Enter")
	x.text("web-1 is being restarted.")
	x.keys("C-s")
	x.waitFor("the confirmation", func(s string) bool { return strings.Contains(s, "Publish to customers?") })
	x.keys("y")
	x.waitFor("the hold naming web-1", func(s string) bool {
		return strings.Contains(s, "Held: the text names host web-1") && strings.Contains(strings.Join(strings.Fields(s), " "), "customers read page")
	})
	x.keys("n")
	x.waitFor("back at the text", func(s string) bool {
		return strings.Contains(s, "Publish status-page of INC-1") && !strings.Contains(s, "Held:")
	})
	x.keys("C-u")
	x.text("We are restarting the database.")
	x.keys("C-s")
	x.waitFor("the confirmation", func(s string) bool { return strings.Contains(s, "Publish to customers?") })
	x.keys("y")
	x.waitFor("the step ticked by the publish", func(s string) bool {
		return screenLineWith(s, "First notice on the status page", "✓", "e2e")
	})

	noLeak := func(when string) {
		t.Helper()
		var page, atom, summary string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			page, atom, summary = fetchPage(t, base+"/status"), fetchPage(t, base+"/status/feed.atom"), fetchPage(t, base+"/status/summary.json")
			if strings.Contains(page, "We are restarting the database.") {
				break
			}
		}
		if !strings.Contains(page, "Disruption to Web hosting") || !strings.Contains(page, "We are restarting the database.") {
			t.Fatalf("%s: /status lacks the published notice:\n%s", when, page)
		}
		for name, body := range map[string]string{"/status": page, "feed.atom": atom, "summary.json": summary} {
			for _, leak := range []string{"MySQL", "web-1", "erroring", "MysqlDown"} {
				if strings.Contains(body, leak) {
					t.Fatalf("%s: %s shows %q:\n%s", when, name, leak, body)
				}
			}
		}
	}
	noLeak("the first notice")

	// Resolved: the resolution notice says what was resolved in the
	// components' words.
	x.keys("s")
	x.waitFor("the status picker", func(s string) bool { return strings.Contains(s, "Change status of INC-1") })
	x.keys("j", "j", "j", "Enter")
	x.waitFor("INC-1 resolved", func(s string) bool {
		return strings.Contains(s, "Send the resolution notice") && !strings.Contains(s, "Change status")
	})
	x.keys("g", "j", "j", "j", "j", "j", "j", "j", "p") // the eighth step
	screen = x.waitFor("the resolution notice", func(s string) bool { return strings.Contains(s, "Publish resolved-notice of INC-1") })
	if !strings.Contains(screen, "│ Resolved: Disruption to Web hosting") || strings.Contains(belowHeader(screen), "MySQL") {
		t.Fatalf("the resolution notice:\n%s", screen)
	}
	x.keys("C-s")
	x.waitFor("the confirmation", func(s string) bool { return strings.Contains(s, "Publish to customers?") })
	x.keys("y")
	x.waitFor("the resolution notice ticked", func(s string) bool { return screenLineWith(s, "Send the resolution notice", "✓", "e2e") })
	noLeak("the resolution notice")
	x.keys("q")
}
