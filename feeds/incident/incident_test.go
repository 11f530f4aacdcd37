package incident

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

var t0 = time.Date(2026, 11, 22, 2, 14, 0, 0, time.UTC)

func boolp(b bool) *bool { return &b }

func declare(t *testing.T, kind string) protocol.Incident {
	t.Helper()
	inc, entries, ref := Defaults().Declare("INC-1", protocol.Command{Op: "declare", Actor: "alice", Title: "Mail down on web-3", Severity: "SEV2", Kind: kind}, t0)
	if ref != nil {
		t.Fatal(ref)
	}
	if len(entries) != 1 || entries[0].Kind != protocol.EntryStatus {
		t.Fatalf("entries = %+v", entries)
	}
	return inc
}

func TestDefaultStepIDsAreTheContract(t *testing.T) {
	want := map[string]string{
		"outage":      "ack status-page email-customers social escalate updates answer-messages resolved-notice root-cause postmortem make-right debrief",
		"maintenance": "announce-week announce-day channels start-notice complete-notice follow-up",
		"security":    "contain ack status-page email-customers social escalate updates answer-messages resolved-notice root-cause postmortem make-right debrief rotate-credentials legal-notice",
	}
	for kind, ids := range want {
		var got []string
		for _, s := range Defaults()[kind].Steps {
			got = append(got, s.ID)
		}
		if strings.Join(got, " ") != ids {
			t.Errorf("%s: got %v", kind, got)
		}
	}
}

func TestDeclareRefusals(t *testing.T) {
	tests := []struct {
		name string
		cmd  protocol.Command
		code string
	}{
		{"no title", protocol.Command{Severity: "SEV1", Kind: "outage"}, protocol.CodeInvalid},
		{"bad severity", protocol.Command{Title: "x", Severity: "SEV9", Kind: "outage"}, protocol.CodeInvalid},
		{"unknown runbook", protocol.Command{Title: "x", Severity: "SEV1", Kind: "party"}, protocol.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, ref := Defaults().Declare("I", tt.cmd, t0)
			if ref == nil || ref.Code != tt.code {
				t.Fatalf("got %v, want %s", ref, tt.code)
			}
		})
	}
}

func TestApply(t *testing.T) {
	inc := declare(t, "outage")
	ticked, _, _, ref := Apply(inc, protocol.Command{Op: "check", Actor: "bob", Item: "ack", Done: boolp(true)}, t0.Add(time.Minute))
	if ref != nil {
		t.Fatal(ref)
	}
	tests := []struct {
		name    string
		inc     protocol.Incident
		cmd     protocol.Command
		code    string // empty: applied
		changed bool
		text    string
	}{
		{"note", inc, protocol.Command{Op: "note", Text: " rebooting exim "}, "", false, "rebooting exim"},
		{"empty note", inc, protocol.Command{Op: "note", Text: "  "}, protocol.CodeInvalid, false, ""},
		{"status", inc, protocol.Command{Op: "status", Status: "identified"}, "", true, "status: investigating → identified"},
		{"same status", inc, protocol.Command{Op: "status", Status: "investigating"}, protocol.CodeConflict, false, ""},
		{"bad status", inc, protocol.Command{Op: "status", Status: "panicking"}, protocol.CodeInvalid, false, ""},
		{"tick", inc, protocol.Command{Op: "check", Item: "ack", Done: boolp(true)}, "", true, "ticked: Acknowledge and take ownership"},
		{"tick twice", ticked, protocol.Command{Op: "check", Item: "ack", Done: boolp(true)}, protocol.CodeConflict, false, ""},
		{"untick", ticked, protocol.Command{Op: "check", Item: "ack", Done: boolp(false)}, "", true, "unticked: Acknowledge and take ownership"},
		{"untick undone", inc, protocol.Command{Op: "check", Item: "ack", Done: boolp(false)}, protocol.CodeConflict, false, ""},
		{"tick unknown step", inc, protocol.Command{Op: "check", Item: "pray", Done: boolp(true)}, protocol.CodeNotFound, false, ""},
		{"tick without done", inc, protocol.Command{Op: "check", Item: "ack"}, protocol.CodeInvalid, false, ""},
		{"recurring", inc, protocol.Command{Op: "check", Item: "updates", Done: boolp(true)}, "", true, "ticked: Post a progress update (#1)"},
		{"update", inc, protocol.Command{Op: "update", Severity: "SEV1", Commander: "bob"}, "", true, "updated severity SEV2 → SEV1, commander alice → bob"},
		{"update nothing", inc, protocol.Command{Op: "update", Severity: "SEV2"}, protocol.CodeInvalid, false, ""},
		{"update bad severity", inc, protocol.Command{Op: "update", Severity: "high"}, protocol.CodeInvalid, false, ""},
		{"unknown op", inc, protocol.Command{Op: "reboot"}, protocol.CodeInvalid, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.inc.Clone()
			_, changed, entries, ref := Apply(tt.inc, tt.cmd, t0.Add(2*time.Minute))
			if tt.code != "" {
				if ref == nil || ref.Code != tt.code {
					t.Fatalf("refusal = %v, want %s", ref, tt.code)
				}
				return
			}
			if ref != nil {
				t.Fatal(ref)
			}
			if changed != tt.changed || len(entries) != 1 || entries[0].Text != tt.text {
				t.Fatalf("changed=%v entries=%+v", changed, entries)
			}
			if before.Checklist[0].Done() != tt.inc.Checklist[0].Done() {
				t.Fatal("Apply modified its input")
			}
		})
	}
}

