package config

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/probe"
)

func TestEvidenceExampleIsTheDefaults(t *testing.T) {
	cfg, _, err := Load("../../config.toml.example", true)
	if err != nil {
		t.Fatal(err)
	}
	ev := cfg.Serve.Evidence
	if ev.Processes != Default().Serve.Evidence.Processes || len(ev.Commands) != 1 {
		t.Fatalf("evidence = %+v", ev)
	}
	if c := ev.Commands[0]; c.WithDefaults() != c || c.Name != "mailq" || c.Command != "mailq | tail -5" {
		t.Fatalf("example command %+v is not the defaults %+v", c, c.WithDefaults())
	}
	pc := ev.Capturer(cfg.Serve.Interval.Duration)
	want := probe.EvidenceCommand{Name: "mailq", Command: "mailq | tail -5", Timeout: 5 * time.Second, MaxBytes: 8192}
	if pc.Processes != 15 || pc.Interval != 5*time.Second || len(pc.Commands) != 1 || pc.Commands[0] != want {
		t.Fatalf("capturer config = %+v", pc)
	}
}

func TestEvidenceDefaultsWhereUnset(t *testing.T) {
	cfg, err := Parse("c.toml", "[[serve.evidence.commands]]\nname = \"ss\"\ncommand = \"ss -s\"\n")
	if err != nil {
		t.Fatal(err)
	}
	pc := cfg.Serve.Evidence.Capturer(time.Second)
	if pc.Processes != 15 || pc.Commands[0].Timeout != 5*time.Second || pc.Commands[0].MaxBytes != 8192 {
		t.Fatalf("capturer config = %+v", pc)
	}
}

func TestEvidenceErrorsNameFileLineKey(t *testing.T) {
	cmd := func(extra string) string {
		return "[[serve.evidence.commands]]\nname = \"a\"\ncommand = \"true\"\n" + extra
	}
	tests := []struct{ name, src, want string }{
		{"too many processes", "[serve.evidence]\nprocesses = 40\n", "c.toml:2: serve.evidence.processes: expected 1 to 15 process groups, got 40"},
		{"no processes", "[serve.evidence]\nprocesses = 0\n", "c.toml:2: serve.evidence.processes: expected 1 to 15"},
		{"empty command", cmd("[[serve.evidence.commands]]\nname = \"b\"\ncommand = \" \"\n"), "c.toml:6: serve.evidence.commands.command: command 2 needs a command line"},
		{"duplicate name", cmd("[[serve.evidence.commands]]\nname = \"a\"\ncommand = \"ls\"\n"), "c.toml:5: serve.evidence.commands.name: command name \"a\" used twice"},
		{"name with a space", "[[serve.evidence.commands]]\nname = \"mail q\"\ncommand = \"mailq\"\n", "c.toml:2: serve.evidence.commands.name: command 1: the name \"mail q\" holds a space"},
		{"timeout", cmd("timeout = \"2h\"\n"), "c.toml:4: serve.evidence.commands.timeout: expected a timeout up to 1m0s, got 2h0m0s"},
		{"bad timeout", cmd("timeout = \"soon\"\n"), "c.toml:4: serve.evidence.commands.timeout: expected a duration"},
		{"max_bytes", cmd("max_bytes = 1000000\n"), "c.toml:4: serve.evidence.commands.max_bytes: expected 0 (8192) to 16384 bytes, got 1000000"},
		{"unknown key", cmd("max_byte = 10\n"), "c.toml:4: serve.evidence.commands.max_byte: unknown key"},
		{"too many", strings.Repeat("[[serve.evidence.commands]]\nname = \"x\"\ncommand = \"true\"\n", 17), "serve.evidence.commands: at most 16 commands, got 17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.toml", tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}
