package paging

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

var t0 = time.Date(2026, 11, 22, 2, 11, 40, 0, time.UTC)

func testConfig() Config {
	return Config{
		Email: true,
		People: map[string]Person{
			"alice": {Name: "alice", Email: "alice@example.com"},
			"bob":   {Name: "bob", Email: "bob@example.com", Webhook: "bob-phone"},
			"carol": {Name: "carol", Email: "carol@example.com"},
			"dana":  {Name: "dana", Email: "dana@example.com"},
		},
		Rotations: map[string]Rotation{
			"primary":   {Name: "primary", People: []string{"alice", "bob"}, Start: t0.Add(-time.Hour), Shift: 168 * time.Hour},
			"secondary": {Name: "secondary", People: []string{"carol"}, Start: t0.Add(-time.Hour), Shift: 168 * time.Hour},
		},
		Escalations: map[string]Escalation{
			"default": {Name: "default", Repeat: 1, AckTimeout: 30 * time.Minute, Levels: []Level{
				{Notify: []string{"rotation:primary"}, Wait: 5 * time.Minute},
				{Notify: []string{"rotation:secondary", "person:dana"}, Wait: 10 * time.Minute},
			}},
		},
		Rules: []Rule{
			{Name: "web-warn", On: []string{"warn"}, Hosts: []string{"web-*"}, Escalation: "default", Group: 30 * time.Second, Urgency: "low"},
			{Name: "default", On: []string{"crit", "down", "silent", "alert"}, Hosts: []string{"*"}, Services: []string{"*"}, Escalation: "default", Group: 30 * time.Second, Urgency: "high"},
		},
		Components: []Component{{ID: "web", Hosts: []string{"web-*"}}},
	}
}

// apply journals pages as the hub does: what the engine proposes is
// observed back.
func apply(e *Engine, ps []protocol.Page) {
	for i := range ps {
		e.Observe(&protocol.PageMsg{Page: ps[i]})
	}
}

// send journals each due notification as sending then delivered.
func send(e *Engine, now time.Time) []string {
	var who []string
	for _, n := range e.Due(now) {
		s := n.Notify
		s.Outcome = protocol.NotifySending
		e.Observe(&protocol.Entry{Kind: protocol.EntryPage, Page: n.Page, Notify: &s})
		s.Outcome = protocol.DeliveryDelivered
		e.Observe(&protocol.Entry{Kind: protocol.EntryPage, Page: n.Page, Notify: &s})
		if p, ok := e.Sent(n, now, "250 accepted"); ok {
			apply(e, []protocol.Page{p})
		}
		who = append(who, n.Kind+":"+n.Person+":"+n.Via)
	}
	return who
}

func TestRuleMatching(t *testing.T) {
	rules := testConfig().Rules
	for _, c := range []struct {
		ev   Event
		rule string
	}{
		{Event{What: "warn", Host: "web-3"}, "web-warn"},
		{Event{What: "warn", Host: "db-1"}, ""},
		{Event{What: "down", Host: "db-1", Service: "mysql"}, "default"},
		{Event{What: "crit", Host: "web-3"}, "default"},
		{Event{What: "expiry", Host: "web-3"}, ""},
	} {
		r, ok := Match(rules, c.ev)
		if got := map[bool]string{true: r.Name, false: ""}[ok]; got != c.rule {
			t.Errorf("%+v: rule %q, want %q", c.ev, got, c.rule)
		}
	}
	// Services globs: a rule for exim only never takes a load event.
	exim := Rule{On: []string{"down", "crit"}, Services: []string{"exim*"}}
	if exim.Matches(Event{What: "crit", Host: "a"}) || !exim.Matches(Event{What: "down", Host: "a", Service: "exim4"}) || exim.Matches(Event{What: "down", Host: "a", Service: "nginx"}) {
		t.Error("services globs misapplied")
	}
}

