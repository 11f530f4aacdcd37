package cluster

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// readerHostOf is the server hosting hub i's stream reader.
func (c *testCluster) readerHostOf(i int) string {
	j := c.hubs[i].j
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.readerHost
}

// followerVictim picks the hub to kill for a follower's loss: one that
// does not lead the stream and that hosts another hub's stream reader
// (the case that costs that hub its acks until it reads again), and the
// hubs whose readers it hosts. ok is false when the placement has no such
// hub: then any follower is returned.
func (c *testCluster) followerVictim(leader int) (victim int, readers []int, ok bool) {
	victim = -1
	for f := range c.hubs {
		if f == leader {
			continue
		}
		victim = f
		readers = nil
		for h := range c.hubs {
			if h != f && c.readerHostOf(h) == fmt.Sprintf("hub-%d", f) {
				readers = append(readers, h)
			}
		}
		if len(readers) > 0 {
			return f, readers, true
		}
	}
	return victim, nil, false
}

// clientRun is one responder's view of a kill: the longest time between
// two of its acks from the kill on.
type clientRun struct {
	hub     int
	stall   time.Duration
	nacks   int
	acked   map[string]uint64
	refused error
}

// sendAcross sends notes from a client on each of hubs, one at a time
// each, until each has had after acks after kill ran, and reports each
// client's longest wait for an ack from the kill on.
func sendAcross(t *testing.T, c *testCluster, hubs []int, before, after int, kill func()) []*clientRun {
	t.Helper()
	runs := make([]*clientRun, len(hubs))
	var killed sync.WaitGroup
	killed.Add(1)
	var killedAt time.Time
	var wg sync.WaitGroup
	var ready sync.WaitGroup
	for k, h := range hubs {
		runs[k] = &clientRun{hub: h, acked: map[string]uint64{}}
		urls := c.urls()
		cl := &wsClient{urls: append(urls[h:], urls[:h]...)}
		wg.Add(1)
		ready.Add(1)
		go func(r *clientRun) {
			defer wg.Done()
			defer cl.close()
			var lastAck time.Time
			for i := 1; i <= before+after; i++ {
				if i == before+1 {
					ready.Done()
					killed.Wait()
					lastAck = killedAt
				}
				cmd := noteCmd(fmt.Sprintf("c-%d-%d", h, i), "INC-1", fmt.Sprintf("note %d-%d", h, i))
				for try := 0; ; try++ {
					ans, _, err := cl.send(cmd)
					if err != nil {
						r.refused = err
						return
					}
					if a, ok := ans.(*protocol.Ack); ok {
						r.acked[cmd.ID] = a.Seq
						if !lastAck.IsZero() {
							r.stall = max(r.stall, time.Since(lastAck))
							lastAck = time.Now()
						}
						break
					}
					nk := ans.(*protocol.Nack)
					if nk.Code != protocol.CodeUnavailable || try > 40 {
						r.refused = fmt.Errorf("%s: %+v", cmd.ID, nk)
						return
					}
					r.nacks++
					t.Logf("client on hub-%d: %s nacked: %s", h, cmd.ID, nk.Error)
					time.Sleep(100 * time.Millisecond)
				}
			}
		}(runs[k])
	}
	ready.Wait()
	killedAt = time.Now()
	kill()
	killed.Done()
	wg.Wait()
	for _, r := range runs {
		if r.refused != nil {
			t.Fatalf("client on hub %d: %v", r.hub, r.refused)
		}
	}
	return runs
}

// The loss of a hub that does not lead the stream costs no responder on
// another hub more than the time to notice it: the stream goes on with
// the two left, and a hub whose stream reader lived on the lost hub reads
// again from another at once.
func TestFollowerLossStallsNoClient(t *testing.T) {
	clusterTest(t)
	c := newTestCluster(t, 3, Options{})
	cl := &wsClient{urls: c.urls()}
	if ans, _, err := cl.send(declare("c-declare")); err != nil {
		t.Fatal(err)
	} else if _, ok := ans.(*protocol.Ack); !ok {
		t.Fatalf("declare: %+v", ans)
	}
	cl.close()
	leader := c.streamLeader()
	victim, readers, placed := c.followerVictim(leader)
	var clients []int
	for h := range c.hubs {
		if h != victim {
			clients = append(clients, h)
		}
	}
	runs := sendAcross(t, c, clients, 20, 40, func() { c.kill(victim) })
	for _, r := range runs {
		t.Logf("follower hub-%d killed (stream leader hub-%d; it hosted the readers of %v, placement found: %v): client on hub-%d waited at most %v for an ack, %d nack unavailable",
			victim, leader, readers, placed, r.hub, r.stall, r.nacks)
	}
	if err := c.start(victim); err != nil {
		t.Fatal(err)
	}
	var want uint64
	for _, r := range runs {
		for _, s := range r.acked {
			want = max(want, s)
		}
	}
	for i, h := range c.hubs {
		waitFor(t, fmt.Sprintf("hub %d to reach seq %d", i, want), 30*time.Second, func() bool { return h.hub.Seq() >= want })
	}
	checkOnce(t, journalOf(t, c.hubs[leader].j), runs)
}

// checkOnce asserts every acked note is journaled exactly once.
func checkOnce(t *testing.T, ref []string, runs []*clientRun) {
	t.Helper()
	count := map[string]int{}
	for _, line := range ref {
		var seq uint64
		fmt.Sscanf(line, "%d", &seq)
		m, err := protocol.Decode([]byte(line[len(fmt.Sprint(seq))+1:]))
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := m.(*protocol.Entry); ok && e.Kind == protocol.EntryNote {
			count[e.Text]++
		}
	}
	for _, r := range runs {
		for id := range r.acked {
			var h, i int
			fmt.Sscanf(id, "c-%d-%d", &h, &i)
			if text := fmt.Sprintf("note %d-%d", h, i); count[text] != 1 {
				t.Errorf("%s acked, %q journaled %d times", id, text, count[text])
			}
		}
	}
}
