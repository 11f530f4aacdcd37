package customers

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CSVHeader is the credits table's columns.
var CSVHeader = []string{"customer", "name", "plan", "down_minutes", "availability", "credit_percent", "credit", "incidents"}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// WriteCSV writes the credits table, one row per customer with any
// downtime; incidents are space-separated.
func WriteCSV(w io.Writer, credits []Credit) error {
	cw := csv.NewWriter(w)
	cw.Write(CSVHeader)
	for _, c := range credits {
		cw.Write([]string{c.Customer.ID, c.Customer.Name, c.Customer.Plan, num(c.DownMinutes), num(c.Availability),
			num(c.CreditPercent), strconv.FormatFloat(c.Credit, 'f', 2, 64), strings.Join(c.Incidents, " ")})
	}
	cw.Flush()
	return cw.Error()
}

// JSONCredit is one row of the credits table for tools.
type JSONCredit struct {
	Customer      string   `json:"customer"`
	Name          string   `json:"name"`
	Plan          string   `json:"plan"`
	DownMinutes   float64  `json:"down_minutes"`
	Availability  float64  `json:"availability"`
	CreditPercent float64  `json:"credit_percent"`
	Credit        float64  `json:"credit"`
	Incidents     []string `json:"incidents"`
}

// JSONDue is one line of the summary: how many customers earn a percent.
type JSONDue struct {
	Percent   float64 `json:"credit_percent"`
	Customers int     `json:"customers"`
	Amount    float64 `json:"credit"`
}

// JSONCredits is the whole month for tools.
type JSONCredits struct {
	Month     string       `json:"month"`
	Customers []JSONCredit `json:"customers"`
	Due       []JSONDue    `json:"due"`
}

// ToJSON is the month's credits as JSON values.
func ToJSON(m Month, credits []Credit) JSONCredits {
	out := JSONCredits{Month: m.String(), Customers: []JSONCredit{}, Due: []JSONDue{}}
	for _, c := range credits {
		inc := c.Incidents
		if inc == nil {
			inc = []string{}
		}
		out.Customers = append(out.Customers, JSONCredit{c.Customer.ID, c.Customer.Name, c.Customer.Plan, c.DownMinutes, c.Availability, c.CreditPercent, c.Credit, inc})
	}
	for _, d := range Summarize(credits) {
		out.Due = append(out.Due, JSONDue(d))
	}
	return out
}

// WriteJSON writes the month's credits as one JSON document.
func WriteJSON(w io.Writer, m Month, credits []Credit) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ToJSON(m, credits))
}

// DueLine is the make-right summary in one line: "3 customers due 10%
// (4.50), 1 due 25% (2.50)"; "" when nobody is due anything.
func DueLine(credits []Credit) string {
	var parts []string
	for i, d := range Summarize(credits) {
		who := fmt.Sprintf("%d customers", d.Customers)
		if d.Customers == 1 {
			who = "1 customer"
		}
		if i > 0 {
			who = strconv.Itoa(d.Customers)
		}
		parts = append(parts, fmt.Sprintf("%s due %s%% (%.2f)", who, num(d.Percent), d.Amount))
	}
	return strings.Join(parts, ", ")
}

// WriteMarkdown writes the credits as a Markdown table with the summary
// under it. Names are the file's: a pipe in one is escaped.
func WriteMarkdown(w io.Writer, m Month, credits []Credit) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## Credits for %s (UTC)\n\n", m)
	if len(credits) == 0 {
		b.WriteString("No customer had any downtime.\n")
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("| Customer | Name | Plan | Down (min) | Availability | Credit % | Credit | Incidents |\n")
	b.WriteString("| --- | --- | --- | ---: | ---: | ---: | ---: | --- |\n")
	cell := strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ")
	for _, c := range credits {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s%% | %s%% | %.2f | %s |\n", cell.Replace(c.Customer.ID), cell.Replace(c.Customer.Name),
			cell.Replace(c.Customer.Plan), num(c.DownMinutes), num(c.Availability), num(c.CreditPercent), c.Credit, strings.Join(c.Incidents, ", "))
	}
	if line := DueLine(credits); line != "" {
		b.WriteString("\n" + line + ".\n")
	} else {
		b.WriteString("\nNo customer is due a credit.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