func TestEscalationGroupingAndAck(t *testing.T) {
	e := New(testConfig())
	apply(e, e.Event(Event{At: t0, What: "down", Host: "shared-04", Service: "exim", Text: "refused"}, t0))
	// Within group a second event joins the page instead of opening one.
	apply(e, e.Event(Event{What: "crit", Host: "shared-04"}, t0.Add(10*time.Second)))
	if ps := e.Pages(); len(ps) != 1 || len(ps[0].Events) != 2 || ps[0].Title != "shared-04: exim down, load crit" {
		t.Fatalf("pages %+v", ps)
	}
	if got := send(e, t0.Add(29*time.Second)); len(got) != 0 {
		t.Fatalf("notified inside the group window: %v", got)
	}
	if got := send(e, t0.Add(30*time.Second)); !slices.Equal(got, []string{"page:alice:email"}) {
		t.Fatalf("level 1: %v", got)
	}
	if got := send(e, t0.Add(31*time.Second)); len(got) != 0 {
		t.Fatalf("sent twice: %v", got)
	}
	// Five minutes after the group: level 2.
	if ps := e.Tick(t0.Add(5*time.Minute + 29*time.Second)); len(ps) != 0 {
		t.Fatal("escalated early")
	}
	ps := e.Tick(t0.Add(5*time.Minute + 30*time.Second))
	if len(ps) != 1 || ps[0].Level != 2 || !ps[0].NextAt.Equal(t0.Add(15*time.Minute+30*time.Second)) {
		t.Fatalf("level 2: %+v", ps)
	}
	apply(e, ps)
	if got := send(e, t0.Add(5*time.Minute+31*time.Second)); !slices.Equal(got, []string{"page:carol:email", "page:dana:email"}) {
		t.Fatalf("level 2 notified %v", got)
	}
	// Ack stops escalation; an event joining later is told to the acker once.
	p, ref := e.Ack("PG-1", "carol", t0.Add(6*time.Minute))
	if ref != nil || p.Status != protocol.PageAcknowledged || !p.NextAt.Equal(t0.Add(36*time.Minute)) {
		t.Fatalf("ack %+v %v", p, ref)
	}
	apply(e, []protocol.Page{p})
	if _, ref := e.Ack("PG-1", "carol", t0.Add(6*time.Minute)); ref == nil || ref.Code != protocol.CodeConflict {
		t.Fatal("second ack by the same person accepted")
	}
	if ps := e.Tick(t0.Add(20 * time.Minute)); len(ps) != 0 {
		t.Fatal("an acknowledged page escalated")
	}
	apply(e, e.Event(Event{What: "down", Host: "shared-04", Service: "imap"}, t0.Add(7*time.Minute)))
	apply(e, e.Event(Event{What: "down", Host: "shared-04", Service: "pop3"}, t0.Add(7*time.Minute)))
	if got := send(e, t0.Add(8*time.Minute)); !slices.Equal(got, []string{"update:carol:email"}) {
		t.Fatalf("acker update: %v", got)
	}
	// Ack timeout: pages again, from level 1, a new round.
	ps = e.Tick(t0.Add(36 * time.Minute))
	if len(ps) != 1 || ps[0].Status != protocol.PageTriggered || ps[0].Level != 1 || ps[0].Round != 1 {
		t.Fatalf("ack timeout: %+v", ps)
	}
	apply(e, ps)
	if got := send(e, t0.Add(36*time.Minute)); !slices.Equal(got, []string{"page:alice:email"}) {
		t.Fatalf("after ack timeout: %v", got)
	}
	// Every event clears: resolved by itself, and everyone paged is told.
	for _, ev := range []Event{{What: "down", Host: "shared-04", Service: "exim"}, {What: "crit", Host: "shared-04"}, {What: "down", Host: "shared-04", Service: "imap"}} {
		ev.Clear = true
		apply(e, e.Event(ev, t0.Add(40*time.Minute)))
	}
	if p, _ := e.Page("PG-1"); p.Status != protocol.PageTriggered {
		t.Fatal("resolved with pop3 still down")
	}
	apply(e, e.Event(Event{What: "down", Host: "shared-04", Service: "pop3", Clear: true}, t0.Add(41*time.Minute)))
	if p, _ := e.Page("PG-1"); p.Status != protocol.PageResolved {
		t.Fatalf("not resolved: %+v", p)
	}
	if got := send(e, t0.Add(41*time.Minute)); !slices.Equal(got, []string{"resolved:alice:email", "resolved:carol:email", "resolved:dana:email"}) {
		t.Fatalf("resolution told to %v", got)
	}
}

