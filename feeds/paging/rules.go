// Package paging decides who is woken, and when: rules turn events into
// pages, escalations say whom each page notifies level by level, rotations
// say who is on call, silences and maintenance windows hold pages back.
// It is pure: no I/O, no clock of its own. Its state is rebuilt from the
// journal (Observe), and given the time it says which notifications are
// due; the hub journals and sends them.
package paging

import (
	"path"
	"slices"
	"strings"
	"time"
)

// Rule turns events into pages: the first rule that matches an event
// wins.
type Rule struct {
	Name       string
	On         []string // event kinds: crit, warn, down, silent, alert, …
	Hosts      []string // globs; none matches every host
	Services   []string // globs; none matches every service
	Escalation string
	Group      time.Duration // events this close together are one page
	Urgency    string        // high, or low: the first level once, no escalation
}

// Event is something that may page: a problem beginning, or (Clear) the
// problem of the same key ending.
type Event struct {
	At      time.Time
	What    string // protocol.WhatCrit, WhatDown, …
	Host    string
	Service string
	Text    string
	Clear   bool
}

// Key names the problem an event is about, so its clearing finds it.
func (ev Event) Key() string { return ev.What + "\x00" + ev.Host + "\x00" + ev.Service }

// Glob reports whether name matches pattern (path.Match: * any run, ?
// one character, [a-z] a class). A malformed pattern matches nothing;
// configuration refuses them (ValidGlob).
func Glob(pattern, name string) bool {
	ok, err := path.Match(pattern, name)
	return err == nil && ok
}

// ValidGlob reports why pattern is not a glob, or nil.
func ValidGlob(pattern string) error {
	_, err := path.Match(pattern, "")
	return err
}

func anyGlob(patterns []string, name string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if Glob(p, name) {
			return true
		}
	}
	return false
}

// Matches reports whether the rule takes ev. An event about no service (a
// host's load, a silent host) matches any services list that "*" would.
func (r Rule) Matches(ev Event) bool {
	if !slices.Contains(r.On, ev.What) {
		return false
	}
	if !anyGlob(r.Hosts, ev.Host) {
		return false
	}
	if ev.Service == "" {
		return len(r.Services) == 0 || slices.Contains(r.Services, "*")
	}
	return anyGlob(r.Services, ev.Service)
}

// Match returns the first rule that takes ev.
func Match(rules []Rule, ev Event) (Rule, bool) {
	for _, r := range rules {
		if r.Matches(ev) {
			return r, true
		}
	}
	return Rule{}, false
}

// Level is one level of an escalation: whom it notifies ("person:dana",
// "rotation:primary"), and how long it waits for an acknowledgement.
type Level struct {
	Notify []string
	Wait   time.Duration
}

// Escalation is the levels a page goes through, repeated Repeat more
// times when nobody acknowledges; an acknowledged page that is not
// resolved after AckTimeout (0: never) pages again.
type Escalation struct {
	Name       string
	Levels     []Level
	Repeat     int
	AckTimeout time.Duration
}

// DirectWait is how long a page sent to named people (a summon, an
// overdue step, a handoff) waits at each of them.
const DirectWait = 15 * time.Minute

// directEscalation reads an escalation name made of targets ("person:dana"
// or "person:alice,person:bob"): one level per target. Pages that were not
// raised by a rule carry their targets so.
func directEscalation(name string) (Escalation, bool) {
	if !strings.Contains(name, ":") {
		return Escalation{}, false
	}
	e := Escalation{Name: name}
	for _, t := range strings.Split(name, ",") {
		e.Levels = append(e.Levels, Level{Notify: []string{t}, Wait: DirectWait})
	}
	return e, true
}

// Person is someone who can be paged, and how.
type Person struct {
	Name    string
	Email   string // "" : not by email
	Webhook string // a webhook channel's name, "" for none
}

// Component is a public component and the hosts and services it runs on:
// a maintenance window of the component silences them.
type Component struct {
	ID       string
	Hosts    []string
	Services []string
}

// Config is the paging setup.
type Config struct {
	People      map[string]Person
	Rotations   map[string]Rotation
	Escalations map[string]Escalation
	Rules       []Rule
	Components  []Component
	// Email says pages can go by email (a paging email channel exists).
	Email bool
}

func (c Config) escalation(name string) Escalation {
	if e, ok := directEscalation(name); ok {
		return e
	}
	return c.Escalations[name]
}
