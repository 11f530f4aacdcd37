package config

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vigil-oncall/vigil/feeds/customers"
	"github.com/vigil-oncall/vigil/feeds/publish"
	"github.com/vigil-oncall/vigil/feeds/subscribers"
)

// Customers is [serve.customers]: the control panel's export the hub
// reads its customers from.
type Customers struct {
	File string `toml:"file"` // id,name,email,hosts,components,plan,monthly_fee
}

// SLA is one [[serve.sla]]: what a plan promises per calendar month (UTC)
// and the credits owed below it.
type SLA struct {
	Plan               string      `toml:"plan"`
	Target             float64     `toml:"target"`
	Credits            []SLACredit `toml:"credits"`
	ExcludeMaintenance bool        `toml:"exclude_maintenance"`
}

// SLACredit is one tier: availability below Below earns Percent of the
// monthly fee.
type SLACredit struct {
	Below   float64 `toml:"below"`
	Percent float64 `toml:"percent"`
}

// ChannelCustomers is the type of a channel that writes to each affected
// customer of an incident.
const ChannelCustomers = "customers"

// DefaultCustomersPerSecond is how fast a customers channel sends when
// per_second is not set: a relay's usual limit for one client.
const DefaultCustomersPerSecond = 10

// Plans is the configured SLAs by plan name.
func (s Serve) Plans() map[string]customers.Plan {
	out := map[string]customers.Plan{}
	for _, p := range s.SLA {
		cp := customers.Plan{Name: p.Plan, Target: p.Target, ExcludeMaintenance: p.ExcludeMaintenance}
		for _, t := range p.Credits {
			cp.Credits = append(cp.Credits, customers.Tier{Below: t.Below, Percent: t.Percent})
		}
		out[p.Plan] = cp
	}
	return out
}

// knownPlan says whether a plan is configured; with no [[serve.sla]] at
// all, any plan is (the file can be read before the SLAs are written).
func (s Serve) knownPlan() func(string) bool {
	if len(s.SLA) == 0 {
		return nil
	}
	plans := s.Plans()
	return func(p string) bool { _, ok := plans[p]; return ok }
}

// CustomersFile is the customers file's path, relative paths taken from
// the config file's directory; "" when none is configured.
func (c *Config) CustomersFile() string {
	f := c.Serve.Customers.File
	if f == "" || filepath.IsAbs(f) || c.Path == "" {
		return f
	}
	return filepath.Join(filepath.Dir(c.Path), f)
}

// OpenCustomers reads the customers file (nil without one) and adds a
// sender for each customers channel to senders, writing its per-recipient
// progress under data_dir.
func (c *Config) OpenCustomers(senders map[string]publish.Sender) (*customers.Source, error) {
	var src *customers.Source
	if f := c.CustomersFile(); f != "" {
		var err error
		if src, err = customers.Open(f, c.Serve.knownPlan()); err != nil {
			return nil, err
		}
	}
	for _, ch := range c.Serve.Channels {
		if ch.Type != ChannelCustomers {
			continue
		}
		mail, ok := senders[ch.Email].(*publish.Email)
		if !ok || src == nil {
			return nil, fmt.Errorf("channel %q needs [serve.customers] file and email channel %q", ch.Name, ch.Email)
		}
		rate := ch.PerSecond
		if rate == 0 {
			rate = DefaultCustomersPerSecond
		}
		senders[ch.Name] = &publish.CustomerMail{Name: ch.Name, Mail: mail, PerSecond: rate,
			Dir: filepath.Join(c.Serve.DataDir, "deliveries"), Recipient: recipientOf(src)}
	}
	return src, nil
}

func recipientOf(src *customers.Source) func(string) (publish.Recipient, bool) {
	return func(id string) (publish.Recipient, bool) {
		c, ok := src.List().Get(id)
		return publish.Recipient{ID: c.ID, Name: c.Name, Email: c.Email}, ok
	}
}

func (c *Config) validateCustomers(add addFunc) {
	s := c.Serve
	c.validateSubscriptions(add)
	s.Status.Uptime.validate(add)
	s.validateAuto(add)
	s.validateSLA(add)
	c.validateCustomersFile(add)
	s.validateCustomerChannels(add)
}

