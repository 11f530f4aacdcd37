package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Request is one vigil export: the journal read from a feed or a data
// directory (exactly one), the incident, and where the report goes.
type Request struct {
	Feed, Token string // a feed's URL and its token
	Journal     string // a data directory or a journal file in it
	Incident    string
	Format      string // md or json
	Out         string // a file; "" writes to the caller's stdout
	// Enrich, if set, adds to the report what the journal alone does not
	// give (the customers affected and their credits).
	Enrich func(*Report, Source) error
}

// Check says what is missing or wrong in r, before anything is read.
func (r Request) Check() error {
	switch {
	case (r.Feed == "") == (r.Journal == ""):
		return errors.New("export needs exactly one of --feed URL or --journal FILE")
	case r.Incident == "":
		return errors.New("export needs --incident ID")
	case r.Format != "md" && r.Format != "json":
		return fmt.Errorf("--format %q: expected md or json", r.Format)
	}
	return nil
}

// Run reads the incident's entries, builds its report and writes it.
func Run(ctx context.Context, r Request, stdout io.Writer) error {
	var src Source
	var err error
	if r.Journal != "" {
		src, err = FromJournal(r.Journal)
	} else {
		src, err = FromFeed(ctx, r.Feed, r.Token, r.Incident)
	}
	if err != nil {
		return err
	}
	report, err := Build(src, r.Incident)
	if err != nil {
		return err
	}
	if r.Enrich != nil {
		if err := r.Enrich(report, src); err != nil {
			return err
		}
	}
	out := stdout
	if r.Out != "" {
		f, err := os.Create(r.Out)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	if r.Format == "json" {
		return report.JSON(out)
	}
	return report.Markdown(out)
}