func TestResolveSetsResolvedAt(t *testing.T) {
	inc := declare(t, "outage")
	res, _, _, _ := Apply(inc, protocol.Command{Op: "status", Status: "resolved"}, t0.Add(time.Hour))
	if res.ResolvedAt == nil || !res.ResolvedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("resolved_at = %v", res.ResolvedAt)
	}
	back, _, _, _ := Apply(res, protocol.Command{Op: "status", Status: "monitoring"}, t0.Add(2*time.Hour))
	if back.ResolvedAt != nil {
		t.Fatal("reopening should clear resolved_at")
	}
}

func item(inc *protocol.Incident, id string) *protocol.Item {
	for i := range inc.Checklist {
		if inc.Checklist[i].ID == id {
			return &inc.Checklist[i]
		}
	}
	panic(id)
}

func TestStepStatus(t *testing.T) {
	open := declare(t, "outage")
	updatesDone, _, _, _ := Apply(open, protocol.Command{Op: "check", Item: "updates", Done: boolp(true)}, t0.Add(20*time.Minute))
	resolved, _, _, _ := Apply(open, protocol.Command{Op: "status", Status: "resolved"}, t0.Add(time.Hour))
	mt, _, _ := Defaults().Declare("M", protocol.Command{Title: "Kernel upgrade", Severity: "SEV4", Kind: "maintenance",
		ScheduledStart: protocol.TimePtr(t0.Add(10 * 24 * time.Hour))}, t0)
	soon, _, _ := Defaults().Declare("M2", protocol.Command{Title: "Kernel upgrade", Severity: "SEV4", Kind: "maintenance",
		ScheduledStart: protocol.TimePtr(t0.Add(48 * time.Hour))}, t0)
	tests := []struct {
		name  string
		inc   protocol.Incident
		item  string
		now   time.Duration
		state StepState
		due   time.Duration // from t0; -1 for none
	}{
		{"ack due in", open, "ack", time.Minute, StepDueIn, 5 * time.Minute},
		{"ack overdue", open, "ack", 6 * time.Minute, StepOverdue, 5 * time.Minute},
		{"no deadline", open, "root-cause", time.Hour, StepOpen, -1},
		{"after resolved waits", open, "postmortem", time.Hour, StepWaiting, -1},
		{"after resolved counts", resolved, "postmortem", 2 * time.Hour, StepDueIn, time.Hour + 72*time.Hour},
		{"recurring first due", open, "updates", time.Minute, StepDueIn, 30 * time.Minute},
		{"recurring done", updatesDone, "updates", 25 * time.Minute, StepDone, 50 * time.Minute},
		{"recurring due again", updatesDone, "updates", 51 * time.Minute, StepOverdue, 50 * time.Minute},
		{"maintenance week ahead", mt, "announce-week", time.Hour, StepDueIn, 3 * 24 * time.Hour},
		{"maintenance week missed", mt, "announce-week", 4 * 24 * time.Hour, StepOverdue, 3 * 24 * time.Hour},
		{"declared after the week-ahead mark: not overdue", soon, "announce-week", 0, StepOpen, -1},
		{"declared 2 days ahead: the day-ahead still due", soon, "announce-day", 0, StepDueIn, 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := StepStatus(&tt.inc, item(&tt.inc, tt.item), t0.Add(tt.now))
			if st.State != tt.state {
				t.Fatalf("state = %v, want %v", st.State, tt.state)
			}
			if tt.due < 0 && !st.DueAt.IsZero() || tt.due >= 0 && !st.DueAt.Equal(t0.Add(tt.due)) {
				t.Fatalf("due = %v, want t0+%v", st.DueAt, tt.due)
			}
		})
	}
}

