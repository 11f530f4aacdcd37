package paging

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Engine is the paging state: the pages, what was sent to whom, the
// silences and overrides, the maintenance windows. It is rebuilt from the
// journal by Observe, in journal order; every other method proposes
// changes (pages, entries) that the caller journals and then Observes.
// It is not safe for concurrent use.
type Engine struct {
	cfg       Config
	pages     map[string]*protocol.Page
	order     []string // page ids, oldest first
	maxPage   int
	sent      map[string]protocol.Notify // by identity: the newest report
	unsettled []string                   // identities last reported sending or retrying, in order
	silences  map[string]protocol.Silence
	maxSil    int
	overrides []Override
	maint     map[string]protocol.Incident // maintenance incidents, by id
	held      map[string]Event             // silenced events still firing, by key
}

// New returns an engine with no history.
func New(cfg Config) *Engine {
	return &Engine{cfg: cfg, pages: map[string]*protocol.Page{}, sent: map[string]protocol.Notify{},
		silences: map[string]protocol.Silence{}, maint: map[string]protocol.Incident{}, held: map[string]Event{}}
}

// Config is the engine's configuration.
func (e *Engine) Config() Config { return e.cfg }

func seqNumber(id, prefix string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(id, prefix))
	if err != nil || !strings.HasPrefix(id, prefix) {
		return 0
	}
	return n
}

// Observe takes one journal message, in journal order.
func (e *Engine) Observe(m protocol.Message) {
	switch v := m.(type) {
	case *protocol.PageMsg:
		p := v.Page.Clone()
		if _, seen := e.pages[p.ID]; !seen {
			e.order = append(e.order, p.ID)
		}
		e.pages[p.ID] = &p
		e.maxPage = max(e.maxPage, seqNumber(p.ID, "PG-"))
	case *protocol.Entry:
		if v.Kind == protocol.EntryPage && v.Notify != nil && v.Page != "" {
			id := Identity(v.Page, *v.Notify)
			prev, seen := e.sent[id]
			e.sent[id] = *v.Notify
			was, is := seen && unsettled(prev), unsettled(*v.Notify)
			switch {
			case is && !was:
				e.unsettled = append(e.unsettled, id)
			case was && !is:
				e.unsettled = slices.DeleteFunc(e.unsettled, func(x string) bool { return x == id })
			}
		}
		if s := v.Silence; s != nil {
			e.silences[s.ID] = *s
			e.maxSil = max(e.maxSil, seqNumber(s.ID, "SIL-"))
		}
		if o := v.Override; o != nil {
			e.overrides = append(e.overrides, Override{Rotation: o.Rotation, Person: o.Person, From: o.From.Time, Until: o.Until.Time})
		}
	case *protocol.IncidentMsg:
		if v.Incident.Kind == "maintenance" && !v.Incident.Resolved() {
			e.maint[v.Incident.ID] = v.Incident.Clone()
		} else {
			delete(e.maint, v.Incident.ID)
		}
	}
}

// Page returns a page by id.
func (e *Engine) Page(id string) (protocol.Page, bool) {
	p, ok := e.pages[id]
	if !ok {
		return protocol.Page{}, false
	}
	return p.Clone(), true
}

// Pages returns every page, oldest first.
func (e *Engine) Pages() []protocol.Page {
	out := make([]protocol.Page, 0, len(e.order))
	for _, id := range e.order {
		out = append(out, e.pages[id].Clone())
	}
	return out
}

// OpenPages is how many pages are not resolved.
func (e *Engine) OpenPages() int {
	n := 0
	for _, p := range e.pages {
		if p.Open() {
			n++
		}
	}
	return n
}

// Identity is what a notification is sent at most once for.
func Identity(page string, n protocol.Notify) string {
	return fmt.Sprintf("%s/%s/%d/%d/%s/%s/%s", page, n.Kind, n.Level, n.Round, n.Person, n.Via, n.Contact)
}

// Notification is one notification due: to journal (outcome sending),
// then send.
type Notification struct {
	Page string
	protocol.Notify
}

