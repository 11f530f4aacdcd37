package cluster

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// The cluster tests start real nats-servers and take seconds each: they
// run in CI and are skipped with -short. Each has its own servers, ports,
// cluster name and directories: they run in parallel with one another.
func clusterTest(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("cluster test: starts three nats-servers (tens of seconds); run without -short")
	}
	t.Parallel()
}

// clustersAtOnce is how many cluster tests run at once unless -parallel
// says: all of them.
const clustersAtOnce = 16

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func declare(id string) protocol.Command {
	return protocol.Command{ID: id, Actor: "alice", Op: protocol.OpDeclare, Title: "Mail down", Severity: "SEV2", Kind: "outage"}
}

func noteCmd(id, incident, text string) protocol.Command {
	return protocol.Command{ID: id, Actor: "alice", Op: protocol.OpNote, Incident: incident, Text: text}
}

func TestHubsApplyEachOthersCommands(t *testing.T) {
	clusterTest(t)
	c := newTestCluster(t, 3, Options{})
	ids := map[string]bool{}
	for i, h := range c.hubs {
		ids[h.j.ID()] = true
		if h.hub.JournalID() != h.j.ID() {
			t.Fatalf("hub %d says journal %s", i, h.hub.JournalID())
		}
	}
	if len(ids) != 1 {
		t.Fatalf("three hubs, journal ids %v", ids)
	}
	// Declared on hub 0, noted on hub 1, noted on hub 2 right after: each
	// hub validates against what the others appended.
	c0 := &wsClient{urls: c.urls()[0:1]}
	defer c0.close()
	if ans, _, err := c0.send(declare("c-declare")); err != nil || ans.(*protocol.Ack) == nil {
		t.Fatalf("declare: %v %v", ans, err)
	}
	for i := 1; i < 3; i++ {
		cl := &wsClient{urls: c.urls()[i : i+1]}
		ans, _, err := cl.send(noteCmd(fmt.Sprintf("c-note-%d", i), "INC-1", fmt.Sprintf("from hub %d", i)))
		cl.close()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ans.(*protocol.Ack); !ok {
			t.Fatalf("note on hub %d: %+v", i, ans)
		}
	}
	// A second declare on another hub gets the next incident id.
	cl := &wsClient{urls: c.urls()[2:3]}
	defer cl.close()
	ans, _, _ := cl.send(declare("c-declare-2"))
	ack, ok := ans.(*protocol.Ack)
	if !ok {
		t.Fatalf("second declare: %+v", ans)
	}
	want := ack.Seq // the newest message: every hub must reach it
	for i, h := range c.hubs {
		waitFor(t, fmt.Sprintf("hub %d to apply seq %d", i, want), 10*time.Second, func() bool { return h.hub.Seq() >= want })
	}
	ref := journalOf(t, c.hubs[0].j)
	for i, h := range c.hubs[1:] {
		if got := journalOf(t, h.j); !slices.Equal(got, ref) {
			t.Fatalf("hub %d's journal differs:\n%s\nhub 0's:\n%s", i+1, strings.Join(got, "\n"), strings.Join(ref, "\n"))
		}
		incs := h.hub.Incidents()
		if len(incs) != 2 || incs[0].ID != "INC-1" || incs[1].ID != "INC-2" {
			t.Fatalf("hub %d incidents %+v", i+1, incs)
		}
	}
	// A client that saw seq 2 on hub 0 resumes on hub 1 with since 2:
	// the same journal id, exactly the messages after it, then synced.
	frames, synced := resume(t, c.urls()[1], 2, c.hubs[0].j.ID())
	if want := ref[2:]; !slices.Equal(frames, want) || synced.Seq != want0(ref) || synced.Compacted {
		t.Fatalf("resumed on hub 1 since 2:\n%s\nsynced %+v; hub 0 has:\n%s", strings.Join(frames, "\n"), synced, strings.Join(want, "\n"))
	}
	// History pages of hub 2 are hub 0's messages.
	page := historyPage(t, c.urls()[2], protocol.History{ID: "h-1", Before: 5, Limit: 3})
	if !slices.Equal(page, ref[1:4]) {
		t.Fatalf("history before 5 on hub 2: %v, want %v", page, ref[1:4])
	}
}

func want0(ref []string) uint64 {
	var seq uint64
	fmt.Sscanf(ref[len(ref)-1], "%d", &seq)
	return seq
}

