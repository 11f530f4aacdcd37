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

// validatePaging checks the people, rotations and escalations pages go to
// and the rules that send them, in that order: each section may name only
// what an earlier one defined.
func (c *Config) validatePaging(add addFunc) {
	s := c.Serve
	channels := map[string]string{}
	for _, ch := range s.Channels {
		channels[ch.Name] = ch.Type
	}
	s.validateComponentGlobs(add)
	people := s.validatePeople(add, channels)
	rotations := s.validateRotations(add, people)
	escalations := s.validateEscalations(add, notifyTarget(people, rotations))
	if s.Paging != nil {
		s.Paging.validate(add, channels)
		s.Paging.validateRules(add, escalations)
	}
}

func (s Serve) validateComponentGlobs(add addFunc) {
	for i, comp := range s.Components {
		for _, g := range append(slices.Clone(comp.Hosts), comp.Services...) {
			if err := paging.ValidGlob(g); err != nil {
				add([]string{"serve", "components", "hosts"}, i, "component %q: %q is not a glob: %v", comp.ID, g, err)
			}
		}
	}
}

// validatePeople returns the names of the people, for the sections that
// name them.
func (s Serve) validatePeople(add addFunc, channels map[string]string) map[string]bool {
	people := map[string]bool{}
	for i, p := range s.People {
		at := add.at(i, "serve", "people")
		switch err := protocol.CheckID("name", p.Name); {
		case err != nil:
			at("name", "person %d: %v", i+1, err)
		case people[p.Name]:
			at("name", "person %q listed twice", p.Name)
		}
		people[p.Name] = true
		p.validateReach(at, channels)
	}
	return people
}

// validateReach checks the ways a page reaches the person.
func (p Person) validateReach(at addAt, channels map[string]string) {
	if p.Email != "" {
		if _, err := mail.ParseAddress(p.Email); err != nil {
			at("email", "person %q: expected an email address, got %q", p.Name, p.Email)
		}
	}
	if p.Webhook != "" && channels[p.Webhook] != "webhook" {
		at("webhook", "person %q: no webhook channel %q in [[serve.channels]]", p.Name, p.Webhook)
	}
	if p.Email == "" && p.Webhook == "" {
		at("name", "person %q has neither email nor webhook: a page could not reach them", p.Name)
	}
}

// validateRotations returns the names of the rotations, for the
// escalations that name them.
func (s Serve) validateRotations(add addFunc, people map[string]bool) map[string]bool {
	rotations := map[string]bool{}
	for i, r := range s.Rotations {
		at := add.at(i, "serve", "rotations")
		switch err := protocol.CheckID("name", r.Name); {
		case err != nil:
			at("name", "rotation %d: %v", i+1, err)
		case rotations[r.Name]:
			at("name", "rotation %q listed twice", r.Name)
		}
		rotations[r.Name] = true
		r.validatePeople(at, people)
		r.validateShifts(at)
	}
	return rotations
}

func (r Rotation) validatePeople(at addAt, people map[string]bool) {
	if len(r.People) == 0 {
		at("people", "rotation %q needs people", r.Name)
	}
	for _, p := range r.People {
		if !people[p] {
			at("people", "rotation %q: no person %q in [[serve.people]]", r.Name, p)
		}
	}
}

func (r Rotation) validateShifts(at addAt) {
	if _, err := time.Parse(time.RFC3339, r.Start); err != nil {
		at("start", "rotation %q: expected the first handoff as an RFC 3339 time like \"2026-12-07T09:00:00+01:00\", got %q", r.Name, r.Start)
	}
	if r.Shift.Duration <= 0 {
		at("shift", "rotation %q: expected a positive duration like \"168h\", got %s", r.Name, r.Shift)
	}
	if r.TimeZone != "" {
		if _, err := time.LoadLocation(r.TimeZone); err != nil {
			at("time_zone", "rotation %q: unknown time zone %q", r.Name, r.TimeZone)
		}
	}
}