func (s Serve) validateSLA(add addFunc) {
	plans := map[string]bool{}
	for i, p := range s.SLA {
		at := add.at(i, "serve", "sla")
		switch {
		case strings.TrimSpace(p.Plan) == "":
			at("plan", "sla %d needs the plan name the customers file uses", i+1)
		case plans[p.Plan]:
			at("plan", "plan %q has two [[serve.sla]]", p.Plan)
		}
		plans[p.Plan] = true
		if p.Target <= 0 || p.Target > 100 {
			at("target", "plan %q: target is a percent above 0 and at most 100, got %v", p.Plan, p.Target)
		}
		for _, t := range p.Credits {
			if t.Below <= 0 || t.Below > 100 || t.Percent <= 0 || t.Percent > 100 {
				at("credits", "plan %q: each credit is { below = <percent>, percent = <percent of the fee> }, both above 0 and at most 100; got below = %v, percent = %v", p.Plan, t.Below, t.Percent)
			}
		}
	}
}

// validateCustomersFile reads the customers file as serve would, its
// error located at the file's line rather than this one's.
func (c *Config) validateCustomersFile(add addFunc) {
	f := c.CustomersFile()
	if f == "" {
		return
	}
	if _, err := customers.Load(f, c.Serve.knownPlan()); err != nil {
		var ce *customers.Error
		msg := err.Error()
		if errors.As(err, &ce) && ce.Line > 0 {
			msg = fmt.Sprintf("line %d of %s: %s", ce.Line, ce.File, ce.Msg)
		}
		add([]string{"serve", "customers", "file"}, -1, "%s", msg)
	}
}

func (s Serve) validateCustomerChannels(add addFunc) {
	emails := map[string]bool{}
	for _, ch := range s.Channels {
		if ch.Type == "email" {
			emails[ch.Name] = true
		}
	}
	for i, ch := range s.Channels {
		at := add.at(i, "serve", "channels")
		if ch.Type != ChannelCustomers {
			if ch.Email != "" || ch.PerSecond != 0 {
				at("email", "email and per_second are for customers channels")
			}
			continue
		}
		s.validateCustomerChannel(at, ch, emails)
	}
}

func (s Serve) validateCustomerChannel(at addAt, ch Channel, emails map[string]bool) {
	if !emails[ch.Email] {
		at("email", "channel %q: email must name an email channel whose relay and from it uses, got %q", ch.Name, ch.Email)
	}
	if s.Customers.File == "" {
		at("type", "channel %q writes to customers but [serve.customers] has no file", ch.Name)
	}
	if ch.PerSecond < 0 || ch.PerSecond > 1000 {
		at("per_second", "expected messages per second between 0 (the default, %d) and 1000, got %v", DefaultCustomersPerSecond, ch.PerSecond)
	}
	if ch.SMTP != "" || ch.From != "" || len(ch.To) > 0 || ch.URL != "" || ch.Format != "" {
		at("smtp", "a customers channel takes relay and from from its email channel, and its recipients from the customers file")
	}
}

// ChannelSubscribers is the channel that writes to the status page's
// confirmed subscribers, when [serve.status] subscriptions is on.
const ChannelSubscribers = "subscribers"

// subscriptionsEmail is the email channel subscriber mail goes through.
func (s Serve) subscriptionsEmail() string {
	if s.Status.Email != "" {
		return s.Status.Email
	}
	for _, ch := range s.Channels {
		if ch.Type == "email" {
			return ch.Name
		}
	}
	return ""
}

