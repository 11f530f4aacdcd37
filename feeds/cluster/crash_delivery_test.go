package cluster

import (
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

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// chat is a loopback webhook that takes its first post and never answers
// it (the sender dies holding it); it answers every later post.
type chat struct {
	mu    sync.Mutex
	posts []string // X-Vigil-Delivery of each post, in arrival order
}

func (c *chat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	c.mu.Lock()
	c.posts = append(c.posts, r.Header.Get("X-Vigil-Delivery"))
	first := len(c.posts) == 1
	c.mu.Unlock()
	if first {
		<-r.Context().Done()
		return
	}
}

func (c *chat) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.posts)
}

// Three real `vigil serve` processes; a responder publishes on one that
// does not deliver. The delivering hub is SIGKILLed while the chat holds
// its post: another hub takes the delivery lease and posts again with the
// same delivery key, and the journal says delivered once.
func TestDeliveryOwnerProcessKilled(t *testing.T) {
	clusterTest(t)
	hook := &chat{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: hook}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := startHubCluster(t, "delivery", func(int, string) string {
		return fmt.Sprintf("[[serve.channels]]\nname = \"ops-chat\"\ntype = \"webhook\"\nurl = \"http://%s/chat\"\nformat = \"json\"\n", ln.Addr())
	}, `lease = "2s"`+"\n")
	procs, feeds := c.procs, c.feeds
	owner := c.owner(t, server.DeliveryLease)
	other := (owner + 1) % 3
	cl := &wsClient{urls: []string{"ws://" + feeds[other] + "/feed"}}
	defer cl.close()
	for _, cmd := range []protocol.Command{
		declare("c-declare"),
		{ID: "c-publish", Actor: "alice", Op: protocol.OpPublish, Incident: "INC-1", Text: "Mail is delayed; we are on it.", Channels: []string{"ops-chat"}},
	} {
		m, _, err := cl.send(cmd)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(*protocol.Ack); !ok {
			t.Fatalf("%s: %+v", cmd.ID, m)
		}
	}
	waitFor(t, "the delivering hub to post to the chat", 30*time.Second, func() bool { return len(hook.seen()) >= 1 })
	killed := time.Now()
	procs[owner].cmd.Process.Signal(syscall.SIGKILL)
	waitFor(t, "another hub to post it again", 30*time.Second, func() bool { return len(hook.seen()) >= 2 })
	posts := hook.seen()
	t.Logf("SIGKILL of hub-%d holding the chat's post: posted again %v later by another hub; keys %v", owner, time.Since(killed).Round(time.Millisecond), posts)
	if posts[0] == "" || posts[1] != posts[0] {
		t.Errorf("the post again carries key %q, the first %q: want the same, not empty", posts[1], posts[0])
	}
	var delivered []string
	waitFor(t, "the delivery journaled", 30*time.Second, func() bool {
		delivered = delivered[:0]
		lines, _ := resume(t, "ws://"+feeds[other]+"/feed", 1, "")
		for _, line := range lines {
			m, _ := protocol.Decode([]byte(line[strings.IndexByte(line, ' ')+1:]))
			if e, ok := m.(*protocol.Entry); ok && e.Kind == protocol.EntryDelivery && e.Delivery != nil && e.Delivery.Outcome == protocol.DeliveryDelivered {
				delivered = append(delivered, e.Text)
			}
		}
		return len(delivered) > 0
	})
	time.Sleep(3 * time.Second) // a second delivery, were there one, would be journaled by now
	if got := hook.seen(); len(got) != 2 {
		t.Errorf("the chat got %d posts, want 2 (the one the dead hub held, the one sent again): %v", len(got), got)
	}
	if len(delivered) != 1 {
		t.Errorf("delivered %d times in the journal, want once: %v", len(delivered), delivered)
	}
}
