// Package credits is the vigil credits command: each customer's downtime
// in a calendar month, from a journal, and the credit their plan owes.
package credits

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vigil-oncall/vigil/feeds/config"
	"github.com/vigil-oncall/vigil/feeds/customers"
	"github.com/vigil-oncall/vigil/feeds/export"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Synopsis is the command's usage line.
const Synopsis = "vigil credits --month 2026-11 (--journal DIR | --feed URL) [--format csv|md|json] [--config FILE] [-o FILE]"

// UsageError is a mistake in how the command was called or configured.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Run is vigil credits: args are the command's flags.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vigil credits", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n\nflags:\n", Synopsis)
		fs.PrintDefaults()
	}
	month := fs.String("month", "", "the calendar month (UTC), e.g. 2026-11")
	journalPath := fs.String("journal", "", "read the journal in this data directory")
	feedURL := fs.String("feed", "", "read the journal from this hub's feed")
	tokenEnv := fs.String("token-env", "", "environment variable holding the feed's token")
	format := fs.String("format", "csv", "csv, md or json")
	cfgPath := fs.String("config", "", "configuration file with [serve.customers] and [[serve.sla]]")
	outPath := fs.String("o", "", "write here instead of standard output")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return UsageError{err}
	}
	m, err := customers.ParseMonth(*month)
	if err != nil {
		return UsageError{fmt.Errorf("--month: %w", err)}
	}
	if (*feedURL == "") == (*journalPath == "") {
		return UsageError{errors.New("credits needs exactly one of --journal DIR or --feed URL")}
	}
	if *format != "csv" && *format != "md" && *format != "json" {
		return UsageError{fmt.Errorf("--format %q: expected csv, md or json", *format)}
	}
	path, explicit := config.Locate(*cfgPath, os.Getenv)
	cfg, _, err := config.Load(path, explicit)
	if err != nil {
		return UsageError{err}
	}
	file := cfg.CustomersFile()
	if file == "" {
		return UsageError{fmt.Errorf("%s: [serve.customers] file is not set: credits needs the customers", path)}
	}
	list, err := customers.Load(file, nil)
	if err != nil {
		return err
	}
	var src export.Source
	if *journalPath != "" {
		src, err = export.FromJournal(*journalPath)
	} else {
		token := ""
		if *tokenEnv != "" {
			token = os.Getenv(*tokenEnv)
		}
		src, err = export.FromFeedSince(ctx, *feedURL, token, m.Start.Add(-31*24*time.Hour))
	}
	if err != nil {
		return err
	}
	credits := Compute(list, cfg.Serve.Plans(), src.Messages, m, time.Now())
	out := stdout
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	switch *format {
	case "md":
		return customers.WriteMarkdown(out, m, credits)
	case "json":
		return customers.WriteJSON(out, m, credits)
	}
	return customers.WriteCSV(out, credits)
}

// Compute is the month's credits from journal messages in seq order.
func Compute(list *customers.List, plans map[string]customers.Plan, msgs []protocol.Message, m customers.Month, now time.Time) []customers.Credit {
	f := customers.NewFacts()
	for _, msg := range msgs {
		f.Observe(msg)
	}
	return customers.Credits(list, f, plans, m, now)
}

// Enrich adds the customers section to an incident's report when the
// configuration (cfgPath, or where vigil looks by default) names a
// customers file; without one the report is left as it is.
func Enrich(r *export.Report, src export.Source, cfgPath string, now time.Time) error {
	path, explicit := config.Locate(cfgPath, os.Getenv)
	cfg, found, err := config.Load(path, explicit)
	if err != nil {
		return err
	}
	if !found || cfg.CustomersFile() == "" {
		return nil
	}
	list, err := customers.Load(cfg.CustomersFile(), nil)
	if err != nil {
		return err
	}
	r.AddCustomers(src, list, cfg.Serve.Plans(), now)
	return nil
}
