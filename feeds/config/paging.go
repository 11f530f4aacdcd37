package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/paging"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Paging is [serve.paging]: how pages leave the hub and which events page
// whom.
type Paging struct {
	// Email names an email channel whose relay and From carry pages (its
	// `to` is not used).
	Email string `toml:"email"`
	// URL is the hub's public address, for acknowledge links.
	URL string `toml:"url"`
	// Heartbeat is an outside dead man's switch, fetched (GET) every
	// HeartbeatEvery while the hub is healthy.
	Heartbeat      string       `toml:"heartbeat"`
	HeartbeatEvery Duration     `toml:"heartbeat_every"`
	Rules          []PagingRule `toml:"rules"`
}

// PagingRule is one [[serve.paging.rules]]: the first that matches an
// event wins.
type PagingRule struct {
	Name       string    `toml:"name"` // default: the escalation's name
	On         []string  `toml:"on"`
	Hosts      []string  `toml:"hosts"`
	Services   []string  `toml:"services"`
	Escalation string    `toml:"escalation"`
	Group      *Duration `toml:"group"`
	Urgency    string    `toml:"urgency"`
}

// Person is one [[serve.people]]: someone who can be paged.
type Person struct {
	Name    string `toml:"name"`
	Email   string `toml:"email"`
	Webhook string `toml:"webhook"`
}

// Rotation is one [[serve.rotations]].
type Rotation struct {
	Name   string   `toml:"name"`
	People []string `toml:"people"`
	Start  string   `toml:"start"` // RFC 3339: the first handoff
	Shift  Duration `toml:"shift"`
	// TimeZone keeps handoffs of whole-day shifts at the same wall clock
	// time across daylight saving changes ("Europe/Berlin").
	TimeZone string `toml:"time_zone"`
}

// Escalation is one [[serve.escalations]].
type Escalation struct {
	Name       string            `toml:"name"`
	Levels     []EscalationLevel `toml:"levels"`
	Repeat     int               `toml:"repeat"`
	AckTimeout Duration          `toml:"ack_timeout"`
}

// EscalationLevel is one level: whom it notifies and how long it waits.
type EscalationLevel struct {
	Notify []string `toml:"notify"`
	Wait   Duration `toml:"wait"`
}

// Paging defaults.
const (
	DefaultHeartbeatEvery = time.Minute
	DefaultGroup          = 30 * time.Second
)

// pagingEvents are the event kinds a rule may be on.
var pagingEvents = []string{protocol.WhatCrit, protocol.WhatWarn, protocol.WhatDown, protocol.WhatSilent, protocol.WhatAlert,
	protocol.WhatExpiry, protocol.WhatHub, protocol.WhatComms}