func TestNextDueAndProgress(t *testing.T) {
	inc := declare(t, "outage")
	it, st, ok := NextDue(&inc, t0.Add(time.Minute))
	if !ok || it.ID != "ack" || st.State != StepDueIn {
		t.Fatalf("next = %v %+v", it, st)
	}
	done, total := Progress(&inc)
	if done != 0 || total != 8 {
		t.Fatalf("progress %d/%d", done, total)
	}
}

func TestLateness(t *testing.T) {
	inc := declare(t, "outage")
	late, _, _, _ := Apply(inc, protocol.Command{Op: "check", Item: "status-page", Done: boolp(true)}, t0.Add(22*time.Minute))
	if got := Lateness(&late, item(&late, "status-page")); got != 7*time.Minute {
		t.Fatalf("lateness = %v", got)
	}
}

// A maintenance declared 48 hours ahead could not announce itself a
// week ahead: that step is neither overdue nor, once done, late.
func TestDeclaredAfterTheDeadline(t *testing.T) {
	soon, _, _ := Defaults().Declare("M", protocol.Command{Title: "Kernel upgrade", Severity: "SEV4", Kind: "maintenance",
		ScheduledStart: protocol.TimePtr(t0.Add(48 * time.Hour))}, t0)
	week := item(&soon, "announce-week")
	if st := StepStatus(&soon, week, t0); st.State == StepOverdue || !st.PassedAtDeclare {
		t.Fatalf("week-ahead step: %+v", st)
	}
	if !PassedAtDeclare(&soon, week) || PassedAtDeclare(&soon, item(&soon, "announce-day")) {
		t.Fatal("PassedAtDeclare wrong")
	}
	// "+168h" read by the form a second before the hub opened it: the
	// week-ahead notice is due as it is declared, not passed.
	weekAhead, _, _ := Defaults().Declare("M3", protocol.Command{Title: "Kernel upgrade", Severity: "SEV4", Kind: "maintenance",
		ScheduledStart: protocol.TimePtr(t0.Add(168*time.Hour - time.Second))}, t0)
	if st := StepStatus(&weekAhead, item(&weekAhead, "announce-week"), t0.Add(time.Minute)); st.PassedAtDeclare || st.State != StepOverdue || !st.DueAt.Equal(t0.Add(-time.Second)) {
		t.Fatalf("a week ahead to the second: %+v", st)
	}
	if _, st, ok := NextDue(&soon, t0); !ok || !st.DueAt.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("next due %+v", st)
	}
	done, _, _, _ := Apply(soon, protocol.Command{Op: "check", Item: "announce-week", Done: boolp(true)}, t0.Add(10*time.Minute))
	if got := Lateness(&done, item(&done, "announce-week")); got != 0 {
		t.Fatalf("lateness = %v, want 0", got)
	}
	for _, tt := range []struct {
		ahead time.Duration
		want  string
	}{{48 * time.Hour, "declared 2 days ahead"}, {47 * time.Hour, "declared 2 days ahead"}, {30 * time.Hour, "declared 1 day ahead"},
		{5 * time.Hour, "declared 5 hours ahead"}, {-time.Hour, ""}} {
		in := soon.Clone()
		in.ScheduledStart = protocol.TimePtr(t0.Add(tt.ahead))
		if got := DeclaredAhead(&in); got != tt.want {
			t.Errorf("DeclaredAhead(%v) = %q, want %q", tt.ahead, got, tt.want)
		}
	}
}

