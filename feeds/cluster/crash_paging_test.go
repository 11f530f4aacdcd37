package cluster

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/server"
)

// phone is a loopback webhook receiver standing in for people's phones:
// it records every notification, by path and delivery identity.
type phone struct {
	mu    sync.Mutex
	calls []call
}

type call struct {
	who, id, body string
	at            time.Time
}

func (p *phone) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.calls = append(p.calls, call{who: strings.TrimPrefix(r.URL.Path, "/"), id: r.Header.Get("X-Vigil-Delivery"), body: string(body), at: time.Now()})
	p.mu.Unlock()
}

// first is the first call to who whose body holds text.
func (p *phone) first(who, text string) (call, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.calls {
		if c.who == who && strings.Contains(c.body, text) {
			return c, true
		}
	}
	return call{}, false
}

// ids is how many distinct deliveries who got whose body holds text, and
// how many calls carried them.
func (p *phone) ids(who, text string) (distinct []string, calls int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.calls {
		if c.who == who && strings.Contains(c.body, text) {
			calls++
			if !slices.Contains(distinct, c.id) {
				distinct = append(distinct, c.id)
			}
		}
	}
	return distinct, calls
}

// Three real `vigil serve` processes page for one cluster. An alert
// posted to a hub that does not page reaches the one that does; alice is
// paged. The paging hub is SIGKILLed: another takes the lease and pages
// bob when the first level's wait runs out, on time; the lost hub itself
// pages. Each person is told each thing once.
func TestPagingOwnerProcessKilled(t *testing.T) {
	clusterTest(t)
	phones := &phone{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: phones}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	const wait, lease = 8 * time.Second, 2 * time.Second
	t.Cleanup(func() {
		if t.Failed() {
			phones.mu.Lock()
			defer phones.mu.Unlock()
			for _, c := range phones.calls {
				t.Logf("%s %s %s: %s", c.at.Format("15:04:05.000"), c.who, c.id, c.body)
			}
		}
	})
	c := startHubCluster(t, "paging", func(_ int, feed string) string {
		return fmt.Sprintf(`[serve.alertmanager]
token_env = ""

[[serve.channels]]
name = "alice-phone"
type = "webhook"
url = "http://%[1]s/alice"
format = "json"

[[serve.channels]]
name = "bob-phone"
type = "webhook"
url = "http://%[1]s/bob"
format = "json"

[serve.paging]
url = "http://%[2]s"

[[serve.paging.rules]]
name = "alerts"
on = ["alert"]
escalation = "default"
group = "1s"

[[serve.paging.rules]]
name = "hubs"
on = ["hub"]
escalation = "default"
group = "1s"

[[serve.people]]
name = "alice"
webhook = "alice-phone"

[[serve.people]]
name = "bob"
webhook = "bob-phone"

[[serve.escalations]]
name = "default"
levels = [ { notify = ["person:alice"], wait = %[3]q }, { notify = ["person:bob"], wait = %[3]q } ]

`, ln.Addr(), feed, wait.String())
	}, fmt.Sprintf("lease = %q\n", lease.String()))
	procs, routes, feeds := c.procs, c.routes, c.feeds
	owner := c.owner(t, server.PagingLease)
	// /metrics says what /healthz says: quorum, and who holds the paging.
	resp, err := http.Get("http://" + feeds[owner] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"vigil_cluster_quorum 1", `vigil_cluster_lease_held{lease="paging"} 1`, "vigil_cluster_peers_routed 2"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("hub-%d's /metrics lacks %q:\n%s", owner, want, metrics)
		}
	}
	told := (owner + 1) % 3
	alert := fmt.Sprintf(`{"version":"4","status":"firing","receiver":"vigil","alerts":[{"status":"firing","labels":{"alertname":"MysqlDown","instance":"db-1:9104","severity":"critical"},"annotations":{"summary":"mysqld not answering"},"startsAt":%q,"fingerprint":"f00d"}]}`,
		time.Now().UTC().Format(time.RFC3339))
	resp, err = http.Post("http://"+feeds[told]+"/alertmanager", "application/json", bytes.NewBufferString(alert))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("hub-%d answered the alert %s", told, resp.Status)
	}
	var alice call
	waitFor(t, "alice paged for the alert posted to a hub that does not page", 30*time.Second, func() bool {
		var ok bool
		alice, ok = phones.first("alice", "MysqlDown")
		return ok
	})
	limit := takeoverLimit(t, lease+2*time.Second, routes[owner], feeds)
	killed := time.Now()
	procs[owner].cmd.Process.Signal(syscall.SIGKILL)
	var bob call
	waitFor(t, "bob paged once alice's wait ran out", wait+limit+30*time.Second, func() bool {
		var ok bool
		bob, ok = phones.first("bob", "MysqlDown")
		return ok
	})
	lost := routes[owner] // a hub is known to its peers by its route address
	waitFor(t, "the loss of the paging hub paged", 60*time.Second, func() bool {
		_, ok := phones.first("alice", lost)
		return ok
	})
	late := bob.at.Sub(alice.at) - wait
	t.Logf("SIGKILL of hub-%d (%s), which paged, %v after alice was paged: bob paged %v after alice (wait %v, lease %v: %v late)",
		owner, lost, killed.Sub(alice.at).Round(time.Millisecond), bob.at.Sub(alice.at).Round(time.Millisecond), wait, lease, late.Round(time.Millisecond))
	if late > limit {
		t.Errorf("bob paged %v after the level's wait, more than %v (the lease, two ticks, and an election if the paging hub led the leases' bucket)", late, limit)
	}
	for _, who := range []string{"alice", "bob"} {
		ids, calls := phones.ids(who, "MysqlDown")
		if len(ids) != 1 {
			t.Errorf("%s was paged for the alert as %d deliveries %v, want one", who, len(ids), ids)
		}
		if calls > 1 {
			t.Logf("%s's one delivery came %d times with the same identity (the window no sender can close)", who, calls)
		}
	}
	if ids, _ := phones.ids("alice", lost); len(ids) != 1 {
		t.Errorf("alice was paged for %s's loss as %d deliveries %v, want one", lost, len(ids), ids)
	}
}