func TestRepeatAndExhaustion(t *testing.T) {
	e := New(testConfig())
	apply(e, e.Event(Event{What: "down", Host: "h", Service: "s"}, t0))
	var levels [][2]int
	now := t0
	for range 6 {
		ps := e.Tick(now.Add(time.Hour))
		if len(ps) == 0 {
			break
		}
		apply(e, ps)
		levels = append(levels, [2]int{ps[0].Level, ps[0].Round})
		if ps[0].NextAt == nil {
			break
		}
		now = ps[0].NextAt.Time.Add(-time.Hour)
	}
	want := [][2]int{{2, 0}, {1, 1}, {2, 1}}
	if !slices.Equal(levels[:3], want) || len(levels) != 4 {
		t.Fatalf("levels %v, want %v then the end", levels, want)
	}
	if p, _ := e.Page("PG-1"); p.NextAt != nil || p.Level != 2 || p.Round != 1 {
		t.Fatalf("exhausted page %+v", p)
	}
}

func TestLowUrgencyNotifiesOnce(t *testing.T) {
	e := New(testConfig())
	apply(e, e.Event(Event{What: "warn", Host: "web-1"}, t0))
	p, _ := e.Page("PG-1")
	if p.Urgency != "low" || p.NextAt != nil {
		t.Fatalf("%+v", p)
	}
	if got := send(e, t0.Add(time.Minute)); !slices.Equal(got, []string{"page:alice:email"}) {
		t.Fatal(got)
	}
	if ps := e.Tick(t0.Add(24 * time.Hour)); len(ps) != 0 {
		t.Fatal("a low urgency page escalated")
	}
}

// A hub that journaled "sending" and died sends again with the same
// identity; one that journaled the outcome never does.
func TestRebuiltFromJournal(t *testing.T) {
	e := New(testConfig())
	apply(e, e.Event(Event{What: "down", Host: "h", Service: "s"}, t0))
	due := e.Due(t0.Add(time.Minute))
	if len(due) != 1 {
		t.Fatal(due)
	}
	sending := due[0].Notify
	sending.Outcome = protocol.NotifySending
	journal := []protocol.Message{}
	for _, p := range e.Pages() {
		journal = append(journal, &protocol.PageMsg{Page: p})
	}
	journal = append(journal, &protocol.Entry{Kind: protocol.EntryPage, Page: "PG-1", Notify: &sending})

	restarted := New(testConfig())
	for _, m := range journal {
		restarted.Observe(m)
	}
	again := restarted.Due(t0.Add(2 * time.Minute))
	if len(again) != 1 || again[0].ID() != due[0].ID() {
		t.Fatalf("after a crash mid-send: %+v", again)
	}
	done := sending
	done.Outcome = protocol.DeliveryDelivered
	restarted.Observe(&protocol.Entry{Kind: protocol.EntryPage, Page: "PG-1", Notify: &done})
	if n := restarted.Due(t0.Add(3 * time.Minute)); len(n) != 0 {
		t.Fatalf("sent after delivered: %+v", n)
	}
	// The next level fires on the journaled schedule.
	ps := restarted.Tick(t0.Add(5*time.Minute + 30*time.Second))
	if len(ps) != 1 || ps[0].Level != 2 || !ps[0].LevelAt.Equal(t0.Add(5*time.Minute+30*time.Second)) {
		t.Fatalf("%+v", ps)
	}
	// A new page after the restart continues the numbering.
	ps = restarted.Event(Event{What: "down", Host: "other", Service: "x"}, t0.Add(time.Hour))
	if len(ps) != 1 || ps[0].ID != "PG-1" || len(ps[0].Events) != 2 {
		t.Fatalf("joins the open page of its rule: %+v", ps)
	}
}

func TestRetryWaitsForNextTry(t *testing.T) {
	e := New(testConfig())
	apply(e, e.Event(Event{What: "down", Host: "h", Service: "s"}, t0))
	n := e.Due(t0.Add(time.Minute))[0]
	st := n.Notify
	st.Outcome, st.Attempt, st.NextTry = protocol.DeliveryRetrying, 1, protocol.TimePtr(t0.Add(2*time.Minute))
	e.Observe(&protocol.Entry{Kind: protocol.EntryPage, Page: "PG-1", Notify: &st})
	if d := e.Due(t0.Add(90 * time.Second)); len(d) != 0 {
		t.Fatal("retried early")
	}
	if d := e.Due(t0.Add(2 * time.Minute)); len(d) != 1 || d[0].Attempt != 1 {
		t.Fatalf("%+v", d)
	}
}