// ID is the notification's identity.
func (n Notification) ID() string { return Identity(n.Page, n.Notify) }

// Refusal says why a command changes nothing, with its nack code.
type Refusal struct {
	Code string
	Msg  string
}

func (r *Refusal) Error() string { return r.Msg }

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ---- who is told

// contacts is how a person is reached: email where pages go by email and
// they have an address, and their webhook.
func (e *Engine) contacts(person string) [][2]string {
	p, ok := e.cfg.People[person]
	if !ok {
		return nil
	}
	var out [][2]string
	if e.cfg.Email && p.Email != "" {
		out = append(out, [2]string{"email", p.Email})
	}
	if p.Webhook != "" {
		out = append(out, [2]string{p.Webhook, p.Webhook})
	}
	return out
}

// Resolve names the people targets mean at t.
func (e *Engine) Resolve(targets []string, t time.Time) []string {
	var out []string
	for _, tg := range targets {
		kind, name, _ := strings.Cut(tg, ":")
		var who string
		switch kind {
		case "person":
			who = name
		case "rotation":
			if r, ok := e.cfg.Rotations[name]; ok {
				who, _ = r.OnCall(t, e.overrides)
			}
		}
		if who != "" && !slices.Contains(out, who) {
			out = append(out, who)
		}
	}
	return out
}

// needs reports whether n is to be sent now: never reported, or reported
// as being sent by a hub that stopped before it knew the outcome (sent
// again with the same identity: the receiver dedupes), or due for a retry.
func (e *Engine) needs(n Notification, now time.Time) bool {
	st, ok := e.sent[n.ID()]
	switch {
	case !ok:
		return true
	case st.Outcome == protocol.NotifySending:
		return true
	case st.Outcome == protocol.DeliveryRetrying:
		return st.NextTry == nil || !st.NextTry.After(now)
	}
	return false
}

func (e *Engine) attempts(id string) int { return e.sent[id].Attempt }

// Due returns the notifications to send at now, page by page.
func (e *Engine) Due(now time.Time) []Notification {
	d := &dueList{e: e, now: now, seen: map[string]bool{}}
	for _, id := range e.order {
		d.page(e.pages[id])
	}
	// What a stopped hub left half-sent, or a failed try waiting for its
	// retry, goes out even when the page moved on (a level's page while
	// the page is still triggered).
	for _, id := range e.unsettled {
		d.resend(id)
	}
	return d.out
}

// dueList is the notifications due at now, each identity once.
type dueList struct {
	e    *Engine
	now  time.Time
	seen map[string]bool
	out  []Notification
}

// page adds what the page's status calls for: its level's page while
// triggered, an update to whoever acknowledged it when events joined
// since, and for a day after its resolution the notice to everyone it
// paged.
func (d *dueList) page(p *protocol.Page) {
	switch p.Status {
	case protocol.PageTriggered:
		if p.LevelAt == nil || p.LevelAt.After(d.now) || p.Level < 1 {
			return
		}
		esc := d.e.cfg.escalation(p.Escalation)
		if p.Level > len(esc.Levels) {
			return
		}
		for _, who := range d.e.Resolve(esc.Levels[p.Level-1].Notify, p.LevelAt.Time) {
			d.add(p.ID, protocol.NotifyPage, p.Level, p.Round, who)
		}
	case protocol.PageAcknowledged:
		if p.AckedBy != nil && p.AckedAt != nil && slices.ContainsFunc(p.Events, func(ev protocol.PageEvent) bool { return ev.At.After(p.AckedAt.Time) }) {
			d.add(p.ID, protocol.NotifyUpdate, 0, p.Round, *p.AckedBy)
		}
	case protocol.PageResolved:
		if p.ResolvedAt == nil || d.now.Sub(p.ResolvedAt.Time) > 24*time.Hour {
			return
		}
		for _, who := range paged(p) {
			d.add(p.ID, protocol.NotifyResolved, 0, 0, who)
		}
	}
}

