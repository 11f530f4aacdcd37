package server

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A maintenance still running past its announced end gains the
// overrun-notice step once: journaled, seen by a dashboard, tickable, and
// not added again after a restart.
func TestOverrunningMaintenanceGainsNoticeStepOnce(t *testing.T) {
	start := time.Date(2026, 12, 8, 2, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(start.Add(-time.Hour).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	opts := Options{Now: now, StaleCheck: 5 * time.Millisecond}
	dir := t.TempDir()
	srv := startServer(t, dir, "", opts)
	decl := srv.hub.Apply(protocol.Command{ID: "c-1", Actor: "alice", Op: protocol.OpDeclare, Title: "Move web-3", Severity: "SEV3", Kind: "maintenance",
		ScheduledStart: protocol.TimePtr(start), ScheduledEnd: protocol.TimePtr(start.Add(2 * time.Hour))}, true, nil)
	if decl.Code != "" {
		t.Fatalf("declare: %s", decl.Frame)
	}
	d := connect(t, srv.url, "")
	eventually(t, "synced", d.synced)

	clock.Store(start.Add(90 * time.Minute).UnixNano()) // in progress, within its window
	srv.hub.sweepOverruns()
	if inc := srv.hub.Incidents()[0]; incident.HasStep(&inc, incident.OverrunStepID) {
		t.Fatal("step added within the window")
	}

	clock.Store(start.Add(2*time.Hour + 20*time.Minute).UnixNano())
	eventually(t, "overrun-notice on the dashboard", func() bool {
		for _, m := range d.Journal() {
			if im, ok := m.(*protocol.IncidentMsg); ok && incident.HasStep(&im.Incident, incident.OverrunStepID) {
				return true
			}
		}
		return false
	})
	tick := d.send(t, protocol.Command{Op: protocol.OpCheck, Incident: "INC-1", Item: incident.OverrunStepID, Done: yes()})
	if _, nacked := tick.(client.NackEvent); nacked {
		t.Fatalf("tick refused: %+v", tick)
	}
	addr := srv.addr
	srv.stop()

	clock.Store(start.Add(3 * time.Hour).UnixNano())
	srv2 := startServer(t, dir, addr, opts)
	d2 := connect(t, srv2.url, "")
	eventually(t, "synced after restart", d2.synced)
	srv2.hub.sweepOverruns()
	inc := srv2.hub.Incidents()[0]
	n := 0
	for _, it := range inc.Checklist {
		if it.ID == incident.OverrunStepID {
			n++
			if !it.Done() {
				t.Error("the tick was lost")
			}
		}
	}
	if n != 1 {
		t.Fatalf("overrun-notice %d times", n)
	}
	entries := 0
	for _, text := range d2.EntryTexts() {
		if strings.Contains(text, "checklist gains overrun-notice") {
			entries++
		}
	}
	if entries != 1 {
		t.Fatalf("%d overrun entries", entries)
	}
}
