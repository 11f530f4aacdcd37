package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// hasFlag reports whether args hold one of names as a flag; after "--"
// everything is an argument.
func hasFlag(args []string, names ...string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		for _, n := range names {
			if a == n {
				return true
			}
		}
	}
	return false
}

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// dashboardArgs are the dashboard's flags.
type dashboardArgs struct {
	config, actor string
	feeds         multiFlag
	at, journal   string // rewind: vigil --at TIME [--journal DIR]
}

// dashboardFlags declares the dashboard's flags; its usage is the overview
// of every command followed by those flags, since the dashboard is what a
// bare vigil runs.
func dashboardFlags(out io.Writer) (*flag.FlagSet, *dashboardArgs) {
	a := &dashboardArgs{}
	fs := flag.NewFlagSet("vigil", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&a.config, "config", "", "configuration file")
	fs.Var(&a.feeds, "feed", "feed URL (ws:// or wss://); repeat for several; replaces the configured feeds")
	fs.StringVar(&a.actor, "actor", "", "who ticks and notes (default: config, then $USER)")
	fs.StringVar(&a.at, "at", "", `start rewound to this moment: "2026-11-22 02:13" (local time), RFC 3339, or -3h`)
	fs.StringVar(&a.journal, "journal", "", "with --at: the board of this data directory (no hub running on it)")
	fs.Usage = func() {
		fmt.Fprint(out, topUsage)
		fmt.Fprintln(out, "\ndashboard flags (vigil [flags]):")
		fs.PrintDefaults()
	}
	return fs, a
}

// splitList splits a comma-separated flag, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
