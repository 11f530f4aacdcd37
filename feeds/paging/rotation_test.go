package paging

import (
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestRotationArithmetic(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	start := time.Date(2026, 3, 23, 9, 0, 0, 0, berlin) // Monday before DST starts (29 March)
	weekly := Rotation{Name: "primary", People: []string{"alice", "bob", "carol"}, Start: start, Shift: 168 * time.Hour, Location: berlin}
	for _, c := range []struct {
		name string
		at   time.Time
		who  string
		from time.Time
	}{
		{"at the start", start, "alice", start},
		{"a second before", start.Add(-time.Second), "carol", time.Date(2026, 3, 16, 9, 0, 0, 0, berlin)},
		{"across DST the handoff stays 09:00", time.Date(2026, 3, 30, 9, 0, 0, 0, berlin), "bob", time.Date(2026, 3, 30, 9, 0, 0, 0, berlin)},
		{"an hour before it, local", time.Date(2026, 3, 30, 8, 30, 0, 0, berlin), "alice", start},
		{"wraps", time.Date(2026, 4, 13, 10, 0, 0, 0, berlin), "alice", time.Date(2026, 4, 13, 9, 0, 0, 0, berlin)},
	} {
		who, from, until := weekly.Regular(c.at)
		if who != c.who || !from.Equal(c.from) || !until.After(c.at) || from.After(c.at) {
			t.Errorf("%s: %s from %s until %s; want %s from %s", c.name, who, from, until, c.who, c.from)
		}
	}
	// Without a zone the shift is absolute: the handoff moves by an hour
	// on the local clock.
	abs := weekly
	abs.Location = nil
	if _, from, _ := abs.Regular(time.Date(2026, 3, 31, 0, 0, 0, 0, berlin)); from.In(berlin).Hour() != 10 {
		t.Errorf("absolute shift: handoff at %s", from.In(berlin))
	}
	// A start in the future: the turn runs backwards to now.
	future := Rotation{Name: "f", People: []string{"a", "b"}, Start: t0.Add(48 * time.Hour), Shift: 24 * time.Hour}
	if who, _, until := future.Regular(t0); who != "a" || !until.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("future start: %s until %s", who, until)
	}
}

func TestHandoffsWithOverrides(t *testing.T) {
	r := Rotation{Name: "primary", People: []string{"alice", "bob"}, Start: t0, Shift: 168 * time.Hour}
	ov := []Override{{Rotation: "primary", Person: "dana", From: t0.Add(24 * time.Hour), Until: t0.Add(48 * time.Hour)}}
	got := r.Handoffs(t0, t0.Add(14*24*time.Hour), ov)
	want := []HandoffAt{
		{"primary", t0.Add(24 * time.Hour), "alice", "dana"},
		{"primary", t0.Add(48 * time.Hour), "dana", "alice"},
		{"primary", t0.Add(168 * time.Hour), "alice", "bob"},
		{"primary", t0.Add(336 * time.Hour), "bob", "alice"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("handoffs\n got %+v\nwant %+v", got, want)
	}
	if who, until := r.OnCall(t0.Add(time.Hour), ov); who != "alice" || !until.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("before the override: %s until %s", who, until)
	}
}

// The arithmetic holds for any start, shift, zone and moment: the shift
// found contains the moment, and the next handoff is the next shift's.
func FuzzRotation(f *testing.F) {
	f.Add(int64(1796630400), int64(168*3600), int64(1800000000), uint8(3), "Europe/Berlin")
	f.Add(int64(1796630400), int64(8*3600), int64(1700000000), uint8(2), "")
	f.Add(int64(1796630400), int64(24*3600), int64(1796630399), uint8(1), "America/New_York")
	f.Add(int64(0), int64(1), int64(-5), uint8(5), "Australia/Lord_Howe")
	f.Fuzz(func(t *testing.T, startUnix, shiftSec, atUnix int64, n uint8, zone string) {
		const span = 200 * 365 * 24 * 3600
		if shiftSec <= 0 || shiftSec > 365*24*3600 || startUnix < -span || startUnix > span || atUnix < -span || atUnix > span || n == 0 || n > 50 {
			return
		}
		var loc *time.Location
		if zone != "" {
			l, err := time.LoadLocation(zone)
			if err != nil {
				return
			}
			loc = l
		}
		people := make([]string, n)
		for i := range people {
			people[i] = "p" + strconv.Itoa(i)
		}
		r := Rotation{People: people, Start: time.Unix(startUnix, 0), Shift: time.Duration(shiftSec) * time.Second, Location: loc}
		at := time.Unix(atUnix, 0)
		who, from, until := r.Regular(at)
		if from.After(at) || !until.After(at) {
			t.Fatalf("shift %s..%s does not hold %s", from, until, at)
		}
		if who == "" {
			t.Fatal("nobody on call")
		}
		next, nfrom, _ := r.Regular(until)
		if !nfrom.Equal(until) {
			t.Fatalf("next shift starts %s, not %s", nfrom, until)
		}
		if n > 1 && next == who {
			t.Fatalf("%s twice in a row", who)
		}
	})
}

func FuzzRuleMatch(f *testing.F) {
	f.Add("web-*", "exim*", "down", "web-3", "exim4")
	f.Add("[a-", "*", "crit", "x", "")
	f.Add("*", "", "silent", "host.example", "")
	f.Fuzz(func(t *testing.T, hostGlob, svcGlob, what, host, service string) {
		r := Rule{Name: "r", On: []string{what}, Hosts: []string{hostGlob}}
		if svcGlob != "" {
			r.Services = []string{svcGlob}
		}
		ev := Event{What: what, Host: host, Service: service}
		got := r.Matches(ev)
		if ValidGlob(hostGlob) != nil && got {
			t.Fatal("a malformed host glob matched")
		}
		if got && !Glob(hostGlob, host) {
			t.Fatal("matched a host its glob does not")
		}
		if hostGlob == "*" && svcGlob == "" && !got && ev.Host != "" && !containsSlash(host) {
			t.Fatalf("* did not match %q", host)
		}
		other := ev
		other.What = what + "x"
		if r.Matches(other) {
			t.Fatal("matched an event kind the rule is not on")
		}
		if m, ok := Match([]Rule{r, {Name: "all", On: []string{what}}}, ev); !ok || (got && m.Name != "r") || (!got && m.Name != "all") {
			t.Fatal("first matching rule did not win")
		}
	})
}

func containsSlash(s string) bool { return slices.Contains([]byte(s), '/') }