// add adds a notification to each of the person's contacts that needs
// one.
func (d *dueList) add(page string, kind string, level, round int, person string) {
	for _, c := range d.e.contacts(person) {
		n := Notification{Page: page, Notify: protocol.Notify{Kind: kind, Level: level, Round: round, Person: person, Via: c[0], Contact: c[1]}}
		id := n.ID()
		if d.seen[id] || !d.e.needs(n, d.now) {
			continue
		}
		d.seen[id] = true
		n.Attempt = d.e.attempts(id)
		d.out = append(d.out, n)
	}
}

// resend adds the unsettled notification of identity id again, unless it
// is a level's page of a page no longer triggered.
func (d *dueList) resend(id string) {
	st := d.e.sent[id]
	page, _, _ := strings.Cut(id, "/")
	n := Notification{Page: page, Notify: st}
	n.Outcome, n.NextTry = "", nil
	if d.seen[n.ID()] || !d.e.needs(n, d.now) {
		return
	}
	if p := d.e.pages[page]; st.Kind == protocol.NotifyPage && (p == nil || p.Status != protocol.PageTriggered) {
		return
	}
	d.seen[n.ID()] = true
	d.out = append(d.out, n)
}

// unsettled reports whether a notification's outcome is still open.
func unsettled(n protocol.Notify) bool {
	return n.Outcome == protocol.NotifySending || n.Outcome == protocol.DeliveryRetrying
}

// paged is everyone a page's escalation notified, in order.
func paged(p *protocol.Page) []string {
	var out []string
	for _, n := range p.Notified {
		if n.Level > 0 && !slices.Contains(out, n.Person) {
			out = append(out, n.Person)
		}
	}
	return out
}

// Sent records, on a page, a notification's outcome (for the page's
// notified list); it returns the page changed.
func (e *Engine) Sent(n Notification, at time.Time, outcome string) (protocol.Page, bool) {
	p, ok := e.pages[n.Page]
	if !ok {
		return protocol.Page{}, false
	}
	next := p.Clone()
	next.Notified = append(next.Notified, protocol.Notified{Person: n.Person, Via: n.Via, At: protocol.At(at), Outcome: outcome, Level: n.Level, Round: n.Round})
	return next, true
}

// ---- events

// Event applies an event at now and returns the pages it opened or
// changed. A silenced event is held: it pages when the silence ends, if
// it has not cleared by then.
func (e *Engine) Event(ev Event, now time.Time) []protocol.Page {
	if ev.At.IsZero() {
		ev.At = now
	}
	key := ev.Key()
	if ev.Clear {
		delete(e.held, key)
		return e.clear(key, ev.At, now)
	}
	rule, ok := Match(e.cfg.Rules, ev)
	if !ok {
		return nil
	}
	if e.Silenced(ev, now) {
		e.held[key] = ev
		return nil
	}
	return e.raise(rule.Name, rule.Escalation, rule.Urgency, rule.Group, ev, now)
}

// Lists reports whether a page lists ev's problem as not cleared: open,
// or resolved by hand while it stood.
func (e *Engine) Lists(ev Event) bool {
	for _, id := range slices.Backward(e.order) {
		p := e.pages[id]
		open := p.Open()
		if slices.ContainsFunc(p.Events, func(x protocol.PageEvent) bool {
			// A page resolved by hand holds this occurrence, not one that
			// began after it.
			return x.ClearedAt == nil && sameProblem(x, ev) && (open || !x.At.Before(ev.At))
		}) {
			return true
		}
	}
	return false
}

// MaxPageEvents is how many events a page lists; more are counted.
const MaxPageEvents = 100

const moreMark = " (+"

func sameProblem(x protocol.PageEvent, ev Event) bool {
	return x.What == ev.What && x.Host == ev.Host && x.Service == ev.Service
}