// A responder sends a few hundred commands, one at a time, while the hub
// it is connected to is killed: it moves to the next hub and resends what
// it had no answer for. Nothing acknowledged is lost, nothing is applied
// twice, the survivors hold the same journal, and the killed hub, started
// again, catches up to it.
func TestKillingAHubLosesNothingAcknowledged(t *testing.T) {
	clusterTest(t)
	c := newTestCluster(t, 3, Options{})
	// The hub killed is the one whose nats-server leads the stream: the
	// worst case, a new leader must be elected.
	victim := c.streamLeader()
	urls := c.urls()
	cl := &wsClient{urls: append(urls[victim:], urls[:victim]...)}
	defer cl.close()
	other := (victim + 1) % 3
	if ans, _, err := cl.send(declare("c-declare")); err != nil {
		t.Fatal(err)
	} else if _, ok := ans.(*protocol.Ack); !ok {
		t.Fatalf("declare: %+v", ans)
	}
	const n, killAt = 300, 100
	killed := make(chan struct{})
	run := sendThroughKill(t, cl, n, killAt, 10, func() int {
		if cl.hub != 0 {
			t.Fatalf("client moved before the kill")
		}
		go func() { c.kill(victim); close(killed) }() // while the next commands are in flight
		return 0                                      // the victim is first in the client's list
	})
	acked := run.acked
	t.Logf("failover: %v from killing hub %d (the stream's leader) to the first ack on another hub; longest time between two acks %v; %d nack unavailable meanwhile; %d commands acked", run.failover, victim, run.stall, run.nacks, len(acked))
	<-killed
	if err := c.start(victim); err != nil {
		t.Fatal(err)
	}
	want := run.newest()
	for i, h := range c.hubs {
		waitFor(t, fmt.Sprintf("hub %d to reach seq %d", i, want), 30*time.Second, func() bool { return h.hub.Seq() >= want })
	}
	// The journal goes on after ref is read (the survivors journal the
	// victim's loss and its return when they notice them): every hub
	// must hold ref as it is, and may hold more after it.
	ref := journalOf(t, c.hubs[other].j)
	for i, h := range c.hubs {
		var got []string
		waitFor(t, fmt.Sprintf("hub %d to hold hub %d's %d messages", i, other, len(ref)), 30*time.Second, func() bool {
			got = journalOf(t, h.j)
			return len(got) >= len(ref)
		})
		if !slices.Equal(got[:len(ref)], ref) {
			t.Fatalf("hub %d's journal differs from hub %d's in its first %d messages", i, other, len(ref))
		}
	}
	// Every acked note once, at the seq it was acked with; none twice.
	count := map[string]int{}
	seqOf := map[string]uint64{}
	for _, line := range ref {
		var seq uint64
		var frame string
		fmt.Sscanf(line, "%d", &seq)
		frame = line[strings.IndexByte(line, ' ')+1:]
		m, err := protocol.Decode([]byte(frame))
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := m.(*protocol.Entry); ok && e.Kind == protocol.EntryNote {
			count[e.Text]++
			seqOf[e.Text] = e.Seq
		}
	}
	for i := 1; i <= n; i++ {
		text := fmt.Sprintf("note %d", i)
		if count[text] > 1 {
			t.Errorf("%q applied %d times", text, count[text])
		}
		if seq, ok := acked[fmt.Sprintf("c-%d", i)]; ok && (count[text] != 1 || seqOf[text] > seq) {
			t.Errorf("%q acked at seq %d, journaled %d times (at %d)", text, seq, count[text], seqOf[text])
		}
	}
	if len(acked) != n {
		t.Errorf("%d of %d commands acked", len(acked), n)
	}
}

// A hub cut off from the majority refuses commands (nack unavailable)
// and applies nothing; with a majority back it accepts them again.
func TestMinorityHubRefusesCommands(t *testing.T) {
	clusterTest(t)
	c := newTestCluster(t, 3, Options{CommitTimeout: 2 * time.Second})
	cl := &wsClient{urls: c.urls()[0:1]}
	defer cl.close()
	if ans, _, _ := cl.send(declare("c-declare")); ans == nil {
		t.Fatal("no answer")
	}
	before := c.hubs[0].j.Seq()
	c.kill(1)
	c.kill(2)
	// The hub learns it is alone when its routes close: a command sent
	// before that is proposed (the hub still counts a majority), and a
	// proposal may be committed once the cluster heals, whatever the hub
	// answered meanwhile. The hub refuses what it is sent once it knows.
	waitFor(t, "hub 0 to see itself cut off", 30*time.Second, func() bool { return !c.hubs[0].node.Quorum() })
	ans, _, err := cl.send(noteCmd("c-alone", "INC-1", "said to a hub alone"))
	if err != nil {
		t.Fatal(err)
	}
	if nk, ok := ans.(*protocol.Nack); !ok || nk.Code != protocol.CodeUnavailable {
		t.Fatalf("a hub without a majority answered %+v", ans)
	}
	if got := c.hubs[0].j.Seq(); got != before || len(c.hubs[0].hub.Incidents()[0].Checklist) == 0 {
		t.Fatalf("seq %d after a refusal, %d before", got, before)
	}
	if err := c.start(1); err != nil {
		t.Fatal(err)
	}
	for try := 0; ; try++ {
		ans, _, err = cl.send(noteCmd("c-majority", "INC-1", "with a majority again"))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := ans.(*protocol.Ack); ok {
			break
		}
		if try > 20 {
			t.Fatalf("with hub 1 back: %+v", ans)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, line := range journalOf(t, c.hubs[0].j) {
		if strings.Contains(line, "said to a hub alone") {
			t.Fatalf("a refused command was journaled: %s", line)
		}
	}
}

// A command sent twice to one hub while the first is still on its way to
// the stream is applied once: both answers carry the same seq.
func TestCommandSentTwiceWhilePendingIsAppliedOnce(t *testing.T) {
	clusterTest(t)
	c := newTestCluster(t, 3, Options{})
	h := c.hubs[0].hub
	h.Apply(declare("c-declare"), true, nil)
	answers := make(chan server.Result, 2)
	cmd := noteCmd("c-twice", "INC-1", "said twice")
	h.Submit(cmd, true, func(r server.Result) { answers <- r })
	h.Submit(cmd, true, func(r server.Result) { answers <- r })
	a, b := <-answers, <-answers
	if a.Code != "" || string(a.Frame) != string(b.Frame) {
		t.Fatalf("answers %s and %s", a.Frame, b.Frame)
	}
	n := 0
	for _, line := range journalOf(t, c.hubs[0].j) {
		if strings.Contains(line, "said twice") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("journaled %d times", n)
	}
}