// OpenSubscribers opens the subscriber store in data_dir and adds channel
// "subscribers" to senders; nil when subscriptions are off.
func (c *Config) OpenSubscribers(senders map[string]publish.Sender) (*subscribers.Handler, error) {
	s := c.Serve
	if !s.Status.Subscriptions {
		return nil, nil
	}
	mail, ok := senders[s.subscriptionsEmail()].(*publish.Email)
	if !ok {
		return nil, fmt.Errorf("[serve.status] subscriptions needs an email channel")
	}
	store, err := subscribers.Open(s.DataDir, nil)
	if err != nil {
		return nil, err
	}
	h := &subscribers.Handler{Store: store, BaseURL: s.Status.URL, SiteName: s.Site(s.Name).Name, Components: s.Site("").Components,
		Mail: mail.SendOne}
	senders[ChannelSubscribers] = &publish.SubscriberMail{Name: ChannelSubscribers, Mail: mail, PerSecond: DefaultCustomersPerSecond,
		Dir: filepath.Join(s.DataDir, "deliveries"), Confirmed: func(components []string) []publish.Recipient {
			subs := store.Confirmed(components)
			out := make([]publish.Recipient, len(subs))
			for i, x := range subs {
				u := h.UnsubscribeURL(x.ID)
				out[i] = publish.Recipient{ID: x.ID, Email: x.Email, Name: x.Email,
					Headers: map[string]string{"List-Unsubscribe": "<" + u + ">", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}
			}
			return out
		}}
	return h, nil
}

func (c *Config) validateSubscriptions(add func(key []string, index int, format string, args ...any)) {
	s := c.Serve
	if s.Status.Email != "" && !slices.ContainsFunc(s.Channels, func(ch Channel) bool { return ch.Name == s.Status.Email && ch.Type == "email" }) {
		add([]string{"serve", "status", "email"}, -1, "expected the name of an email channel, got %q", s.Status.Email)
	}
	if !s.Status.Subscriptions {
		return
	}
	if s.subscriptionsEmail() == "" {
		add([]string{"serve", "status", "subscriptions"}, -1, "subscriptions need an email channel to send confirmations and updates through")
	}
	if s.Status.URL == "" {
		add([]string{"serve", "status", "subscriptions"}, -1, "subscriptions need [serve.status] url: every mail carries links back to the page")
	}
	if slices.ContainsFunc(s.Channels, func(ch Channel) bool { return ch.Name == ChannelSubscribers }) {
		add([]string{"serve", "channels", "name"}, -1, "channel %q is the subscribers' own when subscriptions are on; choose another name", ChannelSubscribers)
	}
}

// Uptime is [serve.status.uptime]: how each state of a public component
// counts in its uptime.
type Uptime struct {
	PartialWeight    float64 `toml:"partial_weight"`    // share of partial-outage time counted down
	DegradedWeight   float64 `toml:"degraded_weight"`   // share of degraded time counted down
	CountMaintenance bool    `toml:"count_maintenance"` // maintenance counts as up, not left out
}

// DefaultUptime: a partial outage counts half, degraded performance as
// up, maintenance is left out.
func DefaultUptime() Uptime { return Uptime{PartialWeight: 0.5} }

// UptimeRules is the uptime configuration as the status page uses it.
func (s Serve) UptimeRules() publish.UptimeRules {
	r := publish.DefaultUptimeRules()
	r.PartialWeight, r.DegradedWeight, r.CountMaintenance = s.Status.Uptime.PartialWeight, s.Status.Uptime.DegradedWeight, s.Status.Uptime.CountMaintenance
	return r
}

func (u Uptime) validate(add func(key []string, index int, format string, args ...any)) {
	for _, w := range []struct {
		k string
		v float64
	}{{"partial_weight", u.PartialWeight}, {"degraded_weight", u.DegradedWeight}} {
		if w.v < 0 || w.v > 1 {
			add([]string{"serve", "status", "uptime", w.k}, -1, "expected a share between 0 and 1, got %v", w.v)
		}
	}
}

func (s Serve) validateAuto(add func(key []string, index int, format string, args ...any)) {
	for i, c := range s.Components {
		key := func(k string) []string { return []string{"serve", "components", k} }
		if c.Auto && len(c.Hosts) == 0 {
			add(key("auto"), i, "component %q: auto = true needs hosts (globs) to follow", c.ID)
		}
		for _, g := range append(slices.Clone(c.Hosts), c.Services...) {
			if _, err := path.Match(g, ""); err != nil || g == "" {
				add(key("hosts"), i, "component %q: %q is not a glob", c.ID, g)
			}
		}
	}
}
