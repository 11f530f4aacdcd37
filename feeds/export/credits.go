package export

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/customers"
)

// CustomersPart is the report's customers section: how many the incident
// affected, and the credits table of its month for those of them down
// during it.
type CustomersPart struct {
	Affected int                   `json:"affected"`
	Credits  customers.JSONCredits `json:"credits"`
}

// AddCustomers works out, from the same journal messages, who the
// incident affected and their credits for the month it opened in.
func (r *Report) AddCustomers(src Source, list *customers.List, plans map[string]customers.Plan, now time.Time) {
	f := customers.NewFacts()
	for _, m := range src.Messages {
		f.Observe(m)
	}
	month := customers.MonthOf(r.Incident.OpenedAt.Time)
	var mine []customers.Credit
	for _, c := range customers.Credits(list, f, plans, month, now) {
		if slices.Contains(c.Incidents, r.Incident.ID) {
			mine = append(mine, c)
		}
	}
	r.Customers = &CustomersPart{Affected: len(f.Affected(list, r.Incident.ID, now)), Credits: customers.ToJSON(month, mine)}
}

func (r *Report) creditsMarkdown(b *strings.Builder) {
	if r.Customers == nil {
		return
	}
	c := r.Customers
	fmt.Fprintf(b, "## Customers and credits\n\n%d customers affected (a host of theirs down or silent while the incident was open, or a component of theirs named).\n\n", c.Affected)
	if len(c.Credits.Customers) == 0 {
		b.WriteString("No customer had downtime during it.\n\n")
		return
	}
	fmt.Fprintf(b, "Their credits for %s (UTC), all of the month's downtime counted:\n\n", c.Credits.Month)
	b.WriteString("| Customer | Name | Plan | Down (min) | Availability | Credit % | Credit | Incidents |\n|---|---|---|---:|---:|---:|---:|---|\n")
	for _, x := range c.Credits.Customers {
		fmt.Fprintf(b, "| %s | %s | %s | %v | %v%% | %v%% | %.2f | %s |\n", mdEscape(x.Customer), mdEscape(x.Name), mdEscape(x.Plan),
			x.DownMinutes, x.Availability, x.CreditPercent, x.Credit, strings.Join(x.Incidents, ", "))
	}
	var due []string
	for _, d := range c.Credits.Due {
		due = append(due, fmt.Sprintf("%d due %v%% (%.2f)", d.Customers, d.Percent, d.Amount))
	}
	if len(due) > 0 {
		fmt.Fprintf(b, "\nDue: %s.\n", strings.Join(due, ", "))
	}
	b.WriteString("\n")
}
