package config

import (
	"strings"
	"testing"
)

func TestLocatorFindsInlineTableKeys(t *testing.T) {
	src := strings.Join([]string{
		"[serve]",    // 1
		"checks = [", // 2
		"  {name = \"web\", type = \"tcp\"}, # {not = 1}", // 3
		"  {name = \"db\",",                           // 4
		"   \"type\" = 'udp', target = \"a,b = c\"},", // 5
		"]", // 6
		"status = {name = \"Mail\", url = \"x\"}", // 7
		"[[serve.sla]]", // 8
		"credits = [{below = 99.9, percent = 10}, {below = 99.0,", // 9
		"  percent = 25}]", // 10
		"[[serve.sla]]",    // 11
		"credits = [{below = 95.0, hosts = [\"a\", \"b\"], percent = 50}]", // 12
		"name = \"after\"", // 13
	}, "\n")
	l := newLocator(src)
	for _, tt := range []struct {
		path  string
		index int
		want  int
	}{
		{"serve.checks.name", 0, 3},
		{"serve.checks.type", 0, 3},
		{"serve.checks.name", 1, 4},
		{"serve.checks.type", 1, 5},
		{"serve.checks.target", 1, 5},
		{"serve.status.url", -1, 7},
		{"serve.sla.credits.below", 1, 9},
		{"serve.sla.credits.percent", 1, 10},
		{"serve.sla.credits.percent", 2, 12},
		{"serve.sla.name", 1, 13},
	} {
		if got := l.lineAt(strings.Split(tt.path, "."), tt.index); got != tt.want {
			t.Errorf("%s[%d]: line %d, want %d", tt.path, tt.index, got, tt.want)
		}
	}
}

// FuzzLocator: any source is located without a panic, every line within it.
func FuzzLocator(f *testing.F) {
	f.Add("[serve]\nchecks = [{name = \"a\", type = 'b'}, {x = [1, {y = 2}]}]\n")
	f.Add("a = {b = \"}\", c = '{'}\n[[x]]\nd = [\n{e = 1},\n]\n")
	f.Fuzz(func(t *testing.T, src string) {
		l := newLocator(src)
		lines := strings.Count(src, "\n") + 1
		for _, k := range l.keys {
			if k.line < 1 || k.line > lines {
				t.Fatalf("line %d of %d", k.line, lines)
			}
		}
	})
}
