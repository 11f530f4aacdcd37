package export

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func TestEvidenceInThePostMortem(t *testing.T) {
	path, _ := night(t)
	src, err := FromJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Build(src, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		host, incident, reason, crossing string
	}
	var got []seen
	for _, ev := range r.Evidence {
		s := seen{ev.Host, ev.Incident, ev.Reason, ""}
		if ev.Crossing != nil {
			s.crossing = ev.Crossing.Text
		}
		got = append(got, s)
	}
	want := []seen{
		{"web-3", "", "exim down: connect: connection refused", "exim on web-3 ok → down: connect: connection refused"},
		{"web-3", "INC-1", "load crit: 4.00 on 4 CPUs", "load on web-3 warn → crit: load1 4.00 on 4 CPUs (1.00 per CPU; warn 0.70, crit 1.00)"},
		{"web-3", "INC-1", "collected by bob", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("evidence = %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("evidence %d = %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if len(r.Evidence[1].Processes) != 3 || r.Evidence[1].Outputs[1].Error != "timed out after 5s" {
		t.Fatalf("crit evidence lost its content: %+v", r.Evidence[1])
	}
	// The timeline keeps the evidence lines; the payload is carried once.
	lines := 0
	for _, e := range r.Timeline {
		if e.Kind == protocol.EntryEvidence {
			lines++
			if e.Evidence != nil {
				t.Fatalf("timeline entry %d carries its evidence again", e.Seq)
			}
		}
	}
	if lines != 4 { // web-1's line is in the window's timeline, its evidence is not shown
		t.Fatalf("%d evidence lines in the timeline, want 4", lines)
	}
	var js bytes.Buffer
	if err := r.JSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Evidence []Evidence `json:"evidence"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Evidence) != 3 || back.Evidence[1].Processes[0] != loadCrit.Processes[0] {
		t.Fatalf("JSON evidence = %+v, %v", back.Evidence, err)
	}
}

func TestMentions(t *testing.T) {
	tests := []struct {
		text, host string
		want       bool
	}{
		{"Mail down on web-3", "web-3", true},
		{"Mail down on web-3.", "web-3", true},
		{"web-3: queue full", "web-3", true},
		{"(web-3)", "web-3", true},
		{"Mail down on web-30", "web-3", false},
		{"myweb-3 is fine", "web-3", false},
		{"web-30 and then web-3", "web-3", true},
		{"db.example.com is slow", "db.example.com", true},
		{"nothing here", "web-3", false},
		{"web-3", "", false},
		{"ünïcode-web-3 web-3ä", "web-3", false},
	}
	for _, tt := range tests {
		if got := mentions(tt.text, tt.host); got != tt.want {
			t.Errorf("mentions(%q, %q) = %v", tt.text, tt.host, got)
		}
	}
}

func TestOutputsStayReadableAndFenced(t *testing.T) {
	tests := []struct{ in, fence, text string }{
		{"plain\n", "```", "plain\n"},
		{"a ``` b", "````", "a ``` b"},
		{"\x1b[1;31mred\x1b[0m\ttab\r\n", "```", "red\ttab\n"},
		{"bell\a and nul\x00", "```", "bell and nul"},
		{"bad \xff", "```", "bad \uFFFD"},
	}
	for _, tt := range tests {
		text := plainText(tt.in)
		if text != tt.text || fence(text) != tt.fence {
			t.Errorf("plainText(%q) = %q, fence %q; want %q, %q", tt.in, text, fence(text), tt.text, tt.fence)
		}
	}
	for kb, want := range map[int64]string{0: "0 KiB", 1023: "1023 KiB", 1536: "1.5 MiB", 3 << 20: "3.00 GiB"} {
		if got := memory(kb); got != want {
			t.Errorf("memory(%d) = %q, want %q", kb, got, want)
		}
	}
	if strings.Contains(plainText("\x1b]0;title\x07x"), "title") {
		t.Error("an OSC sequence survived")
	}
}
