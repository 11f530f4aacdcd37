package demo

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestScenarioHasTheNightAndRunsUntilCancelled(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	incs := s.Hub.Incidents()
	if len(incs) != 1 || incs[0].ID != incidentID || incs[0].Kind != "outage" {
		t.Fatalf("incidents = %+v", incs)
	}
	var done, open []string
	for _, it := range incs[0].Checklist {
		if it.Done() {
			done = append(done, it.ID+" by "+*it.DoneBy)
		} else if it.After == "" {
			open = append(open, it.ID)
		}
	}
	if strings.Join(done, ",") != "ack by bob,status-page by carol,answer-messages by carol" || len(open) < 4 {
		t.Fatalf("done %v, open %v: some ticked by teammates, some left for the viewer", done, open)
	}
	if !incs[0].OpenedAt.Before(time.Now().Add(-20 * time.Minute)) {
		t.Fatal("the incident should have started before the viewer arrived")
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { s.Run(ctx); close(stopped) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop with its context")
	}
}
