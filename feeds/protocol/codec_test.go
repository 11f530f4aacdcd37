package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// The examples of PROTOCOL.md, verbatim: each must decode.
var protocolExamples = []string{
	`{"type":"hello","protocol":1,"server":"hub-eu-1","journal":"j-7f3a9c","seq":1842,"time":"2026-11-22T02:13:07.120Z"}`,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07.000Z","interval":"5s","load1":12.8,"load5":9.1,"load15":4.2,"cpus":4,"mem_used_pct":71.5}`,
	`{"type":"service","host":"web-3","service":"exim","state":"down","detail":"connect 127.0.0.1:25: connection refused","since":"2026-11-22T02:11:40.000Z","at":"2026-11-22T02:13:07.000Z"}`,
	`{"type":"incident","seq":1843,"incident":{
  "id":"INC-42","title":"Mail down on web-3","severity":"SEV2","kind":"outage",
  "status":"investigating","commander":"alice",
  "opened_at":"2026-11-22T02:14:00.000Z","resolved_at":null,"scheduled_start":null,
  "checklist":[
    {"id":"ack","title":"Acknowledge and take ownership","hint":"...","due":"5m",
     "done_at":"2026-11-22T02:14:30.000Z","done_by":"alice"},
    {"id":"updates","title":"Post a progress update","every":"30m",
     "done_at":"2026-11-22T02:40:00.000Z","done_by":"bob","count":1},
    {"id":"postmortem","title":"Publish the post-mortem","after":"resolved","due":"72h"}
  ]}}`,
	`{"type":"entry","seq":1844,"incident":"INC-42","at":"2026-11-22T02:14:30.000Z","actor":"alice","kind":"check","text":"ticked: Acknowledge and take ownership"}`,
	`{"type":"synced","seq":1844}`,
	`{"type":"ack","id":"c-01J9Z","seq":1845}`,
	`{"type":"nack","id":"c-01J9Z","code":"forbidden","error":"commands need a token"}`,
	`{"type":"subscribe","since":1842,"journal":"j-7f3a9c"}`,
	`{"type":"command","id":"c-01J9Z","actor":"alice","op":"check","incident":"INC-42","item":"status-page","done":true}`,
}

func TestDecodeProtocolExamples(t *testing.T) {
	for _, frame := range protocolExamples {
		m, err := Decode([]byte(frame))
		if err != nil {
			t.Fatalf("Decode(%s): %v", frame, err)
		}
		// Round trip: what we encode, we decode to the same type.
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode(%T): %v", m, err)
		}
		again, err := Decode(b)
		if err != nil {
			t.Fatalf("re-Decode(%s): %v", b, err)
		}
		if TypeOf(again) != TypeOf(m) {
			t.Fatalf("round trip changed type %s -> %s", TypeOf(m), TypeOf(again))
		}
	}
}

