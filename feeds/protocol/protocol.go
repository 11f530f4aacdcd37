// Package protocol is the vigil.v1 wire contract of ../shared/PROTOCOL.md:
// the message types exchanged between a health feed and the dashboard, and
// a tolerant codec for them. It does no I/O.
package protocol

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Version is the protocol version this package speaks.
const Version = 1

// Subprotocol is the WebSocket subprotocol token offered and selected.
const Subprotocol = "vigil.v1"

// MaxFrameSize is the largest frame a peer accepts; larger frames close 1009.
const MaxFrameSize = 1 << 20

// Message types.
const (
	TypeHello     = "hello"
	TypeLoad      = "load"
	TypeService   = "service"
	TypeIncident  = "incident"
	TypeEntry     = "entry"
	TypeSynced    = "synced"
	TypeAck       = "ack"
	TypeNack      = "nack"
	TypeSubscribe = "subscribe"
	TypeCommand   = "command"
)

// Service states.
const (
	StateOK          = "ok"
	StateWarn        = "warn"
	StateDown        = "down"
	StateUnknown     = "unknown"
	StateMaintenance = "maintenance"
)

// Incident statuses.
const (
	StatusInvestigating = "investigating"
	StatusIdentified    = "identified"
	StatusMonitoring    = "monitoring"
	StatusResolved      = "resolved"
)

// Entry kinds.
const (
	EntryNote   = "note"
	EntryStatus = "status"
	EntryCheck  = "check"
	EntryAlert  = "alert"
	EntrySystem = "system"
)

// Command ops.
const (
	OpDeclare = "declare"
	OpStatus  = "status"
	OpNote    = "note"
	OpCheck   = "check"
	OpUpdate  = "update"
)

// Nack codes.
const (
	CodeForbidden   = "forbidden"
	CodeInvalid     = "invalid"
	CodeNotFound    = "not_found"
	CodeConflict    = "conflict"
	CodeUnavailable = "unavailable"
)

// AfterResolved is the only value of a checklist item's "after" field.
const AfterResolved = "resolved"

// ValidState reports whether s is a service state of the protocol.
func ValidState(s string) bool {
	switch s {
	case StateOK, StateWarn, StateDown, StateUnknown, StateMaintenance:
		return true
	}
	return false
}

// ValidStatus reports whether s is an incident status of the protocol.
func ValidStatus(s string) bool {
	switch s {
	case StatusInvestigating, StatusIdentified, StatusMonitoring, StatusResolved:
		return true
	}
	return false
}

// ValidSeverity reports whether s is SEV1..SEV4.
func ValidSeverity(s string) bool {
	switch s {
	case "SEV1", "SEV2", "SEV3", "SEV4":
		return true
	}
	return false
}

// ValidEntryKind reports whether s is an entry kind of the protocol.
func ValidEntryKind(s string) bool {
	switch s {
	case EntryNote, EntryStatus, EntryCheck, EntryAlert, EntrySystem:
		return true
	}
	return false
}

// TimeLayout is RFC 3339 in UTC with milliseconds, as the protocol requires.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is a protocol timestamp: written as RFC 3339 UTC with milliseconds,
// read from any RFC 3339 form.
type Time struct{ time.Time }

// At wraps t as a protocol Time truncated to milliseconds.
func At(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// TimePtr returns a pointer to At(t).
func TimePtr(t time.Time) *Time { v := At(t); return &v }

func (t Time) String() string { return t.UTC().Format(TimeLayout) }

func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.String() + `"`), nil
}

func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q is not RFC 3339", s)
	}
	t.Time = parsed.UTC()
	return nil
}

// Duration is a Go-style duration string on the wire: "90s", "-168h".
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// DurationPtr returns a pointer to d as a protocol Duration.
func DurationPtr(d time.Duration) *Duration { v := Duration(d); return &v }

func (d Duration) String() string { return FormatDuration(time.Duration(d)) }

// FormatDuration writes d the short Go way: "15m", "1h30m", "-168h".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// Hello is the first frame on every connection, server to client.
type Hello struct {
	Type     string `json:"type"`
	Protocol int    `json:"protocol"`
	Server   string `json:"server"`
	Journal  string `json:"journal"`
	Seq      uint64 `json:"seq"`
	Time     Time   `json:"time"`
}

// Load is one host's load reading.
type Load struct {
	Type       string   `json:"type"`
	Host       string   `json:"host"`
	At         Time     `json:"at"`
	Interval   Duration `json:"interval"`
	Load1      float64  `json:"load1"`
	Load5      float64  `json:"load5"`
	Load15     float64  `json:"load15"`
	CPUs       int      `json:"cpus"`
	MemUsedPct *float64 `json:"mem_used_pct,omitempty"`
}