// notifyTarget says what is wrong with an escalation level's target
// ("person:NAME" or "rotation:NAME"), or "" when it names one.
func notifyTarget(people, rotations map[string]bool) func(t string) string {
	return func(t string) string {
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
}

// validateEscalations returns the names of the escalations, for the rules
// that name them.
func (s Serve) validateEscalations(add addFunc, target func(string) string) map[string]bool {
	escalations := map[string]bool{}
	levelN := 0 // inline levels are located by their index across escalations
	for i, e := range s.Escalations {
		at := add.at(i, "serve", "escalations")
		switch err := protocol.CheckID("name", e.Name); {
		case err != nil:
			at("name", "escalation %d: %v", i+1, err)
		case strings.Contains(e.Name, ":"):
			at("name", "escalation %q: a name cannot hold \":\"", e.Name)
		case escalations[e.Name]:
			at("name", "escalation %q listed twice", e.Name)
		}
		escalations[e.Name] = true
		if len(e.Levels) == 0 {
			at("levels", "escalation %q needs levels = [ { notify = [\"rotation:primary\"], wait = \"5m\" } ]", e.Name)
		}
		e.validateLevels(add, levelN, target)
		levelN += len(e.Levels)
		if e.Repeat < 0 {
			at("repeat", "escalation %q: expected 0 or more, got %d", e.Name, e.Repeat)
		}
		if e.AckTimeout.Duration < 0 {
			at("ack_timeout", "escalation %q: cannot be negative (0 is never), got %s", e.Name, e.AckTimeout)
		}
	}
	return escalations
}

// validateLevels checks the escalation's levels, the first of them the
// levelN-th level of the file.
func (e Escalation) validateLevels(add addFunc, levelN int, target func(string) string) {
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
}

// validate checks [serve.paging]'s own keys.
func (p *Paging) validate(add addFunc, channels map[string]string) {
	key := func(k string) []string { return []string{"serve", "paging", k} }
	if p.Email != "" && channels[p.Email] != "email" {
		add(key("email"), -1, "no email channel %q in [[serve.channels]]", p.Email)
	}
	if !httpURL(p.URL) {
		add(key("url"), -1, "expected the hub's public http:// or https:// address (acknowledge links point there), got %q", p.URL)
	}
	if p.Heartbeat != "" && !httpURL(p.Heartbeat) {
		add(key("heartbeat"), -1, "expected an http:// or https:// URL, got %q", p.Heartbeat)
	}
	if p.HeartbeatEvery.Duration != 0 && p.HeartbeatEvery.Duration < time.Second {
		add(key("heartbeat_every"), -1, "expected at least 1s, got %s", p.HeartbeatEvery)
	}
}

// httpURL reports whether s parses as an http:// or https:// URL with a
// host.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (p *Paging) validateRules(add addFunc, escalations map[string]bool) {
	for i, r := range p.Rules {
		r.validate(add.at(i, "serve", "paging", "rules"), i+1, escalations)
	}
}

// validate checks rule number n.
func (r PagingRule) validate(at addAt, n int, escalations map[string]bool) {
	if len(r.On) == 0 {
		at("on", "rule %d: on what? (%s)", n, strings.Join(pagingEvents, ", "))
	}
	for _, on := range r.On {
		if !slices.Contains(pagingEvents, on) {
			at("on", "rule %d: expected one of %s, got %q", n, strings.Join(pagingEvents, ", "), on)
		}
	}
	for _, g := range r.Hosts {
		if err := paging.ValidGlob(g); err != nil {
			at("hosts", "rule %d: %q is not a glob: %v", n, g, err)
		}
	}
	for _, g := range r.Services {
		if err := paging.ValidGlob(g); err != nil {
			at("services", "rule %d: %q is not a glob: %v", n, g, err)
		}
	}
	if !escalations[r.Escalation] {
		at("escalation", "rule %d: no escalation %q in [[serve.escalations]]", n, r.Escalation)
	}
	if r.Group != nil && r.Group.Duration < 0 {
		at("group", "rule %d: cannot be negative, got %s", n, r.Group)
	}
	if r.Urgency != "" && r.Urgency != protocol.UrgencyHigh && r.Urgency != protocol.UrgencyLow {
		at("urgency", "rule %d: expected high or low, got %q", n, r.Urgency)
	}
}

// addAt adds an error at one key of the list item being checked.
type addAt func(key, format string, args ...any)

// at adds errors at the keys of item i of the list at section.
func (add addFunc) at(i int, section ...string) addAt {
	return func(key, format string, args ...any) { add(append(slices.Clone(section), key), i, format, args...) }
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