func (c *Config) validatePaging(add func(key []string, index int, format string, args ...any)) {
	s := c.Serve
	channels := map[string]string{}
	for _, ch := range s.Channels {
		channels[ch.Name] = ch.Type
	}
	for i, comp := range s.Components {
		for _, g := range append(slices.Clone(comp.Hosts), comp.Services...) {
			if err := paging.ValidGlob(g); err != nil {
				add([]string{"serve", "components", "hosts"}, i, "component %q: %q is not a glob: %v", comp.ID, g, err)
			}
		}
	}
	people := map[string]bool{}
	for i, p := range s.People {
		key := func(k string) []string { return []string{"serve", "people", k} }
		switch err := protocol.CheckID("name", p.Name); {
		case err != nil:
			add(key("name"), i, "person %d: %v", i+1, err)
		case people[p.Name]:
			add(key("name"), i, "person %q listed twice", p.Name)
		}
		people[p.Name] = true
		if p.Email != "" {
			if _, err := mail.ParseAddress(p.Email); err != nil {
				add(key("email"), i, "person %q: expected an email address, got %q", p.Name, p.Email)
			}
		}
		if p.Webhook != "" && channels[p.Webhook] != "webhook" {
			add(key("webhook"), i, "person %q: no webhook channel %q in [[serve.channels]]", p.Name, p.Webhook)
		}
		if p.Email == "" && p.Webhook == "" {
			add(key("name"), i, "person %q has neither email nor webhook: a page could not reach them", p.Name)
		}
	}
	rotations := map[string]bool{}
	for i, r := range s.Rotations {
		key := func(k string) []string { return []string{"serve", "rotations", k} }
		switch err := protocol.CheckID("name", r.Name); {
		case err != nil:
			add(key("name"), i, "rotation %d: %v", i+1, err)
		case rotations[r.Name]:
			add(key("name"), i, "rotation %q listed twice", r.Name)
		}
		rotations[r.Name] = true
		if len(r.People) == 0 {
			add(key("people"), i, "rotation %q needs people", r.Name)
		}
		for _, p := range r.People {
			if !people[p] {
				add(key("people"), i, "rotation %q: no person %q in [[serve.people]]", r.Name, p)
			}
		}
		if _, err := time.Parse(time.RFC3339, r.Start); err != nil {
			add(key("start"), i, "rotation %q: expected the first handoff as an RFC 3339 time like \"2026-12-07T09:00:00+01:00\", got %q", r.Name, r.Start)
		}
		if r.Shift.Duration <= 0 {
			add(key("shift"), i, "rotation %q: expected a positive duration like \"168h\", got %s", r.Name, r.Shift)
		}
		if r.TimeZone != "" {
			if _, err := time.LoadLocation(r.TimeZone); err != nil {
				add(key("time_zone"), i, "rotation %q: unknown time zone %q", r.Name, r.TimeZone)
			}
		}
	}
	target := func(t string) string {
		kind, name, _ := strings.Cut(t, ":")
		switch {
		case kind == "person" && people[name], kind == "rotation" && rotations[name]:
			return ""
		case kind == "person":
			return "no person " + quote(name) + " in [[serve.people]]"
		case kind == "rotation":
			return "no rotation " + quote(name) + " in [[serve.rotations]]"
		}
		return "expected person:NAME or rotation:NAME, got " + quote(t)
	}
	escalations := map[string]bool{}
	levelN := 0 // inline levels are located by their index across escalations
	for i, e := range s.Escalations {
		key := func(k string) []string { return []string{"serve", "escalations", k} }
		switch err := protocol.CheckID("name", e.Name); {
		case err != nil:
			add(key("name"), i, "escalation %d: %v", i+1, err)
		case strings.Contains(e.Name, ":"):
			add(key("name"), i, "escalation %q: a name cannot hold \":\"", e.Name)
		case escalations[e.Name]:
			add(key("name"), i, "escalation %q listed twice", e.Name)
		}
		escalations[e.Name] = true
		if len(e.Levels) == 0 {
			add(key("levels"), i, "escalation %q needs levels = [ { notify = [\"rotation:primary\"], wait = \"5m\" } ]", e.Name)
		}
		level := func(k string) []string { return []string{"serve", "escalations", "levels", k} }
		for j, l := range e.Levels {
			if len(l.Notify) == 0 {
				add(level("notify"), levelN+j, "escalation %q level %d: notify nobody", e.Name, j+1)
			}
			for _, t := range l.Notify {
				if why := target(t); why != "" {
					add(level("notify"), levelN+j, "escalation %q level %d: %s", e.Name, j+1, why)
				}
			}
			if l.Wait.Duration <= 0 {
				add(level("wait"), levelN+j, "escalation %q level %d: expected a positive wait like \"5m\", got %s", e.Name, j+1, l.Wait)
			}
		}
		levelN += len(e.Levels)
		if e.Repeat < 0 {
			add(key("repeat"), i, "escalation %q: expected 0 or more, got %d", e.Name, e.Repeat)
		}
		if e.AckTimeout.Duration < 0 {
			add(key("ack_timeout"), i, "escalation %q: cannot be negative (0 is never), got %s", e.Name, e.AckTimeout)
		}
	}
	p := s.Paging
	if p == nil {
		return
	}
	key := func(k string) []string { return []string{"serve", "paging", k} }
	if p.Email != "" && channels[p.Email] != "email" {
		add(key("email"), -1, "no email channel %q in [[serve.channels]]", p.Email)
	}
	if u, err := url.Parse(p.URL); p.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add(key("url"), -1, "expected the hub's public http:// or https:// address (acknowledge links point there), got %q", p.URL)
	}
	if p.Heartbeat != "" {
		if u, err := url.Parse(p.Heartbeat); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add(key("heartbeat"), -1, "expected an http:// or https:// URL, got %q", p.Heartbeat)
		}
	}
	if p.HeartbeatEvery.Duration != 0 && p.HeartbeatEvery.Duration < time.Second {
		add(key("heartbeat_every"), -1, "expected at least 1s, got %s", p.HeartbeatEvery)
	}
	for i, r := range p.Rules {
		key := func(k string) []string { return []string{"serve", "paging", "rules", k} }
		if len(r.On) == 0 {
			add(key("on"), i, "rule %d: on what? (%s)", i+1, strings.Join(pagingEvents, ", "))
		}
		for _, on := range r.On {
			if !slices.Contains(pagingEvents, on) {
				add(key("on"), i, "rule %d: expected one of %s, got %q", i+1, strings.Join(pagingEvents, ", "), on)
			}
		}
		for _, g := range r.Hosts {
			if err := paging.ValidGlob(g); err != nil {
				add(key("hosts"), i, "rule %d: %q is not a glob: %v", i+1, g, err)
			}
		}
		for _, g := range r.Services {
			if err := paging.ValidGlob(g); err != nil {
				add(key("services"), i, "rule %d: %q is not a glob: %v", i+1, g, err)
			}
		}
		if !escalations[r.Escalation] {
			add(key("escalation"), i, "rule %d: no escalation %q in [[serve.escalations]]", i+1, r.Escalation)
		}
		if r.Group != nil && r.Group.Duration < 0 {
			add(key("group"), i, "rule %d: cannot be negative, got %s", i+1, r.Group)
		}
		if r.Urgency != "" && r.Urgency != protocol.UrgencyHigh && r.Urgency != protocol.UrgencyLow {
			add(key("urgency"), i, "rule %d: expected high or low, got %q", i+1, r.Urgency)
		}
	}
}