// raise adds ev to the open page of rule, or opens one.
func (e *Engine) raise(rule, escalation, urgency string, group time.Duration, ev Event, now time.Time) []protocol.Page {
	pe := protocol.PageEvent{At: protocol.At(ev.At), Host: ev.Host, Service: ev.Service, What: ev.What, Text: trim(clean(ev.Text), protocol.MaxTextBytes/4)}
	for _, id := range e.order {
		p := e.pages[id]
		if !p.Open() || p.Rule != rule {
			continue
		}
		if slices.ContainsFunc(p.Events, func(x protocol.PageEvent) bool { return x.ClearedAt == nil && sameProblem(x, ev) }) {
			return nil // already paging for it
		}
		next := p.Clone()
		if len(next.Events) < MaxPageEvents {
			next.Events = append(next.Events, pe)
			next.Title = title(next.Events)
			return []protocol.Page{next}
		}
		base, _, _ := strings.Cut(next.Title, moreMark)
		next.MoreEvents++
		next.Title = trim(fmt.Sprintf("%s%s%d more events)", base, moreMark, next.MoreEvents), protocol.MaxTitleBytes)
		return []protocol.Page{next}
	}
	e.maxPage++
	levelAt := now.Add(group)
	p := protocol.Page{
		ID: "PG-" + strconv.Itoa(e.maxPage), Status: protocol.PageTriggered, Urgency: urgency,
		Rule: rule, Escalation: escalation, OpenedAt: protocol.At(now), Events: []protocol.PageEvent{pe},
		Level: 1, LevelAt: protocol.TimePtr(levelAt), Notified: []protocol.Notified{},
	}
	if urgency == "" {
		p.Urgency = protocol.UrgencyHigh
	}
	p.Title = title(p.Events)
	esc := e.cfg.escalation(escalation)
	if p.Urgency == protocol.UrgencyHigh && len(esc.Levels) > 0 {
		p.NextAt = protocol.TimePtr(levelAt.Add(esc.Levels[0].Wait))
	}
	e.setNext(&p)
	return []protocol.Page{p}
}

func eventKey(x protocol.PageEvent) string {
	return Event{What: x.What, Host: x.Host, Service: x.Service}.Key()
}

// clear marks the events of key cleared; a page whose every event has
// cleared resolves itself.
func (e *Engine) clear(key string, at, now time.Time) []protocol.Page {
	var out []protocol.Page
	for _, id := range e.order {
		p := e.pages[id]
		if !p.Open() {
			continue
		}
		idx := slices.IndexFunc(p.Events, func(x protocol.PageEvent) bool { return x.ClearedAt == nil && eventKey(x) == key })
		if idx < 0 {
			continue
		}
		next := p.Clone()
		for i := range next.Events {
			if next.Events[i].ClearedAt == nil && eventKey(next.Events[i]) == key {
				next.Events[i].ClearedAt = protocol.TimePtr(at)
			}
		}
		if !slices.ContainsFunc(next.Events, func(x protocol.PageEvent) bool { return x.ClearedAt == nil }) {
			next.Status, next.ResolvedAt, next.NextAt = protocol.PageResolved, protocol.TimePtr(now), nil
		}
		out = append(out, next)
	}
	return out
}

// Released returns the held events no silence covers any more, to be
// applied again (Event): what still fires when a silence ends pages then.
func (e *Engine) Released(now time.Time) []Event {
	var out []Event
	for k, ev := range e.held {
		if !e.Silenced(ev, now) {
			out = append(out, ev)
			delete(e.held, k)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Key() < out[b].Key() })
	return out
}

// Held is how many silenced events still fire.
func (e *Engine) Held() int { return len(e.held) }

// Silenced reports whether a silence or a maintenance window in progress
// covers ev at now.
func (e *Engine) Silenced(ev Event, now time.Time) bool {
	svcMatch := func(globs []string) bool {
		return ev.Service == "" || anyGlob(globs, ev.Service)
	}
	for _, s := range e.silences {
		if now.Before(s.Until.Time) && anyGlob(s.Hosts, ev.Host) && svcMatch(s.Services) {
			return true
		}
	}
	for _, in := range e.maint {
		if !inWindow(in, now) {
			continue
		}
		for _, c := range e.cfg.Components {
			if slices.Contains(in.Components, c.ID) && len(c.Hosts) > 0 && anyGlob(c.Hosts, ev.Host) && svcMatch(c.Services) {
				return true
			}
		}
	}
	return false
}