func TestDecodeIncidentFields(t *testing.T) {
	m, err := Decode([]byte(protocolExamples[3]))
	if err != nil {
		t.Fatal(err)
	}
	inc := m.(*IncidentMsg).Incident
	if inc.ResolvedAt != nil || inc.ScheduledStart != nil {
		t.Fatalf("null times should decode to nil pointers: %+v", inc)
	}
	if got := inc.Checklist[0].Due.Std(); got != 5*time.Minute {
		t.Fatalf("due = %v", got)
	}
	if inc.Checklist[1].Every.Std() != 30*time.Minute || inc.Checklist[1].Count != 1 {
		t.Fatalf("every/count = %+v", inc.Checklist[1])
	}
	if inc.Checklist[2].Done() || inc.Checklist[2].After != AfterResolved {
		t.Fatalf("postmortem = %+v", inc.Checklist[2])
	}
	if *inc.Checklist[0].DoneBy != "alice" {
		t.Fatalf("done_by = %v", inc.Checklist[0].DoneBy)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name    string
		frame   string
		unknown bool
	}{
		{"empty", ``, false},
		{"not json", `hello`, false},
		{"array", `[1,2]`, false},
		{"truncated", `{"type":"load","host":"a"`, false},
		{"no type", `{"host":"a"}`, false},
		{"unknown type", `{"type":"gossip","x":1}`, true},
		{"hello without journal", `{"type":"hello","protocol":1}`, false},
		{"hello without protocol", `{"type":"hello","journal":"j"}`, false},
		{"load without host", `{"type":"load","at":"2026-11-22T02:13:07.000Z","interval":"5s"}`, false},
		{"load bad time", `{"type":"load","host":"a","at":"yesterday","interval":"5s"}`, false},
		{"load time past 9999", `{"type":"load","host":"a","at":"9999-12-31T23:59:59.999-23:59"}`, false},
		{"service without state", `{"type":"service","host":"a","service":"b"}`, false},
		{"incident without id", `{"type":"incident","seq":3,"incident":{}}`, false},
		{"incident without title", `{"type":"incident","seq":3,"incident":{"id":"I","status":"investigating","opened_at":"2026-11-22T02:13:07.000Z"}}`, false},
		{"incident without status", `{"type":"incident","seq":3,"incident":{"id":"I","title":"t","opened_at":"2026-11-22T02:13:07.000Z"}}`, false},
		{"incident without opened_at", `{"type":"incident","seq":3,"incident":{"id":"I","title":"t","status":"investigating"}}`, false},
		{"item without id", `{"type":"incident","seq":3,"incident":{"id":"I","title":"t","status":"investigating","opened_at":"2026-11-22T02:13:07.000Z","checklist":[{"title":"x"}]}}`, false},
		{"entry without seq", `{"type":"entry","at":"2026-11-22T02:13:07.000Z","text":"x"}`, false},
		{"entry without text", `{"type":"entry","seq":4,"at":"2026-11-22T02:13:07.000Z"}`, false},
		{"ack without id", `{"type":"ack","seq":3}`, false},
		{"command without op", `{"type":"command","id":"c"}`, false},
		{"command with a mistyped field", `{"type":"command","id":"c","op":"check","done":"yes"}`, false},
		{"subscribe with a mistyped since", `{"type":"subscribe","since":"many"}`, false},
		{"register without hosts", `{"type":"register","agent":"a"}`, false},
		{"evidence without host", `{"type":"evidence","at":"2026-11-22T02:13:07.000Z"}`, false},
		{"history without id", `{"type":"history","before":3}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.frame))
			if err == nil {
				t.Fatal("Decode accepted a bad frame")
			}
			if got := errors.Is(err, ErrUnknownType); got != tt.unknown {
				t.Fatalf("errors.Is(ErrUnknownType) = %v, want %v (%v)", got, tt.unknown, err)
			}
			if !tt.unknown && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v should wrap ErrMalformed", err)
			}
		})
	}
}

// PROTOCOL.md, Limits: any field but the required ones may be missing, of
// the wrong type or carry an unknown value; the frame is kept.
func TestDecodeKeepsWhatItCan(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		check func(t *testing.T, m Message)
	}{
		{"load without interval", `{"type":"load","host":"a","at":"2026-11-22T02:13:07.000Z"}`, func(t *testing.T, m Message) {
			if m.(*Load).Interval != 0 {
				t.Fatal("interval should be absent")
			}
		}},
		{"load with unreadable interval", `{"type":"load","host":"a","at":"2026-11-22T02:13:07.000Z","interval":"often","load1":2}`, func(t *testing.T, m Message) {
			if l := m.(*Load); l.Interval != 0 || l.Load1 != 2 {
				t.Fatalf("got %+v", l)
			}
		}},
		{"load with a mistyped number", `{"type":"load","host":"a","at":"2026-11-22T02:13:07.000Z","load1":"high","cpus":4}`, func(t *testing.T, m Message) {
			if l := m.(*Load); l.Load1 != 0 || l.CPUs != 4 {
				t.Fatalf("got %+v", l)
			}
		}},
		{"service with an unknown state", `{"type":"service","host":"a","service":"b","state":"on fire"}`, func(t *testing.T, m Message) {
			if m.(*Service).State != "on fire" {
				t.Fatal("state lost")
			}
		}},
		{"incident with unknown severity, due and no seq", `{"type":"incident","incident":{"id":"I","title":"t","severity":"SEV9","status":"investigating","opened_at":"2026-11-22T02:13:07.000Z","resolved_at":"whenever","checklist":[{"id":"x","due":"soon","every":7}]}}`, func(t *testing.T, m Message) {
			in := m.(*IncidentMsg).Incident
			if in.Severity != "SEV9" || in.Checklist[0].Due != nil || in.Checklist[0].Every != nil {
				t.Fatalf("got %+v", in)
			}
			if in.ResolvedAt == nil || !in.ResolvedAt.Invalid() || !in.ResolvedAt.IsZero() {
				t.Fatalf("an unreadable time reads as invalid and zero: %+v", in.ResolvedAt)
			}
			if in.Checklist[0].Label() != "x" {
				t.Fatal("a step without a title shows its id")
			}
		}},
		{"entry without at or kind", `{"type":"entry","seq":9,"text":"hi"}`, func(t *testing.T, m Message) {
			if e := m.(*Entry); e.Text != "hi" || !e.At.IsZero() {
				t.Fatalf("got %+v", e)
			}
		}},
		{"synced with a mistyped seq", `{"type":"synced","seq":"many"}`, func(t *testing.T, m Message) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode([]byte(tt.frame))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			tt.check(t, m)
		})
	}
}

func TestCheckLimits(t *testing.T) {
	long := strings.Repeat("x", MaxIDBytes+1)
	for _, tt := range []struct {
		id string
		ok bool
	}{{"web-3", true}, {"db_1.example:5432", true}, {"c-01J9Z", true}, {"", false}, {"a b", false}, {"a\x1b[2J", false}, {long, false}, {"\xff", false}} {
		if err := CheckID("host", tt.id); (err == nil) != tt.ok {
			t.Errorf("CheckID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
	if CheckText("note", strings.Repeat("<", MaxTextBytes), MaxTextBytes) != nil || CheckText("note", strings.Repeat("<", MaxTextBytes+1), MaxTextBytes) == nil {
		t.Error("text limit is inclusive of MaxTextBytes")
	}
	var c Command
	if err := json.Unmarshal([]byte(`{"scheduled_start":"9999-12-31T23:59:59.999-23:59","at":"2026-11-22T02:13:07.120Z"}`), &c); err != nil {
		t.Fatal(err)
	}
	if CheckTime("scheduled_start", c.ScheduledStart) == nil {
		t.Error("a time that is year 10000 in UTC must be refused")
	}
	if CheckTime("at", c.At) != nil || CheckTime("absent", nil) != nil {
		t.Error("valid and absent times pass")
	}
}

// The additions' examples of PROTOCOL.md decode and round-trip.
func TestDecodeAdditions(t *testing.T) {
	frames := []string{
		`{"type":"register","agent":"web-3","hosts":["web-3"]}`,
		`{"type":"evidence","host":"web-3","at":"2026-11-22T02:13:07.000Z","reason":"load crit: 9.8 on 4 CPUs","processes":[{"pid":4123,"user":"shop42","command":"php-cgi","count":240,"cpu_pct":96.1,"rss_kb":81234}],"outputs":[{"name":"mailq","exit":0,"text":"48211 requests in queue"}]}`,
		`{"type":"history","id":"h-7","before":1800,"limit":200,"incident":"INC-42"}`,
		`{"type":"history","id":"h-7","messages":[{"type":"entry","seq":1601,"text":"x"}],"more":true}`,
		`{"type":"presence","watchers":[{"actor":"alice","via":"ssh","since":"2026-11-22T02:14:05.000Z"}]}`,
		`{"type":"synced","seq":1844,"compacted":true,"oldest":12}`,
		`{"type":"command","id":"c-1","actor":"carol","op":"claim","incident":"INC-42","item":"email-customers","claim":true,"at":"2026-11-22T02:14:05.000Z"}`,
		`{"type":"command","id":"c-2","actor":"carol","op":"publish","incident":"INC-42","text":"Mail is delayed.","channels":["page","customers"],"item":"status-page","subject":"Mail delayed"}`,
		`{"type":"command","id":"c-3","actor":"carol","op":"collect","host":"web-3"}`,
		`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07.000Z","interval":"5s","load1":12.8,"cpus":4,"level":"crit"}`,
		`{"type":"entry","seq":9,"incident":"","at":"2026-11-22T02:11:40.000Z","actor":"web-3","kind":"alert","text":"exim on web-3 ok → down","host":"web-3","service":"exim","state":"down"}`,
		`{"type":"entry","seq":10,"incident":"","at":"2026-11-22T02:11:40.000Z","actor":"web-3","kind":"alert","text":"load on web-3 ok → crit","host":"web-3","level":"crit"}`,
	}
	for _, frame := range frames {
		m, err := Decode([]byte(frame))
		if err != nil {
			t.Fatalf("Decode(%s): %v", frame, err)
		}
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("Encode(%T): %v", m, err)
		}
		if _, err := Decode(b); err != nil {
			t.Fatalf("re-Decode(%s): %v", b, err)
		}
	}
	if m, _ := Decode([]byte(frames[10])); m.(*Entry).Service != "exim" || m.(*Entry).State != "down" {
		t.Fatalf("transition entry: %+v", m)
	}
	if m, _ := Decode([]byte(frames[11])); m.(*Entry).Level != "crit" {
		t.Fatalf("level entry: %+v", m)
	}
	m, _ := Decode([]byte(frames[1]))
	ev := m.(*Evidence)
	if ev.Reason == "" || ev.Processes[0].Command != "php-cgi" || ev.Outputs[0].Name != "mailq" {
		t.Fatalf("evidence fields: %+v", ev)
	}
}

