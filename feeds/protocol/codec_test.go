package protocol

import (
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
		{"load bad interval", `{"type":"load","host":"a","at":"2026-11-22T02:13:07.000Z","interval":"often"}`, false},
		{"service bad state", `{"type":"service","host":"a","service":"b","state":"on fire"}`, false},
		{"incident without seq", `{"type":"incident","incident":{"id":"I"}}`, false},
		{"incident without id", `{"type":"incident","seq":3,"incident":{}}`, false},
		{"item without id", `{"type":"incident","seq":3,"incident":{"id":"I","checklist":[{"title":"x"}]}}`, false},
		{"entry without seq", `{"type":"entry","at":"2026-11-22T02:13:07.000Z"}`, false},
		{"ack without id", `{"type":"ack","seq":3}`, false},
		{"command without op", `{"type":"command","id":"c"}`, false},
		{"wrong field type", `{"type":"synced","seq":"many"}`, false},
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
