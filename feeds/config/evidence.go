package config

import (
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/probe"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Evidence configures what vigil serve captures when its host goes bad:
// the busiest processes and the outputs of these commands.
type Evidence struct {
	Processes int               `toml:"processes"`
	Commands  []EvidenceCommand `toml:"commands"`
}

// EvidenceCommand is one command whose output goes into evidence.
type EvidenceCommand struct {
	Name     string   `toml:"name"`
	Command  string   `toml:"command"`
	Timeout  Duration `toml:"timeout"`
	MaxBytes int      `toml:"max_bytes"`
}

// Bounds of [serve.evidence]: the protocol's 15 process groups, and no
// more outputs than a hub keeps.
const (
	maxEvidenceProcesses = 15
	maxEvidenceCommands  = 16
	maxCommandTimeout    = time.Minute
)

// WithDefaults fills in a command's timeout (5s) and size limit (8 KiB).
func (c EvidenceCommand) WithDefaults() EvidenceCommand {
	if c.Timeout.Duration == 0 {
		c.Timeout.Duration = probe.DefaultCommandTimeout
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = probe.DefaultCommandMaxBytes
	}
	return c
}

// Capturer is the capture configuration for probe.NewCapturer; interval
// is how often the host is probed, the span a capture's CPU is measured
// over.
func (e Evidence) Capturer(interval time.Duration) probe.EvidenceConfig {
	cfg := probe.EvidenceConfig{Processes: e.Processes, Interval: interval}
	for _, c := range e.Commands {
		c = c.WithDefaults()
		cfg.Commands = append(cfg.Commands, probe.EvidenceCommand{Name: c.Name, Command: c.Command, Timeout: c.Timeout.Duration, MaxBytes: c.MaxBytes})
	}
	return cfg
}

type addFunc func(key []string, index int, format string, args ...any)

func (e Evidence) validate(add addFunc) {
	key := func(k ...string) []string { return append([]string{"serve", "evidence"}, k...) }
	if e.Processes < 1 || e.Processes > maxEvidenceProcesses {
		add(key("processes"), -1, "expected 1 to %d process groups, got %d", maxEvidenceProcesses, e.Processes)
	}
	if len(e.Commands) > maxEvidenceCommands {
		add(key("commands"), maxEvidenceCommands, "at most %d commands, got %d", maxEvidenceCommands, len(e.Commands))
	}
	names := map[string]bool{}
	for i, c := range e.Commands {
		if err := protocol.CheckID("the name", c.Name); err != nil {
			add(key("commands", "name"), i, "command %d: %v", i+1, err)
		} else if names[c.Name] {
			add(key("commands", "name"), i, "command name %q used twice", c.Name)
		}
		names[c.Name] = true
		if strings.TrimSpace(c.Command) == "" {
			add(key("commands", "command"), i, "command %d needs a command line (run with sh -c)", i+1)
		}
		if c.Timeout.Duration < 0 || c.Timeout.Duration > maxCommandTimeout {
			add(key("commands", "timeout"), i, "expected a timeout up to %s, got %s", maxCommandTimeout, c.Timeout)
		}
		if c.MaxBytes < 0 || c.MaxBytes > protocol.MaxTextBytes {
			add(key("commands", "max_bytes"), i, "expected 0 (8192) to %d bytes, got %d", protocol.MaxTextBytes, c.MaxBytes)
		}
	}
}
