package review

import (
	"time"

	"github.com/vigil-oncall/vigil/feeds/customers"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Customers is the hub's customer data: who an incident touched and what
// their plans owe.
type Customers struct {
	List  *customers.List
	Plans map[string]customers.Plan
}

// addCustomers fills each incident's customers affected and the credits
// the month owes that name it (a customer's credit is for the month: it
// is listed under every incident that took their service down).
func (m *Month) addCustomers(msgs []protocol.Message, c *Customers, from, to, now time.Time) {
	if c == nil || c.List == nil {
		return
	}
	m.CustomersPending = false
	f := customers.NewFacts()
	for _, msg := range msgs {
		f.Observe(msg)
	}
	byIncident := map[string][]Credit{}
	for _, cr := range customers.Credits(c.List, f, c.Plans, customers.Month{Start: from, End: to}, now) {
		if cr.Credit <= 0 {
			continue
		}
		for _, id := range cr.Incidents {
			byIncident[id] = append(byIncident[id], Credit{Customer: cr.Customer.ID, Amount: cr.Credit})
		}
	}
	for i := range m.Incidents {
		in := &m.Incidents[i]
		in.CustomersAffected = len(f.Affected(c.List, in.ID, now))
		if cs := byIncident[in.ID]; len(cs) > 0 {
			in.Credits = cs
		}
	}
}
