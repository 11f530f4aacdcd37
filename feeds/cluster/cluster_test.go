package cluster

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// The cluster tests start real nats-servers and take seconds each: they
// run in CI and are skipped with -short.
func clusterTest(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("cluster test: starts three nats-servers (tens of seconds); run without -short")
	}
}

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
	c0 := &wsClient{t: t, urls: c.urls()[0:1]}
	defer c0.close()
	if ans, _, err := c0.send(declare("c-declare")); err != nil || ans.(*protocol.Ack) == nil {
		t.Fatalf("declare: %v %v", ans, err)
	}
	for i := 1; i < 3; i++ {
		cl := &wsClient{t: t, urls: c.urls()[i : i+1]}
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
	cl := &wsClient{t: t, urls: c.urls()[2:3]}
	defer cl.close()
	if ans, _, _ := cl.send(declare("c-declare-2")); ans == nil {
		t.Fatal("no answer")
	}
	want := c.hubs[0].j.Seq()
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
}