func TestMerge(t *testing.T) {
	b := Defaults()
	five := 5 * time.Minute
	if err := b.Merge("outage", []Step{{ID: "ack", Title: "Page the owner", Due: &five}, {ID: "war-room", Title: "Open the war room"}}, false); err != nil {
		t.Fatal(err)
	}
	steps := b["outage"].Steps
	if steps[0].Title != "Page the owner" || steps[len(steps)-1].ID != "war-room" {
		t.Fatalf("merge: %+v", steps)
	}
	if err := b.Merge("db", []Step{{ID: "a"}, {ID: "a"}}, true); err == nil {
		t.Fatal("duplicate step ids accepted")
	}
}

var publicComponents = []protocol.Component{{ID: "mail", Name: "Mail"}, {ID: "web", Name: "Web hosting"}}

func TestDraftGolden(t *testing.T) {
	inc := declare(t, "outage")
	inc.Components = []string{"mail"}
	env := DraftEnv{
		Affected:   []Affected{{Host: "web-3", Service: "exim", Since: t0.Add(-3 * time.Minute)}, {Host: "web-3", Service: "dovecot", Since: t0.Add(-time.Minute)}},
		Components: publicComponents,
		Support:    "support@example.com, +1 555 0100",
		Zone:       time.FixedZone("CET", 3600),
		Now:        t0.Add(10 * time.Minute),
	}
	for _, id := range []string{"status-page", "email-customers", "updates"} {
		t.Run("outage-"+id, func(t *testing.T) {
			text, ok, err := Draft(&inc, item(&inc, id), env)
			if err != nil || !ok {
				t.Fatalf("%s: ok=%v err=%v", id, ok, err)
			}
			golden.RequireEqual(t, text)
		})
	}
	mt, _, _ := Defaults().Declare("M", protocol.Command{Title: "Kernel upgrade", Severity: "SEV4", Kind: "maintenance",
		ScheduledStart: protocol.TimePtr(t0.Add(10 * 24 * time.Hour))}, t0)
	mt.ScheduledEnd = protocol.TimePtr(t0.Add(10*24*time.Hour + 90*time.Minute))
	mt.Components = []string{"web", "mail"}
	t.Run("maintenance-announce-week", func(t *testing.T) {
		text, _, err := Draft(&mt, item(&mt, "announce-week"), env)
		if err != nil {
			t.Fatal(err)
		}
		golden.RequireEqual(t, text)
	})
	if _, ok, _ := Draft(&inc, item(&inc, "root-cause"), env); ok {
		t.Fatal("root-cause has no template")
	}
	bad := protocol.Item{ID: "x", Template: "{{.Nope}}"}
	if _, _, err := Draft(&inc, &bad, env); err == nil {
		t.Fatal("unknown template field accepted")
	}
}