// inWindow reports whether a maintenance incident is in progress at now:
// started, not past its scheduled end.
func inWindow(in protocol.Incident, now time.Time) bool {
	if in.Resolved() || in.ScheduledStart == nil || now.Before(in.ScheduledStart.Time) {
		return false
	}
	return in.ScheduledEnd == nil || now.Before(in.ScheduledEnd.Time)
}

// ---- time

// Tick moves each page whose next_at has come one step: a triggered page
// to its next level (or round), an acknowledged one past its ack timeout
// back to triggered. Steps are timed from the journaled next_at, not from
// now, so a restarted hub keeps the schedule.
func (e *Engine) Tick(now time.Time) []protocol.Page {
	var out []protocol.Page
	for _, id := range e.order {
		p := e.pages[id]
		if !p.Open() || p.NextAt == nil || p.NextAt.After(now) {
			continue
		}
		next := p.Clone()
		at := p.NextAt.Time
		if p.Status == protocol.PageAcknowledged {
			next.Status, next.AckedBy, next.AckedAt = protocol.PageTriggered, nil, nil
			next.Round++
			next.Level = 0
		}
		e.advance(&next, at)
		out = append(out, next)
	}
	return out
}

// advance moves p to its next level from at: the next round's first level
// after the last, and no next_at once every round is done.
func (e *Engine) advance(p *protocol.Page, at time.Time) {
	esc := e.cfg.escalation(p.Escalation)
	switch {
	case len(esc.Levels) == 0:
		p.NextAt = nil
		return
	case p.Level < len(esc.Levels):
		p.Level++
	case p.Round < esc.Repeat:
		p.Round++
		p.Level = 1
	default:
		p.NextAt = nil // every level, every round: it stays with the last
		return
	}
	p.LevelAt = protocol.TimePtr(at)
	p.NextAt = protocol.TimePtr(at.Add(esc.Levels[p.Level-1].Wait))
	if p.Urgency == protocol.UrgencyLow {
		p.NextAt = nil
	}
	e.setNext(p)
}

// setNext names whom the step at next_at notifies: the next level, or
// the first of the next round.
func (e *Engine) setNext(p *protocol.Page) {
	p.Next = nil
	esc := e.cfg.escalation(p.Escalation)
	if p.NextAt == nil || p.Status != protocol.PageTriggered || len(esc.Levels) == 0 {
		return
	}
	level := p.Level + 1
	if level > len(esc.Levels) {
		if p.Round >= esc.Repeat {
			return
		}
		level = 1
	}
	p.Next = e.Resolve(esc.Levels[level-1].Notify, p.NextAt.Time)
}

// ---- commands

func (e *Engine) openPage(id string) (*protocol.Page, *Refusal) {
	p, ok := e.pages[id]
	if !ok {
		return nil, refuse(protocol.CodeNotFound, "no page %s", id)
	}
	if !p.Open() {
		return nil, refuse(protocol.CodeConflict, "%s is resolved", id)
	}
	return p, nil
}

// Ack acknowledges a page as actor: escalation stops, the actor owns it.
func (e *Engine) Ack(id, actor string, now time.Time) (protocol.Page, *Refusal) {
	p, ref := e.openPage(id)
	if ref != nil {
		return protocol.Page{}, ref
	}
	if p.Status == protocol.PageAcknowledged && p.AckedBy != nil && *p.AckedBy == actor {
		return protocol.Page{}, refuse(protocol.CodeConflict, "%s already acknowledged %s", actor, id)
	}
	next := p.Clone()
	a := actor
	next.Status, next.AckedBy, next.AckedAt, next.NextAt, next.Next = protocol.PageAcknowledged, &a, protocol.TimePtr(now), nil, nil
	if t := e.cfg.escalation(p.Escalation).AckTimeout; t > 0 {
		next.NextAt = protocol.TimePtr(now.Add(t))
	}
	if strings.HasPrefix(p.Rule, HandoffRule) {
		next.Status, next.ResolvedAt, next.NextAt = protocol.PageResolved, protocol.TimePtr(now), nil
	}
	return next, nil
}

