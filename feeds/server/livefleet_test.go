package server

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// The fleet's live state turns samples into events; a table of samples of
// one host, each with what it must have done.
func TestLiveFleetLoadEvents(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	type want struct {
		level    string
		crossed  bool
		from, to level.Level
		back     bool
		peak     float64 // load1 of the minute's peak that ended; 0: none
	}
	sample := func(at time.Duration, load1 float64) protocol.Load {
		return protocol.Load{Host: "web-1", At: protocol.At(t0.Add(at)), Interval: protocol.Duration(time.Second), Load1: load1, CPUs: 4}
	}
	steps := []struct {
		name   string
		l      protocol.Load
		silent bool // sweep past the host's silence first
		want   want
	}{
		{"a new host that is ok crosses nothing", sample(0, 0.5), false, want{level: "ok"}},
		{"ok to warn", sample(time.Second, 3.0), false, want{level: "warn", crossed: true, from: level.OK, to: level.Warn}},
		{"warn stays warn", sample(2*time.Second, 3.2), false, want{level: "warn"}},
		{"warn to crit", sample(3*time.Second, 4.5), false, want{level: "crit", crossed: true, from: level.Warn, to: level.Crit}},
		{"a later minute ends the last one's peak", sample(time.Minute, 0.4), false, want{level: "ok", crossed: true, from: level.Crit, to: level.OK, peak: 4.5}},
		{"back after a silence the sweep journaled", sample(2*time.Minute, 0.4), true, want{level: "ok", back: true, peak: 0.4}},
	}
	f := newLiveFleet(level.Defaults(), time.Second, true)
	for _, st := range steps {
		if st.silent {
			if gone := f.life.sweep(st.l.At.Time.Add(-time.Millisecond)); len(gone) != 1 || gone[0].host != "web-1" {
				t.Fatalf("%s: sweep = %+v, want web-1 gone silent", st.name, gone)
			}
		}
		ev := f.load(st.l, st.l.At.Time, true)
		got := want{level: ev.load.Level, crossed: ev.crossed, back: ev.back}
		if ev.crossed {
			got.from, got.to = ev.from, ev.to
		}
		if ev.peak != nil {
			got.peak = ev.peak.Load1
		}
		if got != st.want {
			t.Errorf("%s: got %+v, want %+v", st.name, got, st.want)
		}
		if string(f.loads["web-1"]) != string(ev.frame) || !strings.Contains(string(ev.frame), `"level":"`+st.want.level+`"`) {
			t.Errorf("%s: the shown frame %s is not the event's", st.name, f.loads["web-1"])
		}
	}
}

// A host that reports faster than the pace is shown at the pace (the
// subscribers hear of it once a pace), but its silence is still judged
// by its own interval.
func TestLiveFleetPacesTheShownInterval(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	f := newLiveFleet(level.Defaults(), time.Second, false)
	ev := f.load(protocol.Load{Host: "a", At: protocol.At(t0), Interval: protocol.Duration(200 * time.Millisecond), Load1: 1, CPUs: 4}, t0, true)
	if ev.load.Interval.Std() != time.Second {
		t.Fatalf("shown interval %v, want the pace", ev.load.Interval.Std())
	}
	if f.life.hosts["a"].every != 200*time.Millisecond {
		t.Fatalf("silence judged by %v, want the host's own interval", f.life.hosts["a"].every)
	}
	if gone := f.life.sweep(t0.Add(600 * time.Millisecond)); len(gone) != 1 {
		t.Fatalf("silent 3 of its own intervals: sweep = %+v", gone)
	}
	if ev := f.load(protocol.Load{Host: "probe", At: protocol.At(t0), Load1: 1, CPUs: 4}, t0, false); ev.back || f.life.hosts["probe"] != nil {
		t.Fatal("a source not expected to keep reporting is watched for silence")
	}
}

func TestLiveFleetServiceEvents(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	svc := func(state string, at time.Duration) protocol.Service {
		return protocol.Service{Host: "web-1", Service: "exim", State: state, At: protocol.At(t0.Add(at)), Since: protocol.At(t0.Add(at))}
	}
	f := newLiveFleet(level.Defaults(), time.Second, false)
	f.lastKnown = map[string]protocol.Service{serviceKey("web-1", "smtp"): {Host: "web-1", Service: "smtp", State: protocol.StateDown, Since: protocol.At(t0.Add(-time.Hour))}}
	steps := []struct {
		name      string
		s         protocol.Service
		changed   bool
		from      string
		sinceFrom time.Duration
	}{
		{"a new service that is ok changed nothing", svc(protocol.StateOK, 0), false, "new", 0},
		{"ok to down", svc(protocol.StateDown, time.Minute), true, protocol.StateOK, time.Minute},
		{"down again keeps since", svc(protocol.StateDown, 2*time.Minute), false, protocol.StateDown, time.Minute},
		{"down to ok", svc(protocol.StateOK, 3*time.Minute), true, protocol.StateDown, 3 * time.Minute},
	}
	for _, st := range steps {
		ev := f.service(st.s)
		if ev.changed != st.changed || ev.from != st.from || !ev.service.Since.Equal(t0.Add(st.sinceFrom)) {
			t.Errorf("%s: changed %v from %q since %v; want %v %q %v", st.name, ev.changed, ev.from, ev.service.Since, st.changed, st.from, t0.Add(st.sinceFrom))
		}
	}
	// A service down before the restart and down after changed nothing,
	// once; the state it was left in is not used again.
	smtp := protocol.Service{Host: "web-1", Service: "smtp", State: protocol.StateDown, At: protocol.At(t0)}
	if ev := f.service(smtp); ev.changed || !ev.service.Since.Equal(t0.Add(-time.Hour)) {
		t.Fatalf("down across a restart: changed %v since %v", ev.changed, ev.service.Since)
	}
	if len(f.lastKnown) != 0 {
		t.Fatal("the state before the restart is kept after its first report")
	}
	long := protocol.Service{Host: "web-1", Service: "big", State: protocol.StateDown, Detail: strings.Repeat("x", protocol.MaxTextBytes+10)}
	if ev := f.service(long); len(ev.service.Detail) > protocol.MaxTextBytes {
		t.Fatalf("detail of %d bytes kept", len(ev.service.Detail))
	}
	snap := f.snapshot(nil)
	if len(snap) != 3 {
		t.Fatalf("snapshot of 3 services holds %d frames", len(snap))
	}
}
