package review

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/export"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Read reads what a review of month needs: a journal's data directory
// (journalDir), or a feed (url) back to the month's start.
func Read(ctx context.Context, journalDir, url, token string, month time.Time) ([]protocol.Message, error) {
	var src export.Source
	var err error
	if journalDir != "" {
		src, err = export.FromJournal(journalDir)
	} else {
		start := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
		src, err = export.FromFeedSince(ctx, url, token, start)
	}
	return src.Messages, err
}

// JSON writes the review for tools.
func (m *Month) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

// Markdown writes the review for people.
func (m *Month) Markdown(w io.Writer) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("# Incident review %s\n\n", m.Month)
	p("| Figure | Value |\n| --- | --- |\n")
	p("| Incidents | %d |\n", len(m.Incidents))
	p("| Mean time to acknowledge | %s |\n", dur(m.MTTA))
	p("| Mean time to resolve | %s |\n", dur(m.MTTR))
	p("| First public notice, median | %s |\n", dur(m.FirstNoticeP50))
	p("| First public notice, 90th percentile | %s |\n", dur(m.FirstNoticeP90))
	p("| Communication steps late | %d |\n", m.StepsLate)
	a := m.Availability
	p("| Availability | %.3f%% (target %g%%) |\n", a.Pct, a.TargetPct)
	p("| Downtime | %s |\n", dur(&a.DowntimeS))
	p("| Error budget | %s, %s |\n", dur(&a.BudgetS), budgetLeft(a.BudgetLeft))
	if m.CustomersPending {
		p("\nCustomers affected and credits need the hub's customer data ([serve.customers] file); without it they show as 0.\n")
	}
	for _, in := range m.Incidents {
		p("\n## %s: %s\n\n", in.ID, sanitize(in.Title))
		resolved := "not resolved"
		if in.ResolvedAt != nil {
			resolved = in.ResolvedAt.String()
		}
		p("Opened %s, resolved %s.\n\n", in.OpenedAt.String(), resolved)
		p("| Time to acknowledge | Time to first public notice | Time to resolve | Customers affected | Credits |\n| --- | --- | --- | --- | --- |\n")
		p("| %s | %s | %s | %d | %d |\n", dur(in.TimeToAck), dur(in.TimeToFirstNotice), dur(in.TimeToResolve), in.CustomersAffected, len(in.Credits))
		if len(in.Steps) == 0 {
			continue
		}
		p("\n| Step | Due | Done | Verdict |\n| --- | --- | --- | --- |\n")
		for _, s := range in.Steps {
			p("| `%s` | %s | %s | %s |\n", s.ID, tm(s.DueAt), tm(s.DoneAt), verdict(s))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func verdict(s Step) string {
	switch {
	case s.Late != nil && s.DoneAt == nil:
		return "missed, not done " + dur(s.Late) + " after its deadline"
	case s.Late != nil:
		return "late by " + dur(s.Late)
	case s.Declared && s.DoneAt != nil:
		return "met (counted from the declaration, which came after the deadline)"
	case s.DoneAt != nil:
		return "met"
	default:
		return "not yet due"
	}
}

func budgetLeft(s int64) string {
	if s < 0 {
		return dur(ptr(-s)) + " over"
	}
	return dur(&s) + " left"
}

func ptr(v int64) *int64 { return &v }

func tm(t *protocol.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// dur writes whole seconds the way a debrief reads them: "4m", "6m30s",
// "25d9h5m".
func dur(s *int64) string {
	if s == nil {
		return "—"
	}
	d := time.Duration(*s) * time.Second
	if d >= 24*time.Hour {
		days := d / (24 * time.Hour)
		rest := d % (24 * time.Hour)
		if rest == 0 {
			return fmt.Sprintf("%dd", days)
		}
		return fmt.Sprintf("%dd", days) + protocol.FormatDuration(rest)
	}
	return protocol.FormatDuration(d)
}

// sanitize keeps a title from a journal to one printable line.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '|' {
			return ' '
		}
		return r
	}, s)
}

// Request is a vigil report command line.
type Request struct {
	Month   string // YYYY-MM
	Journal string // a data directory, or
	Feed    string // a hub's feed URL
	Token   string
	Format  string  // md or json
	Target  float64 // the plan's availability target, percent
	// Customers, where the configuration names a customers file, gives
	// each incident's customers affected and credits.
	Customers *Customers
}

// Check says what is wrong with the request, before anything is read.
func (r Request) Check() error {
	if (r.Feed == "") == (r.Journal == "") {
		return fmt.Errorf("report needs exactly one of --feed URL or --journal DIR")
	}
	if _, err := ParseMonth(r.Month); err != nil {
		return fmt.Errorf("--month: %w", err)
	}
	if r.Format != "md" && r.Format != "json" {
		return fmt.Errorf("--format %q: expected md or json", r.Format)
	}
	if r.Target <= 0 || r.Target >= 100 {
		return fmt.Errorf("--target %v: expected a percentage below 100, like 99.9", r.Target)
	}
	return nil
}

// Run reads the journal and writes the month's review to w.
func Run(ctx context.Context, r Request, w io.Writer) error {
	month, err := ParseMonth(r.Month)
	if err != nil {
		return err
	}
	msgs, err := Read(ctx, r.Journal, r.Feed, r.Token, month)
	if err != nil {
		return err
	}
	m := Review(msgs, Options{Month: month, TargetPct: r.Target, Now: time.Now(), Customers: r.Customers})
	if r.Format == "json" {
		return m.JSON(w)
	}
	return m.Markdown(w)
}
