package protocol

// Paging (PROTOCOL.md, "Paging"): the page journal message, the oncall
// state frame, the paging commands and the entries they journal.

// Message types of paging.
const (
	TypePage   = "page"
	TypeOncall = "oncall"
)

// Entry kinds of paging: a notification sent (or being sent) to a
// person, and an acknowledgement.
const (
	EntryPage = "page"
	EntryAck  = "ack"
)

// Paging command ops.
const (
	OpAck      = "ack"
	OpResolve  = "resolve"
	OpEscalate = "escalate"
	OpSummon   = "summon"
	OpOverride = "override"
	OpSilence  = "silence"
)

// Page statuses.
const (
	PageTriggered    = "triggered"
	PageAcknowledged = "acknowledged"
	PageResolved     = "resolved"
)

// Page urgencies.
const (
	UrgencyHigh = "high"
	UrgencyLow  = "low"
)

// What a page event is about.
const (
	WhatCrit   = "crit"
	WhatWarn   = "warn"
	WhatDown   = "down"
	WhatSilent = "silent"
	WhatAlert  = "alert"
	WhatExpiry = "expiry"
	WhatHub    = "hub"
	WhatComms  = "comms"
	WhatSummon = "summon"
)

// PageMsg carries the whole page, again on every change.
type PageMsg struct {
	Type string `json:"type"`
	Seq  uint64 `json:"seq"`
	Page Page   `json:"page"`
}

// Page is one page: the events it groups, where its escalation stands,
// who was told and who answered.
type Page struct {
	ID         string      `json:"id"`
	Title      string      `json:"title"`
	Status     string      `json:"status"`
	Urgency    string      `json:"urgency"`
	Rule       string      `json:"rule"`
	Escalation string      `json:"escalation"`
	OpenedAt   Time        `json:"opened_at"`
	Events     []PageEvent `json:"events"`
	Level      int         `json:"level"`
	Round      int         `json:"round"`
	NextAt     *Time       `json:"next_at"`
	Notified   []Notified  `json:"notified"`
	AckedBy    *string     `json:"acked_by"`
	AckedAt    *Time       `json:"acked_at"`
	ResolvedAt *Time       `json:"resolved_at"`
	Incident   *string     `json:"incident"`
	// LevelAt is when the current level began: whom a rotation names is
	// read at that moment, so a restart names the same person.
	LevelAt *Time `json:"level_at,omitempty"`
	// Text is what a summon or an overdue step said.
	Text string `json:"text,omitempty"`
	// Next is whom the next level notifies at next_at ("bob in 3m").
	Next []string `json:"next,omitempty"`
	// MoreEvents counts the events that joined past the ones listed: a
	// page keeps its frame small however many services went down.
	MoreEvents int `json:"more_events,omitempty"`
}

// Open reports whether the page is not resolved.
func (p *Page) Open() bool { return p.Status != PageResolved }

// Clone returns a deep copy.
func (p Page) Clone() Page {
	out := p
	out.Events = append([]PageEvent(nil), p.Events...)
	for i := range out.Events {
		if c := out.Events[i].ClearedAt; c != nil {
			v := *c
			out.Events[i].ClearedAt = &v
		}
	}
	out.Notified = append([]Notified(nil), p.Notified...)
	out.Next = append([]string(nil), p.Next...)
	cp := func(t *Time) *Time {
		if t == nil {
			return nil
		}
		v := *t
		return &v
	}
	cs := func(s *string) *string {
		if s == nil {
			return nil
		}
		v := *s
		return &v
	}
	out.NextAt, out.AckedAt, out.ResolvedAt, out.LevelAt = cp(p.NextAt), cp(p.AckedAt), cp(p.ResolvedAt), cp(p.LevelAt)
	out.AckedBy, out.Incident = cs(p.AckedBy), cs(p.Incident)
	return out
}

// PageEvent is one event of a page.
type PageEvent struct {
	At      Time   `json:"at"`
	Host    string `json:"host,omitempty"`
	Service string `json:"service,omitempty"`
	What    string `json:"what"`
	Text    string `json:"text,omitempty"`
	// ClearedAt is when the problem ended (the service came back, the
	// load fell): a page whose every event cleared resolves itself.
	ClearedAt *Time `json:"cleared_at,omitempty"`
}

// Notified is one notification of a page to a person.
type Notified struct {
	Person  string `json:"person"`
	Via     string `json:"via"`
	At      Time   `json:"at"`
	Outcome string `json:"outcome"`
	Level   int    `json:"level"`
	Round   int    `json:"round,omitempty"`
}

// Notify is what an entry of kind page is about: one notification, by its
// identity (page, kind, level, round, person, contact), and how far it got.
type Notify struct {
	// Kind is NotifyPage (a level of the escalation), NotifyUpdate (events
	// joined after the acknowledgement), NotifyResolved.
	Kind    string `json:"kind"`
	Level   int    `json:"level"`
	Round   int    `json:"round"`
	Person  string `json:"person"`
	Via     string `json:"via"`     // "email", or the webhook channel's name
	Contact string `json:"contact"` // the address or channel it went to
	// Outcome is NotifySending (journaled before the send), or a
	// delivery outcome (DeliveryDelivered, DeliveryRetrying,
	// DeliveryFailed).
	Outcome string `json:"outcome"`
	Attempt int    `json:"attempt,omitempty"`
	NextTry *Time  `json:"next_try,omitempty"`
}

// Notification kinds and the outcome written before a send.
const (
	NotifyPage     = "page"
	NotifyUpdate   = "update"
	NotifyResolved = "resolved"
	NotifySending  = "sending"
)

// Silence is a silence of pages for matching hosts and services.
type Silence struct {
	ID       string   `json:"id"`
	Hosts    []string `json:"hosts"`
	Services []string `json:"services"`
	Until    Time     `json:"until"`
	By       string   `json:"by"`
	Reason   string   `json:"reason"`
}

// Override is a person taking a rotation's shift for a while.
type Override struct {
	Rotation string `json:"rotation"`
	Person   string `json:"person"`
	From     Time   `json:"from"`
	Until    Time   `json:"until"`
	By       string `json:"by,omitempty"`
}

// Oncall is who is on call and what is silenced: state, not journaled.
type Oncall struct {
	Type      string           `json:"type"`
	Rotations []OncallRotation `json:"rotations"`
	Silences  []Silence        `json:"silences"`
}

// OncallRotation is one rotation's person now, until when, and who next.
type OncallRotation struct {
	Name  string `json:"name"`
	Now   string `json:"now"`
	Until *Time  `json:"until"`
	Next  string `json:"next"`
	// Handoffs are the changes of who is on call in the next two weeks,
	// overrides included.
	Handoffs []Handoff `json:"handoffs,omitempty"`
}

// Handoff is one change of who is on call.
type Handoff struct {
	At   Time   `json:"at"`
	From string `json:"from"`
	To   string `json:"to"`
}

func (*PageMsg) messageType() string { return TypePage }
func (*Oncall) messageType() string  { return TypeOncall }