func TestSilencesAndMaintenance(t *testing.T) {
	e := New(testConfig())
	s, ref := e.NewSilence([]string{"db-*"}, nil, t0.Add(time.Hour), "disk swap", "carol", t0)
	if ref != nil {
		t.Fatal(ref)
	}
	e.Observe(&protocol.Entry{Kind: protocol.EntrySystem, Silence: &s})
	if ps := e.Event(Event{What: "down", Host: "db-1", Service: "mysql"}, t0.Add(time.Minute)); len(ps) != 0 {
		t.Fatal("a silenced host paged")
	}
	if ps := e.Event(Event{What: "down", Host: "db-2", Service: "mysql"}, t0.Add(time.Minute)); len(ps) != 0 {
		t.Fatal("a silenced host paged")
	}
	apply(e, e.Event(Event{What: "down", Host: "db-2", Service: "mysql", Clear: true}, t0.Add(2*time.Minute)))
	if ev := e.Released(t0.Add(59 * time.Minute)); len(ev) != 0 {
		t.Fatal("released while silenced")
	}
	// The silence ends: what still fires (db-1, not the cleared db-2) pages.
	ev := e.Released(t0.Add(time.Hour))
	if len(ev) != 1 || ev[0].Host != "db-1" {
		t.Fatalf("released %+v", ev)
	}
	if ps := e.Event(ev[0], t0.Add(time.Hour)); len(ps) != 1 {
		t.Fatal("the still-firing event did not page")
	}
	// A maintenance window in progress silences its component's hosts.
	start, end := t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	e.Observe(&protocol.IncidentMsg{Incident: protocol.Incident{ID: "INC-2", Kind: "maintenance", Status: "investigating",
		ScheduledStart: &protocol.Time{Time: start}, ScheduledEnd: &protocol.Time{Time: end}, Components: []string{"web"}}})
	web := Event{What: "down", Host: "web-3", Service: "nginx"}
	for _, c := range []struct {
		at   time.Time
		want bool
	}{{start.Add(-time.Minute), false}, {start, true}, {end.Add(-time.Second), true}, {end, false}} {
		if got := e.Silenced(web, c.at); got != c.want {
			t.Errorf("maintenance at %s: silenced %v, want %v", c.at, got, c.want)
		}
	}
	if e.Silenced(Event{What: "down", Host: "db-9", Service: "x"}, start) {
		t.Error("maintenance silenced a host outside its component")
	}
}

// A resolution is told to whoever was paged even when a silence now
// covers the host.
func TestResolutionNeverSilenced(t *testing.T) {
	e := New(testConfig())
	apply(e, e.Event(Event{What: "down", Host: "db-1", Service: "mysql"}, t0))
	send(e, t0.Add(time.Minute))
	s, _ := e.NewSilence([]string{"db-*"}, nil, t0.Add(time.Hour), "", "carol", t0.Add(2*time.Minute))
	e.Observe(&protocol.Entry{Kind: protocol.EntrySystem, Silence: &s})
	apply(e, e.Event(Event{What: "down", Host: "db-1", Service: "mysql", Clear: true}, t0.Add(3*time.Minute)))
	if got := send(e, t0.Add(3*time.Minute)); !slices.Equal(got, []string{"resolved:alice:email"}) {
		t.Fatalf("resolution: %v", got)
	}
}

