package cluster

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/ingest"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
	"github.com/vigil-oncall/vigil/internal/testprog"
)

// startProgram runs a real program until the test ends and waits until
// url answers.
func startProgram(t *testing.T, url string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	logPath := filepath.Join(t.TempDir(), filepath.Base(name)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logFile.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	waitFor(t, name+" to answer", 20*time.Second, func() bool {
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			t.Fatalf("%s exited: %s", name, out)
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	return cmd
}

// countPosts counts the webhook posts a hub answered.
type countPosts struct {
	next  http.Handler
	posts atomic.Int64
}

func (c *countPosts) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.next.ServeHTTP(w, r)
	c.posts.Add(1)
}

// A real Alertmanager posts every notification to all three hubs (each
// hub's URL is a webhook of the receiver, as a cluster's is configured):
// each transition of the alert is journaled once, by whichever hub's
// record reached the stream first.
func TestAlertmanagerToEveryHubJournalsOnce(t *testing.T) {
	clusterTest(t)
	alertmanager := testprog.Need(t, "prometheus-alertmanager", "prometheus-alertmanager")
	counters := make([]*countPosts, 3)
	c := newTestCluster(t, 3, Options{}, func(i int, h *server.Hub) {
		counters[i] = &countPosts{next: &ingest.Alertmanager{Sink: h}}
		h.Handle("POST /alertmanager", counters[i])
	})
	var hooks strings.Builder
	for i := range c.hubs {
		fmt.Fprintf(&hooks, "      - url: http://%s/alertmanager\n        send_resolved: true\n", c.feeds[i])
	}
	amAddr := freeAddrs(t, 1)[0]
	amDir := t.TempDir()
	amConfig := "route:\n  receiver: vigil\n  group_by: [alertname, host]\n  group_wait: 100ms\n  group_interval: 500ms\n  repeat_interval: 1h\nreceivers:\n  - name: vigil\n    webhook_configs:\n" + hooks.String()
	if err := os.WriteFile(filepath.Join(amDir, "alertmanager.yml"), []byte(amConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	startProgram(t, "http://"+amAddr+"/-/ready", alertmanager,
		"--config.file="+filepath.Join(amDir, "alertmanager.yml"), "--storage.path="+filepath.Join(amDir, "data"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	startsAt := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	push := func(endsAt time.Time) {
		body := fmt.Sprintf(`[{"labels":{"alertname":"MailQueue","host":"web-1","severity":"critical"},"annotations":{"summary":"queue 4812 messages"},"startsAt":%q,"endsAt":%q}]`,
			startsAt, endsAt.UTC().Format(time.RFC3339))
		resp, err := http.Post("http://"+amAddr+"/api/v2/alerts", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("pushing the alert: HTTP %d", resp.StatusCode)
		}
	}
	posted := func(n int64) func() bool {
		return func() bool {
			for _, p := range counters {
				if p.posts.Load() < n {
					return false
				}
			}
			return true
		}
	}
	push(time.Now().Add(time.Hour))
	waitFor(t, "the firing alert posted to every hub", 30*time.Second, posted(1))
	push(time.Now().Add(-time.Second))
	waitFor(t, "the resolved alert posted to every hub", 30*time.Second, posted(2))

	var transitions []string
	waitFor(t, "every hub to hold the same journal with both transitions", 30*time.Second, func() bool {
		ref := journalOf(t, c.hubs[0].j)
		for _, h := range c.hubs[1:] {
			if got := journalOf(t, h.j); len(got) != len(ref) {
				return false
			}
		}
		transitions = nil
		for _, line := range ref {
			m, err := protocol.Decode([]byte(line[strings.IndexByte(line, ' ')+1:]))
			if err != nil {
				t.Fatal(err)
			}
			if e, ok := m.(*protocol.Entry); ok && e.Service == "MailQueue" {
				transitions = append(transitions, e.State)
			}
		}
		return len(transitions) >= 2
	})
	if strings.Join(transitions, ",") != "down,ok" {
		t.Fatalf("journaled transitions of MailQueue on web-1: %v, want down then ok, once each", transitions)
	}
}
