package review

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/review/reviewtest"
)

// The debrief draft of the night of the 22nd, from the journal a real hub
// wrote: both columns filled with what the journal shows.
func TestDebriefDraftFromTheJournal(t *testing.T) {
	h := reviewtest.November(t)
	h.Stop()
	msgs, err := Read(context.Background(), h.Dir, "", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var inc *protocol.Incident
	var timeline []protocol.Entry
	for _, m := range msgs {
		switch v := m.(type) {
		case *protocol.IncidentMsg:
			if v.Incident.ID == "INC-4" {
				c := v.Incident.Clone()
				inc = &c
			}
		case *protocol.Entry:
			timeline = append(timeline, *v)
		}
	}
	var step *protocol.Item
	for i := range inc.Checklist {
		if inc.Checklist[i].ID == "debrief" {
			step = &inc.Checklist[i]
		}
	}
	text, ok, err := incident.Draft(inc, step, incident.DraftEnv{Zone: time.UTC, Now: reviewtest.TS("2026-11-23T09:00:00Z"), Timeline: timeline})
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	golden(t, "debrief-INC-4.txt", []byte(text))
	wrong, well, _ := strings.Cut(strings.SplitN(text, "What went wrong\n", 2)[1], "What went well\n")
	for _, want := range []string{"Send the resolution notice: 2 hours late", "Email affected customers: 10 minutes late"} {
		if !strings.Contains(wrong, want) {
			t.Errorf("what went wrong lacks %q", want)
		}
	}
	for _, want := range []string{"First public notice after 4 minutes (02:16), within the 15 minute deadline", "before anything was rebooted (03:10)", "evidence"} {
		if !strings.Contains(well, want) {
			t.Errorf("what went well lacks %q", want)
		}
	}
}
