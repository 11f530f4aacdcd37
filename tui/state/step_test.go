package state

import (
	"reflect"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func TestPresentStep(t *testing.T) {
	opened := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	now := opened.Add(10 * time.Minute)
	at := func(m int) *protocol.Time { v := protocol.At(opened.Add(time.Duration(m) * time.Minute)); return &v }
	dur := func(m int) *protocol.Duration { d := protocol.Duration(time.Duration(m) * time.Minute); return &d }
	who := func(s string) *string { return &s }
	open := &Incident{Incident: protocol.Incident{ID: "INC-1", Kind: "outage", Status: protocol.StatusInvestigating, OpenedAt: protocol.At(opened)}}
	resolved := &Incident{Incident: protocol.Incident{ID: "INC-2", Kind: "outage", Status: protocol.StatusResolved, OpenedAt: protocol.At(opened), ResolvedAt: at(5)}}
	plain := func(s string) Span { return Span{Text: s} }
	// A maintenance declared 48 hours ahead: its week-ahead step was past
	// before anyone could do it.
	soon := &Incident{Incident: protocol.Incident{ID: "M-1", Kind: "maintenance", Status: protocol.StatusInvestigating, OpenedAt: protocol.At(opened),
		ScheduledStart: protocol.TimePtr(opened.Add(48 * time.Hour))}}

	tests := []struct {
		name  string
		in    *Incident
		it    protocol.Item
		facts StepFacts
		want  StepView
	}{
		{"to do", open, protocol.Item{ID: "a"},
			StepFacts{}, StepView{Box: "[ ]", Status: []Span{plain("to do")}}},
		{"due in", open, protocol.Item{ID: "a", Due: dur(15)},
			StepFacts{}, StepView{Box: "[ ]", Status: []Span{plain("due in 05:00")}}},
		{"overdue", open, protocol.Item{ID: "a", Due: dur(5)},
			StepFacts{}, StepView{Box: "[!]", Status: []Span{{"OVERDUE +05:00", ToneOverdue}}}},
		{"done on time", open, protocol.Item{ID: "a", Due: dur(5), DoneAt: at(3), DoneBy: who("ann")},
			StepFacts{}, StepView{Box: "[✓]", BoxTone: ToneDone, Status: []Span{{"✓ 10:03 ann", ToneDone}}}},
		{"done late", open, protocol.Item{ID: "a", Due: dur(2), DoneAt: at(4), DoneBy: who("ann")},
			StepFacts{}, StepView{Box: "[✓]", BoxTone: ToneDone, Status: []Span{{"✓ 10:04 ann (02:00 late)", ToneDone}}}},
		{"done, nobody named", open, protocol.Item{ID: "a", DoneAt: at(4)},
			StepFacts{}, StepView{Box: "[✓]", BoxTone: ToneDone, Status: []Span{{"✓ 10:04", ToneDone}}}},
		{"waits for resolution", open, protocol.Item{ID: "a", After: protocol.AfterResolved, Due: dur(30)},
			StepFacts{}, StepView{Box: "[-]", Line: ToneWaiting, Status: []Span{plain("after resolution")}}},
		{"after resolution, due", resolved, protocol.Item{ID: "a", After: protocol.AfterResolved, Due: dur(30)},
			StepFacts{}, StepView{Box: "[ ]", Status: []Span{plain("due in 25:00")}}},
		{"a week ahead, declared two days ahead", soon, protocol.Item{ID: "a", Due: dur(-168 * 60)},
			StepFacts{}, StepView{Box: "[ ]", Status: []Span{plain("to do · declared 2 days ahead")}}},
		{"a week ahead, done two days ahead", soon, protocol.Item{ID: "a", Due: dur(-168 * 60), DoneAt: at(4), DoneBy: who("ann")},
			StepFacts{}, StepView{Box: "[✓]", BoxTone: ToneDone, Status: []Span{{"✓ 10:04 ann (declared 2 days ahead)", ToneDone}}}},
		{"left undone at resolution", resolved, protocol.Item{ID: "a", Due: dur(5)},
			StepFacts{}, StepView{Box: "[ ]", Status: []Span{plain("not done")}}},
		{"repeating, first due", open, protocol.Item{ID: "a", Every: dur(30)},
			StepFacts{}, StepView{Box: "[ ]", Status: []Span{plain("due in 20:00"), plain(" (every 30m)")}}},
		{"repeating, done, next due", open, protocol.Item{ID: "a", Every: dur(5), DoneAt: at(8), DoneBy: who("ann"), Count: 2},
			StepFacts{}, StepView{Box: "[✓]", BoxTone: ToneDone, Status: []Span{{"#2 last ✓ 10:08 ann · next in 03:00", ToneDone}}}},
		{"repeating, overdue again", open, protocol.Item{ID: "a", Every: dur(5), DoneAt: at(2), DoneBy: who("ann"), Count: 1},
			StepFacts{}, StepView{Box: "[!]", Status: []Span{{"OVERDUE +03:00", ToneOverdue}, plain(" #1 last ✓ 10:02 ann")}}},
		{"claimed", open, protocol.Item{ID: "a", Due: dur(15), ClaimedBy: who("bob")},
			StepFacts{}, StepView{Box: "[ ]", Status: []Span{{"bob is on it", ToneNotice}, plain(" · "), plain("due in 05:00")}}},
		{"claim released", open, protocol.Item{ID: "a", ClaimedBy: who("")},
			StepFacts{}, StepView{Box: "[ ]", Status: []Span{plain("to do")}}},
		{"claimed, then done", open, protocol.Item{ID: "a", DoneAt: at(4), DoneBy: who("bob"), ClaimedBy: who("bob")},
			StepFacts{}, StepView{Box: "[✓]", BoxTone: ToneDone, Status: []Span{{"✓ 10:04 bob", ToneDone}}}},
		{"sending", open, protocol.Item{ID: "a"},
			StepFacts{Pending: true}, StepView{Box: "[…]", BoxTone: TonePending, Status: []Span{{"sending…", TonePending}, plain(" "), plain("to do")}}},
		{"sending wins over refused", open, protocol.Item{ID: "a"},
			StepFacts{Pending: true, Refused: true}, StepView{Box: "[…]", BoxTone: TonePending, Status: []Span{{"sending…", TonePending}, plain(" "), plain("to do")}}},
		{"refused", open, protocol.Item{ID: "a"},
			StepFacts{Refused: true}, StepView{Box: "[✗]", BoxTone: ToneError, Status: []Span{plain("to do")}}},
		{"not delivered", open, protocol.Item{ID: "a"},
			StepFacts{Failed: []string{"mail", "sms"}}, StepView{Box: "[ ]", Status: []Span{{"✗ not delivered: mail, sms", ToneError}, plain(" · "), plain("to do")}}},
		{"retrying", open, protocol.Item{ID: "a"},
			StepFacts{Retrying: []string{"sms"}}, StepView{Box: "[ ]", Status: []Span{{"retrying: sms", TonePending}, plain(" · "), plain("to do")}}},
		{"failed and retrying, claimed, sending", open, protocol.Item{ID: "a", ClaimedBy: who("bob")},
			StepFacts{Pending: true, Failed: []string{"mail"}, Retrying: []string{"sms"}},
			StepView{Box: "[…]", BoxTone: TonePending, Status: []Span{{"sending…", TonePending}, plain(" "),
				{"✗ not delivered: mail", ToneError}, plain(" "), {"retrying: sms", TonePending}, plain(" · "),
				{"bob is on it", ToneNotice}, plain(" · "), plain("to do")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PresentStep(tt.in, &tt.it, now, time.UTC, tt.facts)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("PresentStep:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPresentStepWritesTimesInTheZoneAsked(t *testing.T) {
	opened := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	done := protocol.At(opened.Add(3 * time.Minute))
	in := &Incident{Incident: protocol.Incident{ID: "INC-1", Status: protocol.StatusInvestigating, OpenedAt: protocol.At(opened)}}
	it := protocol.Item{ID: "a", DoneAt: &done}
	got := PresentStep(in, &it, opened.Add(10*time.Minute), time.FixedZone("X", 2*3600), StepFacts{}).StatusText()
	if got != "✓ 12:03" {
		t.Errorf("status %q, want ✓ 12:03", got)
	}
}

func TestCountdown(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "00:00"},
		{59*time.Second + 900*time.Millisecond, "00:59"},
		{-5 * time.Minute, "05:00"},
		{59*time.Minute + 59*time.Second, "59:59"},
		{time.Hour + 5*time.Minute, "1h05m"},
		{47*time.Hour + 59*time.Minute, "47h59m"},
		{48 * time.Hour, "2d00h"},
		{75 * time.Hour, "3d03h"},
	} {
		if got := Countdown(tt.d); got != tt.want {
			t.Errorf("Countdown(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