// ResolveByHand resolves a page.
func (e *Engine) ResolveByHand(id string, now time.Time) (protocol.Page, *Refusal) {
	p, ref := e.openPage(id)
	if ref != nil {
		return protocol.Page{}, ref
	}
	next := p.Clone()
	next.Status, next.ResolvedAt, next.NextAt, next.Next = protocol.PageResolved, protocol.TimePtr(now), nil, nil
	return next, nil
}

// Escalate moves a page to its next level now.
func (e *Engine) Escalate(id string, now time.Time) (protocol.Page, *Refusal) {
	p, ref := e.openPage(id)
	if ref != nil {
		return protocol.Page{}, ref
	}
	esc := e.cfg.escalation(p.Escalation)
	if p.Status == protocol.PageTriggered && p.Level >= len(esc.Levels) && p.Round >= esc.Repeat {
		return protocol.Page{}, refuse(protocol.CodeConflict, "%s is at its last level", id)
	}
	next := p.Clone()
	if next.Status == protocol.PageAcknowledged {
		next.Status, next.AckedBy, next.AckedAt = protocol.PageTriggered, nil, nil
	}
	e.advance(&next, now)
	if next.NextAt == nil && len(esc.Levels) > 0 && next.Urgency == protocol.UrgencyHigh && next.Level < len(esc.Levels) {
		next.NextAt = protocol.TimePtr(now.Add(esc.Levels[next.Level-1].Wait))
	}
	return next, nil
}

// Rules of pages no configured rule raised.
const (
	SummonRule  = "summon"
	CommsRule   = "comms"
	HandoffRule = "handoff:"
)

// ValidTarget reports why who is not a person or rotation of the
// configuration.
func (e *Engine) ValidTarget(who string) *Refusal {
	kind, name, _ := strings.Cut(who, ":")
	switch kind {
	case "person":
		if _, ok := e.cfg.People[name]; ok {
			return nil
		}
		return refuse(protocol.CodeNotFound, "no person %q (have: %s)", name, strings.Join(sortedKeys(e.cfg.People), ", "))
	case "rotation":
		if _, ok := e.cfg.Rotations[name]; ok {
			return nil
		}
		return refuse(protocol.CodeNotFound, "no rotation %q (have: %s)", name, strings.Join(sortedKeys(e.cfg.Rotations), ", "))
	}
	return refuse(protocol.CodeInvalid, "who must be person:NAME or rotation:NAME, got %q", who)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = append(out, "none configured")
	}
	return out
}

// Summon pages who by hand, with a message.
func (e *Engine) Summon(who, text, incident, actor string, now time.Time) (protocol.Page, *Refusal) {
	if ref := e.ValidTarget(who); ref != nil {
		return protocol.Page{}, ref
	}
	if strings.TrimSpace(text) == "" {
		return protocol.Page{}, refuse(protocol.CodeInvalid, "summon needs a text: say why")
	}
	ps := e.raise(SummonRule+":"+strconv.Itoa(e.maxPage+1), who, protocol.UrgencyHigh, 0,
		Event{At: now, What: protocol.WhatSummon, Text: actor + ": " + text}, now)
	p := ps[0]
	p.Text = text
	if incident != "" {
		in := incident
		p.Incident = &in
	}
	return p, nil
}

// Comms pages an incident's commander: a customer-facing step is overdue.
// One page per step while it is open; Event with Clear (the step done)
// resolves it.
func (e *Engine) Comms(commander, incident, step, text string, now time.Time) []protocol.Page {
	ev := Event{At: now, What: protocol.WhatComms, Host: incident, Service: step, Text: text}
	for _, p := range e.pages {
		if p.Open() && slices.ContainsFunc(p.Events, func(x protocol.PageEvent) bool { return x.ClearedAt == nil && eventKey(x) == ev.Key() }) {
			return nil
		}
	}
	if _, ok := e.cfg.People[commander]; !ok {
		return nil
	}
	ps := e.raise(CommsRule+":"+incident+"/"+step, "person:"+commander, protocol.UrgencyHigh, 0, ev, now)
	for i := range ps {
		in := incident
		ps[i].Incident = &in
		ps[i].Text = text
	}
	return ps
}