func TestUnknownFieldsIgnored(t *testing.T) {
	m, err := Decode([]byte(`{"type":"synced","seq":7,"future":{"a":[1,2]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.(*Synced).Seq != 7 {
		t.Fatal("seq lost")
	}
}

func TestTimeFormat(t *testing.T) {
	ts := At(time.Date(2026, 11, 22, 3, 13, 7, 120_456_000, time.FixedZone("CET", 3600)))
	b, _ := ts.MarshalJSON()
	if string(b) != `"2026-11-22T02:13:07.120Z"` {
		t.Fatalf("got %s", b)
	}
}

func TestDurationFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		90 * time.Second: "1m30s", 15 * time.Minute: "15m", 90 * time.Minute: "1h30m",
		-168 * time.Hour: "-168h", 0: "0s", 72 * time.Hour: "72h",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestCloneDoesNotAlias(t *testing.T) {
	m, _ := Decode([]byte(protocolExamples[3]))
	orig := m.(*IncidentMsg).Incident
	c := orig.Clone()
	*c.Checklist[0].DoneBy = "mallory"
	if *orig.Checklist[0].DoneBy != "alice" {
		t.Fatal("clone aliases done_by")
	}
}

func FuzzDecode(f *testing.F) {
	for _, e := range protocolExamples {
		f.Add([]byte(e))
	}
	f.Add([]byte(`{"type":"load","host":"\u001b]52;c;aGk=\u0007","at":"2026-11-22T02:13:07Z","interval":"1ns"}`))
	f.Add([]byte(strings.Repeat("{", 100)))
	f.Add([]byte(`{"type":"history","id":"h-9","kind":"load","host":"web-3","samples":[{"at":"2026-11-22T02:00:00.000Z","load1":1.5,"cpus":4,"mem_used_pct":null}],"more":false}`))
	f.Add([]byte(`{"type":"rewind","id":"r-1","at":"2026-11-22T02:13:00.000Z","seq":7,"loads":[{"host":"a","at":"x"}],"services":[],"incidents":[{"incident":{"id":"INC-1"}}],"pages":[{}],"entries":[{"seq":1,"text":"t"}]}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := Decode(frame)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownType) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		// Whatever decodes must encode and decode again to the same type.
		b, err := Encode(m)
		if err != nil {
			t.Fatalf("encode %T: %v", m, err)
		}
		again, err := Decode(b)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", b, err)
		}
		if TypeOf(again) != TypeOf(m) {
			t.Fatal("type changed in round trip")
		}
	})
}

func BenchmarkDecodeLoad(b *testing.B) {
	frame := []byte(protocolExamples[1])
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeIncident(b *testing.B) {
	frame := []byte(protocolExamples[3])
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if _, err := Decode(frame); err != nil {
			b.Fatal(err)
		}
	}
}