func quote(s string) string { return `"` + s + `"` }

// PagingConfig is the paging engine's configuration (validated by
// Parse).
func (s Serve) PagingConfig() paging.Config {
	pc := paging.Config{People: map[string]paging.Person{}, Rotations: map[string]paging.Rotation{}, Escalations: map[string]paging.Escalation{}}
	pc.Email = s.Paging != nil && s.Paging.Email != ""
	for _, p := range s.People {
		pc.People[p.Name] = paging.Person{Name: p.Name, Email: p.Email, Webhook: p.Webhook}
	}
	for _, r := range s.Rotations {
		start, _ := time.Parse(time.RFC3339, r.Start)
		rot := paging.Rotation{Name: r.Name, People: slices.Clone(r.People), Start: start, Shift: r.Shift.Duration}
		if r.TimeZone != "" {
			rot.Location, _ = time.LoadLocation(r.TimeZone)
		}
		pc.Rotations[r.Name] = rot
	}
	for _, e := range s.Escalations {
		esc := paging.Escalation{Name: e.Name, Repeat: e.Repeat, AckTimeout: e.AckTimeout.Duration}
		for _, l := range e.Levels {
			esc.Levels = append(esc.Levels, paging.Level{Notify: slices.Clone(l.Notify), Wait: l.Wait.Duration})
		}
		pc.Escalations[e.Name] = esc
	}
	for _, c := range s.Components {
		pc.Components = append(pc.Components, paging.Component{ID: c.ID, Hosts: slices.Clone(c.Hosts), Services: slices.Clone(c.Services)})
	}
	if s.Paging != nil {
		named := map[string]bool{}
		for i, r := range s.Paging.Rules {
			rule := paging.Rule{Name: r.Name, On: slices.Clone(r.On), Hosts: slices.Clone(r.Hosts), Services: slices.Clone(r.Services),
				Escalation: r.Escalation, Group: DefaultGroup, Urgency: r.Urgency}
			if rule.Name == "" {
				rule.Name = r.Escalation
				if named[rule.Name] {
					rule.Name = fmt.Sprintf("%s-%d", r.Escalation, i+1)
				}
			}
			named[rule.Name] = true
			if r.Group != nil {
				rule.Group = r.Group.Duration
			}
			if rule.Urgency == "" {
				rule.Urgency = protocol.UrgencyHigh
			}
			pc.Rules = append(pc.Rules, rule)
		}
	}
	return pc
}

// HeartbeatEvery is how often the heartbeat is fetched.
func (p *Paging) HeartbeatInterval() time.Duration {
	if p == nil || p.HeartbeatEvery.Duration == 0 {
		return DefaultHeartbeatEvery
	}
	return p.HeartbeatEvery.Duration
}
