package review

import (
	"context"
	"strings"
	"testing"

	"github.com/vigil-oncall/vigil/feeds/customers"
	"github.com/vigil-oncall/vigil/feeds/review/reviewtest"
)

// With the hub's customer data, each incident counts the customers whose
// hosts were out while it was open, and lists the credits their plans owe.
func TestMonthWithCustomers(t *testing.T) {
	h := reviewtest.November(t)
	h.Stop()
	msgs, err := Read(context.Background(), h.Dir, "", "", reviewtest.TS("2026-11-01T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := customers.Parse(strings.NewReader(`id,name,email,hosts,components,plan,monthly_fee
shop42,Shop 42,ops@shop42.example,shared-04,,business,100
blog7,Blog 7,me@blog7.example,shared-04 web-1,,basic,10
far,Far Away,x@far.example,db-9,,business,100
`), "customers.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]customers.Plan{
		"business": {Name: "business", Target: 99.9, Credits: []customers.Tier{{Below: 99.9, Percent: 10}}},
		"basic":    {Name: "basic", Target: 99, Credits: []customers.Tier{{Below: 99, Percent: 5}}},
	}
	m := Review(msgs, Options{Month: reviewtest.TS("2026-11-01T00:00:00Z"), TargetPct: 99.9, Now: reviewtest.TS("2026-12-01T00:00:00Z"),
		Customers: &Customers{List: list, Plans: plans}})
	var night *Incident
	for i := range m.Incidents {
		if m.Incidents[i].ID == "INC-4" {
			night = &m.Incidents[i]
		}
	}
	// exim on shared-04 was down 02:11:40-03:35: both of its customers;
	// 83 minutes is 99.81% of November, under business's 99.9, over basic's 99.
	if night == nil || night.CustomersAffected != 2 || len(night.Credits) != 1 || night.Credits[0].Customer != "shop42" || night.Credits[0].Amount != 10 {
		t.Fatalf("INC-4: %+v", night)
	}
	if m.CustomersPending {
		t.Fatal("customer data given, yet pending")
	}
}
