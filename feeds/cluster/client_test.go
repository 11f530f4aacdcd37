package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/client/clienttest"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A dashboard's feed lists the cluster's three URLs. Its hub is killed
// while its outbox holds notes: it moves to the next hub, resumes there
// with since (the same journal: nothing dropped, nothing twice), and its
// outbox's notes are each answered and applied once.
func TestDashboardFeedMovesAcrossTheCluster(t *testing.T) {
	clusterTest(t)
	c := newTestCluster(t, 3, Options{})
	tm := client.DefaultTimings()
	tm.BackoffMin, tm.BackoffMax = 5*time.Millisecond, 100*time.Millisecond
	cl, err := client.New([]client.FeedConfig{{Name: "hub", URLs: c.urls()}}, t.TempDir(), tm)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	col := clienttest.Collect(ctx, cl.Store())
	ran := make(chan struct{})
	go func() { cl.Run(ctx); close(ran) }()
	defer func() { cancel(); <-ran; <-col.Done() }()
	waitFor(t, "synced", 30*time.Second, func() bool { return col.Health("hub").State == client.Synced })
	answer := func(id string) client.Event {
		var ans client.Event
		waitFor(t, "the answer to "+id, 60*time.Second, func() bool { ans = col.Answer(id); return ans != nil })
		return ans
	}
	id, _ := cl.Send("hub", declare(""))
	if _, ok := answer(id).(client.AckEvent); !ok {
		t.Fatalf("declare: %+v", col.Answer(id))
	}
	on := -1
	for i, h := range c.hubs {
		if h.hub.Subscribers() > 0 {
			on = i
		}
	}
	var ids []string
	for i := 1; i <= 100; i++ {
		if i == 50 {
			c.kill(on)
		}
		id, err := cl.Send("hub", noteCmd("", "INC-1", fmt.Sprintf("outbox %d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	acked := map[string]bool{}
	for i, id := range ids {
		switch a := answer(id).(type) {
		case client.AckEvent:
			acked[fmt.Sprintf("outbox %d", i+1)] = true
		case client.NackEvent:
			if a.Code != protocol.CodeUnavailable {
				t.Fatalf("%s: %+v", id, a)
			}
		}
	}
	other := (on + 1) % 3
	want := c.hubs[other].j.Seq()
	waitFor(t, "the dashboard to hold every message", 30*time.Second, func() bool {
		msgs := col.Journal()
		return len(msgs) > 0 && seqOfMsg(msgs[len(msgs)-1]) >= want
	})
	count := map[string]int{}
	var last uint64
	for _, m := range col.Journal() {
		if s := seqOfMsg(m); s <= last {
			t.Fatalf("seq %d after %d: a duplicate or a step back", s, last)
		} else {
			last = s
		}
		if e, ok := m.(*protocol.Entry); ok {
			count[e.Text]++
		}
	}
	for _, e := range col.Events() {
		if r, ok := e.(client.ResetEvent); ok {
			t.Fatalf("the dashboard dropped what it held: %+v", r)
		}
	}
	for text := range acked {
		if count[text] != 1 {
			t.Errorf("%q acked, seen %d times", text, count[text])
		}
	}
	t.Logf("hub %d killed; %d of 100 outbox notes acked, the rest nack unavailable", on, len(acked))
}

func seqOfMsg(m protocol.Message) uint64 {
	switch v := m.(type) {
	case *protocol.Entry:
		return v.Seq
	case *protocol.IncidentMsg:
		return v.Seq
	}
	return 0
}