// OpenComms is the overdue steps (incident/step) open pages are about.
func (e *Engine) OpenComms() map[string]bool {
	out := map[string]bool{}
	for _, p := range e.pages {
		if !p.Open() {
			continue
		}
		for _, ev := range p.Events {
			if ev.What == protocol.WhatComms && ev.ClearedAt == nil {
				out[ev.Host+"/"+ev.Service] = true
			}
		}
	}
	return out
}

// HandoffWindow is how long after a handoff its "you are on call" page is
// still raised (a hub that was down longer does not raise stale ones).
const HandoffWindow = 15 * time.Minute

// Handoffs opens the "you are on call" pages of the handoffs in the last
// HandoffWindow that have none yet: to the incoming person, then, after
// DirectWait unacknowledged, to the outgoing one.
func (e *Engine) Handoffs(now time.Time) []protocol.Page {
	var out []protocol.Page
	for _, name := range sortedKeys(e.cfg.Rotations) {
		r, ok := e.cfg.Rotations[name]
		if !ok {
			continue
		}
		for _, h := range r.Handoffs(now.Add(-HandoffWindow), now, e.overrides) {
			rule := HandoffRule + name + "@" + h.At.UTC().Format(time.RFC3339)
			if e.hasRule(rule) || h.To == "" {
				continue
			}
			esc := "person:" + h.To
			if h.From != "" {
				esc += ",person:" + h.From
			}
			text := fmt.Sprintf("%s, you are on call for %s (from %s); acknowledge to confirm you are reachable", h.To, name, h.From)
			ps := e.raise(rule, esc, protocol.UrgencyHigh, 0, Event{At: h.At, What: protocol.WhatSummon, Text: text}, now)
			ps[0].Text = text
			out = append(out, ps...)
		}
	}
	return out
}

func (e *Engine) hasRule(rule string) bool {
	for _, p := range e.pages {
		if p.Rule == rule {
			return true
		}
	}
	return false
}

// NewSilence returns a silence to journal, or why not.
func (e *Engine) NewSilence(hosts, services []string, until time.Time, reason, by string, now time.Time) (protocol.Silence, *Refusal) {
	if len(hosts) == 0 {
		return protocol.Silence{}, refuse(protocol.CodeInvalid, "a silence needs hosts (globs; \"*\" for every host)")
	}
	for _, g := range append(slices.Clone(hosts), services...) {
		if err := ValidGlob(g); err != nil || protocol.CheckText("glob", g, protocol.MaxIDBytes) != nil {
			return protocol.Silence{}, refuse(protocol.CodeInvalid, "%q is not a glob", g)
		}
	}
	if !until.After(now) {
		return protocol.Silence{}, refuse(protocol.CodeInvalid, "until %s is not in the future", until.UTC().Format(time.RFC3339))
	}
	if len(services) == 0 {
		services = []string{"*"}
	}
	return protocol.Silence{ID: "SIL-" + strconv.Itoa(e.maxSil+1), Hosts: slices.Clone(hosts), Services: slices.Clone(services),
		Until: protocol.At(until), By: by, Reason: trim(reason, protocol.MaxTitleBytes)}, nil
}

// EndSilence returns the silence id ending at until (now or earlier than
// planned).
func (e *Engine) EndSilence(id string, until, now time.Time) (protocol.Silence, *Refusal) {
	s, ok := e.silences[id]
	if !ok {
		return protocol.Silence{}, refuse(protocol.CodeNotFound, "no silence %s", id)
	}
	if !now.Before(s.Until.Time) {
		return protocol.Silence{}, refuse(protocol.CodeConflict, "%s already ended", id)
	}
	if until.Before(now) {
		until = now
	}
	s.Until = protocol.At(until)
	return s, nil
}