// Service is one service's state on one host.
type Service struct {
	Type    string `json:"type"`
	Host    string `json:"host"`
	Service string `json:"service"`
	State   string `json:"state"`
	Detail  string `json:"detail,omitempty"`
	Since   Time   `json:"since"`
	At      Time   `json:"at"`
}

// IncidentMsg carries the whole incident, again on every change.
type IncidentMsg struct {
	Type     string   `json:"type"`
	Seq      uint64   `json:"seq"`
	Incident Incident `json:"incident"`
}

// Incident is the state of one incident.
type Incident struct {
	ID             string `json:"id"`
	Title          string `json:"title"`
	Severity       string `json:"severity"`
	Kind           string `json:"kind"`
	Status         string `json:"status"`
	Commander      string `json:"commander"`
	OpenedAt       Time   `json:"opened_at"`
	ResolvedAt     *Time  `json:"resolved_at"`
	ScheduledStart *Time  `json:"scheduled_start"`
	Checklist      []Item `json:"checklist"`
}

// Resolved reports whether the incident is resolved.
func (in *Incident) Resolved() bool { return in.Status == StatusResolved }

// Clone returns a deep copy, so a changed incident never aliases an old one.
func (in Incident) Clone() Incident {
	out := in
	if in.ResolvedAt != nil {
		v := *in.ResolvedAt
		out.ResolvedAt = &v
	}
	if in.ScheduledStart != nil {
		v := *in.ScheduledStart
		out.ScheduledStart = &v
	}
	out.Checklist = make([]Item, len(in.Checklist))
	for i, it := range in.Checklist {
		out.Checklist[i] = it.Clone()
	}
	return out
}

// Item is one step of an incident's checklist.
type Item struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Hint     string    `json:"hint,omitempty"`
	Due      *Duration `json:"due,omitempty"`
	Every    *Duration `json:"every,omitempty"`
	After    string    `json:"after,omitempty"`
	DoneAt   *Time     `json:"done_at"`
	DoneBy   *string   `json:"done_by"`
	Count    int       `json:"count,omitempty"`
	Template string    `json:"template,omitempty"`
}

// Done reports whether the step has been done at least once.
func (it *Item) Done() bool { return it.DoneAt != nil && !it.DoneAt.IsZero() }

// Clone returns a deep copy of the item.
func (it Item) Clone() Item {
	out := it
	if it.Due != nil {
		v := *it.Due
		out.Due = &v
	}
	if it.Every != nil {
		v := *it.Every
		out.Every = &v
	}
	if it.DoneAt != nil {
		v := *it.DoneAt
		out.DoneAt = &v
	}
	if it.DoneBy != nil {
		v := *it.DoneBy
		out.DoneBy = &v
	}
	return out
}

// Entry is one line of a timeline.
type Entry struct {
	Type     string `json:"type"`
	Seq      uint64 `json:"seq"`
	Incident string `json:"incident"`
	At       Time   `json:"at"`
	Actor    string `json:"actor"`
	Kind     string `json:"kind"`
	Text     string `json:"text"`
}

// Synced says the replay is done; what follows is live.
type Synced struct {
	Type string `json:"type"`
	Seq  uint64 `json:"seq"`
}

// Ack answers a command that was applied and is on stable storage.
type Ack struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Seq  uint64 `json:"seq"`
}

// Nack answers a command that was refused; nothing of it was applied.
type Nack struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Code  string `json:"code"`
	Error string `json:"error"`
}

// Subscribe is the first client frame, after hello.
type Subscribe struct {
	Type    string `json:"type"`
	Since   uint64 `json:"since"`
	Journal string `json:"journal"`
}

// Command is a responder's action, client to server.
type Command struct {
	Type           string `json:"type"`
	ID             string `json:"id"`
	Actor          string `json:"actor"`
	Op             string `json:"op"`
	Incident       string `json:"incident,omitempty"`
	Item           string `json:"item,omitempty"`
	Done           *bool  `json:"done,omitempty"`
	Text           string `json:"text,omitempty"`
	Status         string `json:"status,omitempty"`
	Title          string `json:"title,omitempty"`
	Severity       string `json:"severity,omitempty"`
	Kind           string `json:"kind,omitempty"`
	Commander      string `json:"commander,omitempty"`
	ScheduledStart *Time  `json:"scheduled_start,omitempty"`
}