// What customers found wrong reading the old drafts, one row each.
func TestDraftsSayTheRightThing(t *testing.T) {
	utc := time.UTC
	down := []Affected{{Host: "vm", Service: "smtp-nothere", Since: t0}}
	base := declare(t, "outage")
	base.Components = []string{"mail"}
	with := func(f func(*protocol.Incident)) protocol.Incident { in := base.Clone(); f(&in); return in }
	identified := with(func(in *protocol.Incident) { in.Status = protocol.StatusIdentified })
	loadTitle := with(func(in *protocol.Incident) { in.Title = "load 12.9 on 8 CPUs on vm" })
	resolved := with(func(in *protocol.Incident) {
		in.Status = protocol.StatusResolved
		in.ResolvedAt = protocol.TimePtr(t0.Add(95 * time.Minute))
	})
	tests := []struct {
		name     string
		inc      protocol.Incident
		step     string
		env      DraftEnv
		want     []string
		never    []string
		utcCount int // -1: not checked
	}{
		{"status matches the incident", identified, "status-page", DraftEnv{Zone: utc, Now: t0}, []string{"We have identified the cause"}, []string{"nvestigating"}, -1},
		{"public components, not checks", identified, "status-page", DraftEnv{Affected: down, Components: publicComponents, Zone: utc, Now: t0},
			[]string{"Affected: Mail."}, []string{"smtp-nothere", "vm"}, -1},
		{"email names components too", identified, "email-customers", DraftEnv{Affected: down, Components: publicComponents, Zone: utc, Now: t0},
			[]string{"  - Mail"}, []string{"smtp-nothere", " vm"}, -1},
		{"no measurements in titles", loadTitle, "status-page", DraftEnv{Affected: down, Components: publicComponents, Zone: utc, Now: t0},
			[]string{"Disruption to Mail\n"}, []string{"12.9", "CPUs", "vm"}, -1},
		{"resolution names components, not the title", resolved, "resolved-notice", DraftEnv{Components: publicComponents, Zone: utc, Now: t0.Add(2 * time.Hour)},
			[]string{"Resolved: Disruption to Mail\n"}, []string{"web-3", "Mail down"}, -1},
		{"UTC once when the reader is in UTC", identified, "status-page", DraftEnv{Zone: utc, Now: t0}, []string{"Started Sun 22 Nov 02:14 UTC."}, nil, 1},
		{"UTC once beside a local zone", identified, "status-page", DraftEnv{Zone: time.FixedZone("CET", 3600), Now: t0}, []string{"Started Sun 22 Nov 03:14 CET (02:14 UTC)."}, nil, 1},
		{"resolution while a check is down", resolved, "resolved-notice", DraftEnv{Affected: down, Components: publicComponents, Zone: utc, Now: t0.Add(2 * time.Hour)},
			[]string{"still checking", "(1 hour 35 minutes)"}, []string{"confirmed working", "smtp-nothere"}, -1},
		{"resolution when all is up", resolved, "resolved-notice", DraftEnv{Components: publicComponents, Zone: utc, Now: t0.Add(2 * time.Hour)},
			[]string{"All services are confirmed working.", "Mail: from Sun 22 Nov 02:14 UTC to 03:49"}, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, ok, err := Draft(&tt.inc, item(&tt.inc, tt.step), tt.env)
			if err != nil || !ok {
				t.Fatalf("ok=%v err=%v", ok, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("lacks %q:\n%s", w, text)
				}
			}
			for _, n := range tt.never {
				if strings.Contains(text, n) {
					t.Errorf("says %q:\n%s", n, text)
				}
			}
			if tt.utcCount >= 0 && strings.Count(text, "UTC") != tt.utcCount {
				t.Errorf("UTC appears %d times:\n%s", strings.Count(text, "UTC"), text)
			}
		})
	}
}

func TestPublicTitle(t *testing.T) {
	tests := []struct {
		kind  string
		comps []string
		want  string
	}{
		{"outage", []string{"Mail", "Web hosting"}, "Disruption to Mail and Web hosting"},
		{"outage", []string{"Mail", "Web hosting", "DNS"}, "Disruption to Mail, Web hosting and DNS"},
		{"security", []string{"Mail"}, "Disruption to Mail"},
		{"outage", nil, "Service disruption"},
		{"maintenance", []string{"Mail"}, "Scheduled maintenance of Mail"},
		{"maintenance", nil, "Scheduled maintenance"},
	}
	for _, tt := range tests {
		if got := PublicTitle(tt.kind, tt.comps); got != tt.want {
			t.Errorf("PublicTitle(%q, %q) = %q, want %q", tt.kind, tt.comps, got, tt.want)
		}
	}
}

