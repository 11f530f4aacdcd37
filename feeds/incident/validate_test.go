package incident

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// decodeCommand reads a command as the server does, so times the wire
// carried but that are not protocol times arrive marked Invalid.
func decodeCommand(t *testing.T, frame string) protocol.Command {
	t.Helper()
	m, err := protocol.Decode([]byte(frame))
	if err != nil {
		t.Fatalf("Decode(%s): %v", frame, err)
	}
	return *m.(*protocol.Command)
}

func TestValidate(t *testing.T) {
	base := `"type":"command","id":"c-1","actor":"alice"`
	tests := []struct {
		name  string
		frame string
		want  string // "" accepted; else part of the refusal
	}{
		{"plain declare", `{` + base + `,"op":"declare","title":"Mail down","severity":"SEV2","kind":"outage"}`, ""},
		{"poison scheduled_start", `{` + base + `,"op":"declare","title":"x","severity":"SEV2","kind":"maintenance","scheduled_start":"9999-12-31T23:59:59.999-23:59"}`, "scheduled_start is not an RFC 3339 time"},
		{"scheduled_end not a time", `{` + base + `,"op":"declare","title":"x","severity":"SEV2","kind":"maintenance","scheduled_end":"tomorrow"}`, "scheduled_end is not"},
		{"at year 0", `{` + base + `,"op":"note","incident":"INC-1","text":"x","at":"0000-01-01T00:00:00Z"}`, "at is not"},
		{"title 257 bytes", `{` + base + `,"op":"declare","title":"` + strings.Repeat("t", 257) + `","severity":"SEV2","kind":"outage"}`, "title is 257 bytes; at most 256"},
		{"title 256 bytes", `{` + base + `,"op":"declare","title":"` + strings.Repeat("t", 256) + `","severity":"SEV2","kind":"outage"}`, ""},
		{"note 16 KiB", `{` + base + `,"op":"note","incident":"INC-1","text":"` + strings.Repeat("<", 16<<10) + `"}`, ""},
		{"note past 16 KiB", `{` + base + `,"op":"note","incident":"INC-1","text":"` + strings.Repeat("<", 16<<10+1) + `"}`, "text is 16385 bytes; at most 16384"},
		{"bad severity", `{` + base + `,"op":"update","incident":"INC-1","severity":"SEV9"}`, `severity "SEV9"`},
		{"bad status", `{` + base + `,"op":"status","incident":"INC-1","status":"done"}`, `status "done"`},
		{"incident with a space", `{` + base + `,"op":"note","incident":"INC 1","text":"x"}`, "incident \"INC 1\" holds a space"},
		{"item too long", `{` + base + `,"op":"check","incident":"INC-1","item":"` + strings.Repeat("i", 129) + `","done":true}`, "item is 129 bytes"},
		{"host with a newline", `{` + base + `,"op":"collect","host":"web\n3"}`, "host"},
		{"command id with a space", `{"type":"command","id":"c 1","actor":"alice","op":"note","incident":"INC-1","text":"x"}`, "command id"},
		{"command id too long", `{"type":"command","id":"` + strings.Repeat("c", 129) + `","actor":"alice","op":"note","incident":"INC-1","text":"x"}`, "command id is 129 bytes"},
		{"no actor", `{"type":"command","id":"c-1","op":"note","incident":"INC-1","text":"x"}`, "actor is empty"},
		{"actor with an escape", `{"type":"command","id":"c-1","actor":"al\u001b[2Jice","op":"note","incident":"INC-1","text":"x"}`, "actor"},
		{"actor with a space", `{"type":"command","id":"c-1","actor":"Alice Smith","op":"note","incident":"INC-1","text":"x"}`, ""},
		{"component not an id", `{` + base + `,"op":"declare","title":"x","severity":"SEV2","kind":"outage","components":["mail","web site"]}`, "components[1]"},
		{"component twice", `{` + base + `,"op":"declare","title":"x","severity":"SEV2","kind":"outage","components":["mail","mail"]}`, "twice"},
		{"channel not an id", `{` + base + `,"op":"publish","incident":"INC-1","text":"x","channels":[""]}`, "channels[0] is empty"},
		{"kind not an id", `{` + base + `,"op":"declare","title":"x","severity":"SEV2","kind":"out age"}`, "kind"},
		{"subject too long", `{` + base + `,"op":"publish","incident":"INC-1","text":"x","channels":["page"],"subject":"` + strings.Repeat("s", 300) + `"}`, "subject is 300 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := Validate(decodeCommand(t, tt.frame))
			switch {
			case tt.want == "" && ref != nil:
				t.Fatalf("refused: %v", ref)
			case tt.want != "" && ref == nil:
				t.Fatal("accepted")
			case tt.want != "" && (ref.Code != protocol.CodeInvalid || !strings.Contains(ref.Msg, tt.want)):
				t.Fatalf("refusal %v, want invalid with %q", ref, tt.want)
			}
		})
	}
}