func TestCommandsRefuse(t *testing.T) {
	e := New(testConfig())
	for _, c := range []struct {
		name string
		ref  *Refusal
		code string
	}{
		{"ack unknown", second(e.Ack("PG-9", "alice", t0)), protocol.CodeNotFound},
		{"summon nobody", second(e.Summon("person:zed", "x", "", "alice", t0)), protocol.CodeNotFound},
		{"summon bad who", second(e.Summon("zed", "x", "", "alice", t0)), protocol.CodeInvalid},
		{"summon no text", second(e.Summon("person:dana", " ", "", "alice", t0)), protocol.CodeInvalid},
		{"silence past", second(e.NewSilence([]string{"*"}, nil, t0, "", "a", t0)), protocol.CodeInvalid},
		{"silence bad glob", second(e.NewSilence([]string{"[x"}, nil, t0.Add(time.Hour), "", "a", t0)), protocol.CodeInvalid},
		{"override unknown rotation", second(e.NewOverride("tertiary", "alice", t0, t0.Add(time.Hour))), protocol.CodeNotFound},
		{"override backwards", second(e.NewOverride("primary", "alice", t0, t0)), protocol.CodeInvalid},
	} {
		if c.ref == nil || c.ref.Code != c.code {
			t.Errorf("%s: %v, want %s", c.name, c.ref, c.code)
		}
	}
	p, ref := e.Summon("rotation:secondary", "need a DBA", "INC-1", "alice", t0)
	if ref != nil || p.Escalation != "rotation:secondary" || *p.Incident != "INC-1" {
		t.Fatalf("%+v %v", p, ref)
	}
	apply(e, []protocol.Page{p})
	if got := send(e, t0); !slices.Equal(got, []string{"page:carol:email"}) {
		t.Fatalf("summon notified %v", got)
	}
	r, _ := e.ResolveByHand(p.ID, t0)
	apply(e, []protocol.Page{r})
	if _, ref := e.Ack(p.ID, "carol", t0); ref == nil || ref.Code != protocol.CodeConflict {
		t.Fatal("acked a resolved page")
	}
}

func second[T any](_ T, r *Refusal) *Refusal { return r }

func TestHandoffPages(t *testing.T) {
	cfg := testConfig()
	e := New(cfg)
	h := t0.Add(167 * time.Hour) // alice → bob
	if ps := e.Handoffs(h.Add(-time.Second)); len(ps) != 0 {
		t.Fatalf("before the handoff: %+v", ps)
	}
	ps := e.Handoffs(h.Add(time.Minute))
	if len(ps) != 1 || ps[0].Escalation != "person:bob,person:alice" {
		t.Fatalf("%+v", ps)
	}
	apply(e, ps)
	if again := e.Handoffs(h.Add(2 * time.Minute)); len(again) != 0 {
		t.Fatal("a second handoff page")
	}
	if got := send(e, h.Add(time.Minute)); !slices.Equal(got, []string{"page:bob:email", "page:bob:bob-phone"}) {
		t.Fatal(got)
	}
	// Unacknowledged after 15 minutes, the outgoing person is told.
	apply(e, e.Tick(h.Add(16*time.Minute)))
	if got := send(e, h.Add(16*time.Minute)); !slices.Equal(got, []string{"page:alice:email"}) {
		t.Fatal(got)
	}
	// A hub down past the window raises no stale handoff page.
	if ps := New(cfg).Handoffs(h.Add(HandoffWindow + time.Second)); len(ps) != 0 {
		t.Fatal("stale handoff page")
	}
}

func TestOncallFrame(t *testing.T) {
	e := New(testConfig())
	s, _ := e.NewSilence([]string{"web-*"}, nil, t0.Add(time.Hour), "swap", "carol", t0)
	e.Observe(&protocol.Entry{Kind: protocol.EntrySystem, Silence: &s})
	e.Observe(&protocol.Entry{Kind: protocol.EntrySystem, Override: &protocol.Override{Rotation: "primary", Person: "dana", From: protocol.At(t0), Until: protocol.At(t0.Add(2 * time.Hour))}})
	o := e.OnCall(t0.Add(time.Minute))
	if len(o.Rotations) != 2 || o.Rotations[0].Now != "dana" || !o.Rotations[0].Until.Equal(t0.Add(2*time.Hour)) || o.Rotations[0].Next != "alice" {
		t.Fatalf("%+v", o.Rotations)
	}
	if len(o.Silences) != 1 || o.Silences[0].ID != "SIL-1" {
		t.Fatalf("%+v", o.Silences)
	}
	if o := e.OnCall(t0.Add(2 * time.Hour)); len(o.Silences) != 0 || o.Rotations[0].Now != "alice" {
		t.Fatalf("%+v", o)
	}
}