// The responders' title names hosts and guesses; no default draft meant for
// the public carries it, whatever step, status or channel.
func TestNoDraftCarriesTheInternalTitle(t *testing.T) {
	const internal = "MySQL down on web-1, sites erroring"
	for _, kind := range []string{"outage", "security", "maintenance"} {
		cmd := protocol.Command{Op: "declare", Actor: "alice", Title: internal, Severity: "SEV1", Kind: kind}
		if kind == "maintenance" {
			cmd.ScheduledStart = protocol.TimePtr(t0.Add(48 * time.Hour))
			cmd.Severity = "SEV4"
		}
		inc, _, ref := Defaults().Declare("INC-1", cmd, t0)
		if ref != nil {
			t.Fatal(ref)
		}
		inc.Components = []string{"mail"}
		inc.Status = protocol.StatusResolved
		inc.ResolvedAt = protocol.TimePtr(t0.Add(50 * time.Hour))
		for i := range inc.Checklist {
			text, ok, err := Draft(&inc, &inc.Checklist[i], DraftEnv{Components: publicComponents, Zone: time.UTC, Now: t0})
			if err != nil {
				t.Fatal(err)
			}
			if !ok || inc.Checklist[i].ID == "debrief" { // the debrief is for the team and names what they called it
				continue
			}
			for _, leak := range []string{"MySQL", "web-1", "erroring"} {
				if strings.Contains(text, leak) {
					t.Errorf("%s/%s says %q:\n%s", kind, inc.Checklist[i].ID, leak, text)
				}
			}
		}
	}
}

// The debrief's two columns, one fact each, from an incident and its
// timeline as the journal holds them.
func TestDebriefFacts(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	tick := func(in *protocol.Incident, id string, m int) {
		it := item(in, id)
		it.DoneAt = protocol.TimePtr(at(m))
		if it.Every != nil {
			it.Count++
		}
	}
	note := func(m int, text string) protocol.Entry {
		return protocol.Entry{Incident: "INC-1", At: protocol.At(at(m)), Kind: protocol.EntryNote, Text: text}
	}
	page := func(m int) protocol.Entry {
		return protocol.Entry{Incident: "INC-1", At: protocol.At(at(m)), Kind: protocol.EntryPublish, Channels: []string{"page"}}
	}
	tests := []struct {
		name        string
		setup       func(in *protocol.Incident)
		timeline    []protocol.Entry
		wrong, well []string
	}{
		{"notice in time, root cause before the reboot",
			func(in *protocol.Incident) { tick(in, "status-page", 4); tick(in, "root-cause", 20) },
			[]protocol.Entry{page(4), note(30, "rebooted web-3")},
			nil, []string{"First public notice after 4 minutes", "within the 15 minute deadline", "before anything was rebooted"}},
		{"notice late, rebooted first",
			func(in *protocol.Incident) { tick(in, "status-page", 20); tick(in, "root-cause", 40) },
			[]protocol.Entry{page(20), note(10, "Restarted exim")},
			[]string{"First public notice after 20 minutes", "5 minutes past the 15 minute deadline", "Rebooted at 02:24, before the root cause was found"}, nil},
		{"no notice, no root cause",
			func(in *protocol.Incident) {},
			nil,
			[]string{"No notice on the status page", "No root cause recorded", "Acknowledge and take ownership: never ticked"}, nil},
		{"resolution notice 2 hours late",
			func(in *protocol.Incident) {
				in.Status, in.ResolvedAt = protocol.StatusResolved, protocol.TimePtr(at(90))
				tick(in, "resolved-notice", 90+150)
			},
			nil,
			[]string{"Send the resolution notice: 2 hours late (due 04:14, done 06:14)"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := declare(t, "outage")
			tt.setup(&in)
			text, ok, err := Draft(&in, item(&in, "debrief"), DraftEnv{Zone: time.UTC, Now: at(600), Timeline: tt.timeline})
			if err != nil || !ok {
				t.Fatalf("ok=%v err=%v", ok, err)
			}
			_, rest, _ := strings.Cut(text, "What went wrong\n")
			wrong, well, _ := strings.Cut(rest, "What went well\n")
			for _, w := range tt.wrong {
				if !strings.Contains(wrong, w) {
					t.Errorf("what went wrong lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.well {
				if !strings.Contains(well, w) {
					t.Errorf("what went well lacks %q:\n%s", w, text)
				}
			}
		})
	}
}