func TestActionTime(t *testing.T) {
	now := time.Date(2026, 11, 22, 2, 40, 0, 0, time.UTC)
	at := func(d time.Duration) *protocol.Time { return protocol.TimePtr(now.Add(d)) }
	tests := []struct {
		name     string
		at       *protocol.Time
		want     time.Time
		received bool
	}{
		{"absent", nil, now, false},
		{"zero", &protocol.Time{}, now, false},
		{"same moment", at(0), now, false},
		{"half a second back", at(-500 * time.Millisecond), now.Add(-500 * time.Millisecond), false},
		{"ten minutes back", at(-10 * time.Minute), now.Add(-10 * time.Minute), true},
		{"23h59m back", at(-(24*time.Hour - time.Minute)), now.Add(-(24*time.Hour - time.Minute)), true},
		{"three days back", at(-72 * time.Hour), now, false},
		{"within the skew ahead", at(time.Second), now.Add(time.Second), false},
		{"a minute ahead", at(time.Minute), now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, received := ActionTime(tt.at, now)
			if !got.Equal(tt.want) || (received != nil) != tt.received {
				t.Fatalf("got %s received %v, want %s received %v", got, received, tt.want, tt.received)
			}
			if received != nil && !received.Equal(now) {
				t.Fatalf("received %s, want the server's now", received)
			}
		})
	}
}

func TestMergeLimits(t *testing.T) {
	many := make([]Step, protocol.MaxChecklist+1)
	for i := range many {
		many[i] = Step{ID: fmt.Sprintf("s%d", i), Title: "t"}
	}
	tests := []struct {
		name    string
		kind    string
		steps   []Step
		replace bool
		want    string
	}{
		{"201 steps", "big", many, true, "201 steps; a checklist holds at most 200"},
		{"200 steps", "big", many[:200], true, ""},
		{"adding past 200", "outage", many[:190], false, "would have"},
		{"step id with a space", "db", []Step{{ID: "call dba", Title: "x"}}, false, "step id"},
		{"title too long", "db", []Step{{ID: "a", Title: strings.Repeat("t", 300)}}, false, "title is 300 bytes"},
		{"kind with a space", "data base", []Step{{ID: "a", Title: "x"}}, false, "kind"},
		{"checklist past half a frame", "big", hinted(100, strings.Repeat("<", 1000)), true, "its checklist encodes to"},
		{"checklist within half a frame", "big", hinted(100, strings.Repeat("a", 1000)), true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Defaults().Merge(tt.kind, tt.steps, tt.replace)
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Merge: %v, want %q", err, tt.want)
			}
		})
	}
}

func hinted(n int, hint string) []Step {
	steps := make([]Step, n)
	for i := range steps {
		steps[i] = Step{ID: fmt.Sprintf("s%d", i), Title: "t", Hint: hint}
	}
	return steps
}