func TestWriteOncall(t *testing.T) {
	cfg := testConfig()
	cfg.Rotations["primary"] = Rotation{Name: "primary", People: []string{"alice", "bob"}, Start: t0.Add(-time.Hour), Shift: 168 * time.Hour}
	e := New(cfg)
	var b strings.Builder
	if err := WriteOncall(&b, e.OnCall(t0), t0, time.UTC); err != nil {
		t.Fatal(err)
	}
	want := "primary: alice is on call until Sun 2026-11-29 01:11 UTC (in 6d23h), then bob\n" +
		"  Sun 2026-11-29 01:11 UTC  alice → bob\n" +
		"  Sun 2026-12-06 01:11 UTC  bob → alice\n" +
		"secondary: carol is on call until Sun 2026-11-29 01:11 UTC (in 6d23h), then carol\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestAFloodIsOnePageOfBoundedSize(t *testing.T) {
	e := New(testConfig())
	for i := range 1000 {
		apply(e, e.Event(Event{What: "down", Host: fmt.Sprintf("h-%d", i), Service: "s"}, t0.Add(time.Duration(i)*time.Millisecond)))
	}
	ps := e.Pages()
	if len(ps) != 1 || len(ps[0].Events) != MaxPageEvents || ps[0].MoreEvents != 1000-MaxPageEvents {
		t.Fatalf("%d pages, %d events, %d more", len(ps), len(ps[0].Events), ps[0].MoreEvents)
	}
	if n := len(protocol.MustEncode(&protocol.PageMsg{Page: ps[0]})); n > 64<<10 {
		t.Fatalf("page frame of %d bytes", n)
	}
}

// BenchmarkFloodEvent: one more service down joining a page that already
// lists its 100 events: the hub's cost per event in a flood.
func BenchmarkFloodEvent(b *testing.B) {
	e := New(testConfig())
	for i := range MaxPageEvents {
		apply(e, e.Event(Event{What: "down", Host: fmt.Sprintf("h-%d", i), Service: "s"}, t0))
	}
	i := 0
	for b.Loop() {
		i++
		apply(e, e.Event(Event{What: "down", Host: fmt.Sprintf("x-%d", i), Service: "s"}, t0))
	}
}

func TestPageNamesWhomItEscalatesToNext(t *testing.T) {
	e := New(testConfig())
	apply(e, e.Event(Event{What: "down", Host: "h", Service: "s"}, t0))
	p, _ := e.Page("PG-1")
	if !slices.Equal(p.Next, []string{"carol", "dana"}) {
		t.Fatalf("next %v", p.Next)
	}
	apply(e, e.Tick(t0.Add(time.Hour)))
	if p, _ := e.Page("PG-1"); !slices.Equal(p.Next, []string{"alice"}) || p.Level != 2 {
		t.Fatalf("at level 2, next %v", p.Next)
	}
	a, _ := e.Ack("PG-1", "carol", t0.Add(time.Hour))
	if a.Next != nil {
		t.Fatal("an acknowledged page names a next")
	}
}

// A new paging hub of a cluster raises again what stands unless a page
// lists it: open, or resolved by hand while it stood; a cleared problem
// that comes back pages again.
func TestListsWhatAPageHolds(t *testing.T) {
	e := New(testConfig())
	exim := Event{At: t0, What: "down", Host: "shared-04", Service: "exim"}
	mysql := Event{At: t0, What: "down", Host: "db-1", Service: "mysql"}
	if e.Lists(exim) {
		t.Fatal("lists a problem no page holds")
	}
	apply(e, e.Event(exim, t0))
	if !e.Lists(exim) || e.Lists(mysql) {
		t.Fatalf("Lists(exim) %v, Lists(mysql) %v: want true, false", e.Lists(exim), e.Lists(mysql))
	}
	pg, ref := e.ResolveByHand("PG-1", t0.Add(time.Minute))
	if ref != nil {
		t.Fatal(ref)
	}
	apply(e, []protocol.Page{pg})
	if !e.Lists(exim) {
		t.Error("a page resolved by hand while exim stood down no longer lists it")
	}
	cleared := exim
	cleared.Clear = true
	apply(e, e.Event(cleared, t0.Add(2*time.Minute)))
	again := exim
	again.At = t0.Add(3 * time.Minute)
	if e.Lists(again) {
		t.Error("lists exim down again after it cleared, as if the page resolved by hand held it")
	}
	apply(e, e.Event(again, again.At))
	if !e.Lists(again) {
		t.Error("the page opened for exim down again does not list it")
	}
}