// NewOverride checks an override.
func (e *Engine) NewOverride(rotation, person string, from, until time.Time) (Override, *Refusal) {
	if _, ok := e.cfg.Rotations[rotation]; !ok {
		return Override{}, refuse(protocol.CodeNotFound, "no rotation %q (have: %s)", rotation, strings.Join(sortedKeys(e.cfg.Rotations), ", "))
	}
	if _, ok := e.cfg.People[person]; !ok {
		return Override{}, refuse(protocol.CodeNotFound, "no person %q (have: %s)", person, strings.Join(sortedKeys(e.cfg.People), ", "))
	}
	if !until.After(from) {
		return Override{}, refuse(protocol.CodeInvalid, "until must be after from")
	}
	return Override{Rotation: rotation, Person: person, From: from, Until: until}, nil
}

// Overrides is every override journaled, oldest first.
func (e *Engine) Overrides() []Override { return slices.Clone(e.overrides) }

// OncallSpan is how far ahead the oncall frame lists handoffs.
const OncallSpan = 14 * 24 * time.Hour

// OnCall is the oncall frame at now: each rotation's person, until when,
// and who next; the silences in force.
func (e *Engine) OnCall(now time.Time) protocol.Oncall {
	o := protocol.Oncall{Rotations: []protocol.OncallRotation{}, Silences: []protocol.Silence{}}
	for _, name := range sortedKeys(e.cfg.Rotations) {
		r, ok := e.cfg.Rotations[name]
		if !ok {
			continue
		}
		who, until := r.OnCall(now, e.overrides)
		next, _ := r.OnCall(until, e.overrides)
		or := protocol.OncallRotation{Name: name, Now: who, Until: protocol.TimePtr(until), Next: next}
		for _, h := range r.Handoffs(now, now.Add(OncallSpan), e.overrides) {
			or.Handoffs = append(or.Handoffs, protocol.Handoff{At: protocol.At(h.At), From: h.From, To: h.To})
		}
		o.Rotations = append(o.Rotations, or)
	}
	for _, id := range sortedKeys(e.silences) {
		if s, ok := e.silences[id]; ok && now.Before(s.Until.Time) {
			o.Silences = append(o.Silences, s)
		}
	}
	return o
}

// ---- titles

func title(events []protocol.PageEvent) string {
	var hosts []string
	phrases := map[string][]string{}
	for _, ev := range events {
		if ev.ClearedAt != nil && len(events) > 1 {
			continue
		}
		h := ev.Host
		if _, ok := phrases[h]; !ok {
			hosts = append(hosts, h)
		}
		ph := phrase(ev)
		if !slices.Contains(phrases[h], ph) {
			phrases[h] = append(phrases[h], ph)
		}
	}
	var parts []string
	for _, h := range hosts {
		s := strings.Join(phrases[h], ", ")
		if h != "" {
			s = h + ": " + s
		}
		parts = append(parts, s)
	}
	if len(parts) > 3 {
		parts = append(parts[:3], fmt.Sprintf("and %d more hosts", len(parts)-3))
	}
	t := strings.Join(parts, "; ")
	if t == "" {
		t = "page"
	}
	return trim(t, protocol.MaxTitleBytes)
}

func phrase(ev protocol.PageEvent) string {
	switch ev.What {
	case protocol.WhatDown:
		return ev.Service + " down"
	case protocol.WhatCrit, protocol.WhatWarn:
		if ev.Service == "" {
			return "load " + ev.What
		}
		return ev.Service + " " + ev.What
	case protocol.WhatSilent:
		return "stopped reporting"
	case protocol.WhatAlert:
		return strings.TrimSpace(ev.Service + " alert")
	case protocol.WhatComms:
		return ev.Service + " overdue"
	case protocol.WhatHub:
		return "hub left the cluster"
	}
	if ev.Text != "" {
		return oneLine(ev.Text)
	}
	return ev.What
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return trim(s, 120)
}

// trim cuts s to at most limit bytes on a rune boundary.
func trim(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
