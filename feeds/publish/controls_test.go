package publish

import (
	"strings"
	"testing"
	"time"
)

func TestStripControls(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text\nand a tab\t", "plain text\nand a tab\t"},
		{"bell\a and escape \x1b[31mred\x1b[0m", "bell and escape [31mred[0m"},
		{"del\x7f and C1 \u009b2J", "del and C1 2J"},
		{"Ünïcödé — fine ✓", "Ünïcödé — fine ✓"},
		{"bad \xff byte", "bad \ufffd byte"},
		{"nul\x00", "nul"},
	}
	for _, tt := range tests {
		if got := string(stripControls([]byte(tt.in))); got != tt.want {
			t.Errorf("stripControls(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzStripControls(f *testing.F) {
	f.Add([]byte("a\x1b[2Jb\a\u009bc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := stripControls(b)
		for _, r := range string(out) {
			if isControl(r) {
				t.Fatalf("%q left in %q", r, out)
			}
		}
	})
}

// Published text carrying ESC and BEL reaches the HTML page without them.
func TestStatusPageCarriesNoControlCharacters(t *testing.T) {
	at := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	p := Page{Name: "Acme\x1b]0;owned\a status", Updated: at,
		Active: []Notice{{ID: "INC-1", Name: "Mail\x07 delayed", Status: "investigating", Created: at, Updated: at,
			Updates: []PageUpdate{{Status: "investigating", Body: "We are \x1b[2Jon it.\r\nMore soon.\u0085", At: at}}}}}
	out, err := p.HTML()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range string(out) {
		if isControl(r) {
			t.Fatalf("the page carries %q", r)
		}
	}
	if !strings.Contains(string(out), "We are [2Jon it.") || !strings.Contains(string(out), "Mail delayed") {
		t.Fatalf("the text around the controls is lost:\n%s", out)
	}
}
