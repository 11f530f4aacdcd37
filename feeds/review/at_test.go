package review

import (
	"strings"
	"testing"
	"time"
)

func TestParseAt(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	now := time.Date(2026, 11, 22, 5, 13, 7, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2026-11-22 02:13", time.Date(2026, 11, 22, 1, 13, 0, 0, time.UTC), ""},
		{"2026-11-22 02:13:07", time.Date(2026, 11, 22, 1, 13, 7, 0, time.UTC), ""},
		{" 2026-11-22T02:13 ", time.Date(2026, 11, 22, 1, 13, 0, 0, time.UTC), ""},
		{"2026-11-22T02:13:07Z", time.Date(2026, 11, 22, 2, 13, 7, 0, time.UTC), ""},
		{"2026-11-22T02:13:07.5+01:00", time.Date(2026, 11, 22, 1, 13, 7, 500e6, time.UTC), ""},
		{"-3h", now.Add(-3 * time.Hour), ""},
		{"-1h30m", now.Add(-90 * time.Minute), ""},
		{"-0s", time.Time{}, "back from now"},
		{"--3h", time.Time{}, "back from now"},
		{"-3", time.Time{}, "back from now"},
		{"3h", time.Time{}, "expected"},
		{"22/11/2026 02:13", time.Time{}, "expected"},
		{"2026-11-22 06:14", time.Time{}, "after now"},
		{"", time.Time{}, "expected"},
	}
	for _, tt := range tests {
		got, err := ParseAt(tt.in, now, cet)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%q: error %v, want one saying %q", tt.in, err, tt.err)
		case tt.err == "" && (err != nil || !got.Equal(tt.want)):
			t.Errorf("%q: %s %v, want %s", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseAt(f *testing.F) {
	for _, s := range []string{"2026-11-22 02:13", "2026-11-22T02:13:07Z", "-3h", "-1h30m", "--3h", "2026-02-30 25:61"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 22, 5, 13, 7, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseAt(s, now, time.UTC)
		if err == nil && got.After(now) {
			t.Fatalf("%q: %s is after now", s, got)
		}
	})
}
