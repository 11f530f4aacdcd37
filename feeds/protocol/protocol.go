// Package protocol is the vigil.v1 wire contract of ../shared/PROTOCOL.md:
// the message types exchanged between a health feed and the dashboard, and
// a tolerant codec for them. It does no I/O.
package protocol

import (
	"encoding/json"
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
	TypeRegister  = "register"
	TypeEvidence  = "evidence"
	TypeHistory   = "history"
	TypePresence  = "presence"
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
	// Additions: what an agent captured, what was told to customers and
	// how each channel took it, and who is on a step.
	EntryEvidence = "evidence"
	EntryPublish  = "publish"
	EntryDelivery = "delivery"
	EntryClaim    = "claim"
)

// Command ops.
const (
	OpDeclare = "declare"
	OpStatus  = "status"
	OpNote    = "note"
	OpCheck   = "check"
	OpUpdate  = "update"
	OpClaim   = "claim"
	OpPublish = "publish"
	OpCollect = "collect"
)

// Load levels, the server's classification of a load (Load.Level).
const (
	LevelOK   = "ok"
	LevelWarn = "warn"
	LevelCrit = "crit"
)

// Where a watcher watches from (Subscribe.Via).
const (
	ViaTTY = "tty"
	ViaSSH = "ssh"
)

// ChannelPage is the hub's own status page, a publish channel that always
// exists.
const ChannelPage = "page"

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
	case EntryNote, EntryStatus, EntryCheck, EntryAlert, EntrySystem,
		EntryEvidence, EntryPublish, EntryDelivery, EntryClaim, EntryPage, EntryAck:
		return true
	}
	return false
}

// TimeLayout is RFC 3339 in UTC with milliseconds, as the protocol requires.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is a protocol timestamp: written as RFC 3339 UTC with milliseconds,
// read from any RFC 3339 form whose year, in UTC, is 0001 to 9999.
//
// Reading never fails: a receiver keeps a frame whose optional times it
// cannot read (PROTOCOL.md, Limits). Such a time reads as zero (absent) and
// Invalid reports it, so a server can refuse a command that carried it.
type Time struct {
	time.Time
	invalid bool
}

// At wraps t as a protocol Time truncated to milliseconds.
func At(t time.Time) Time { return Time{Time: t.UTC().Truncate(time.Millisecond)} }

// Invalid reports whether the wire carried a value that is not a protocol
// time (not RFC 3339, or a year outside 0001-9999 in UTC).
func (t Time) Invalid() bool { return t.invalid }

// MinYear and MaxYear bound a protocol time's year, in UTC.
const (
	MinYear = 1
	MaxYear = 9999
)

// InRange reports whether t, in UTC, falls in the protocol's years.
func InRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= MinYear && y <= MaxYear
}

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
	*t = Time{}
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		t.invalid = true
		return nil
	}
	t.setText(s)
	return nil
}

// setText reads s, the string a time field carried.
func (t *Time) setText(s string) {
	*t = Time{}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !InRange(parsed) {
		t.invalid = true
		return
	}
	t.Time = parsed.UTC()
}

// Duration is a Go-style duration string on the wire: "90s", "-168h".
// Like Time, reading never fails: a value that is not a duration ("soon")
// reads as the unknownDuration mark, which Decode turns into "absent".
type Duration time.Duration

// unknownDuration marks a duration the wire carried but that could not be
// read; Decode replaces it by absence before anyone sees it.
const unknownDuration = Duration(-1 << 63)

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
		*d = unknownDuration
		return nil
	}
	d.setText(s)
	return nil
}

// setText reads s, the string a duration field carried.
func (d *Duration) setText(s string) {
	v, err := time.ParseDuration(s)
	if err != nil || Duration(v) == unknownDuration {
		*d = unknownDuration
		return
	}
	*d = Duration(v)
}

// Hello is the first frame on every connection, server to client.
type Hello struct {
	Type     string `json:"type"`
	Protocol int    `json:"protocol"`
	Server   string `json:"server"`
	Journal  string `json:"journal"`
	Seq      uint64 `json:"seq"`
	Time     Time   `json:"time"`

	// Channels are the publish channels the hub offers (ChannelPage is
	// always one), Components the public components incidents may name:
	// what a dashboard offers in its publish and declare dialogs.
	Channels   []string    `json:"channels,omitempty"`
	Components []Component `json:"components,omitempty"`
}

// Component is one public component of the status page.
type Component struct {
	ID   string `json:"id"`
	Name string `json:"name"`
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
	// Level is the server's classification (LevelOK, LevelWarn,
	// LevelCrit) with its hysteresis; a dashboard shows it where present.
	Level string `json:"level,omitempty"`
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
	// ScheduledEnd is the end of a maintenance window.
	ScheduledEnd *Time `json:"scheduled_end,omitempty"`
	// Components are the public component ids the incident affects: what
	// the status page shows as affected.
	Components []string `json:"components,omitempty"`
	Checklist  []Item   `json:"checklist"`
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
	if in.ScheduledEnd != nil {
		v := *in.ScheduledEnd
		out.ScheduledEnd = &v
	}
	out.Components = append([]string(nil), in.Components...)
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
	// ClaimedBy and ClaimedAt say who is on the step ("carol is writing
	// the email"); null when nobody is or the claim was released.
	ClaimedBy *string `json:"claimed_by"`
	ClaimedAt *Time   `json:"claimed_at"`
}

// Title or, where a feed sent none, the step's id: what a screen shows.
func (it *Item) Label() string {
	if it.Title != "" {
		return it.Title
	}
	return it.ID
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
	if it.ClaimedBy != nil {
		v := *it.ClaimedBy
		out.ClaimedBy = &v
	}
	if it.ClaimedAt != nil {
		v := *it.ClaimedAt
		out.ClaimedAt = &v
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

	// Host is the host an alert, system or evidence entry is about.
	Host string `json:"host,omitempty"`
	// Evidence is what was running on Host, for kind evidence.
	Evidence *EvidenceData `json:"evidence,omitempty"`
	// Received is the server's time where At is the responder's time of
	// action (a command's at) and the two differ by more than a second.
	Received *Time `json:"received,omitempty"`

	// Service, State and Level make a transition entry readable by
	// machines: Service on Host went to State (a service state), or Host's
	// load went to Level. A restarted hub recovers its last known states
	// from them instead of journaling the same transitions again.
	Service string `json:"service,omitempty"`
	State   string `json:"state,omitempty"`
	Level   string `json:"level,omitempty"`

	// Publishing: Ref is the id of the publish command an entry of kind
	// publish or delivery belongs to; Channels the channels a publish
	// went to; Channel the one a delivery is about; Subject an email's
	// subject; Item the step a publish ticks.
	Ref      string    `json:"ref,omitempty"`
	Channels []string  `json:"channels,omitempty"`
	Channel  string    `json:"channel,omitempty"`
	Subject  string    `json:"subject,omitempty"`
	Item     string    `json:"item,omitempty"`
	Delivery *Delivery `json:"delivery,omitempty"`
	// Deliverer was, on a publish journaled by a hub of a cluster, the hub
	// that delivered it. Hubs no longer set it: the hub holding the
	// delivery lease sends every publish, and a lost hub's are sent by
	// the next (a hub reading an older journal ignores it likewise).
	Deliverer string `json:"deliverer,omitempty"`
	// Recipients are, on a publish to a customers channel, the ids of the
	// customers it writes to, frozen when it was journaled.
	Recipients []string `json:"recipients,omitempty"`

	// Paging: Page is the page an entry of kind page or ack is about,
	// Notify the notification an entry of kind page reports; Silence
	// and Override what a silence or override command set.
	Page     string    `json:"page,omitempty"`
	Notify   *Notify   `json:"notify,omitempty"`
	Silence  *Silence  `json:"silence,omitempty"`
	Override *Override `json:"override,omitempty"`
}

// Delivery is the outcome of one try at one channel, on a delivery entry.
type Delivery struct {
	// Outcome is DeliveryDelivered, DeliveryRetrying or DeliveryFailed.
	Outcome string `json:"outcome"`
	Attempt int    `json:"attempt"`
	// NextTry is when a retrying delivery is tried again.
	NextTry *Time `json:"next_try,omitempty"`
}

// Delivery outcomes.
const (
	DeliveryDelivered = "delivered"
	DeliveryRetrying  = "retrying"
	DeliveryFailed    = "failed" // given up: a responder must act
)

// Synced says the replay is done; what follows is live.
type Synced struct {
	Type string `json:"type"`
	Seq  uint64 `json:"seq"`
	// Compacted says the replay after a since-0 subscribe left out old
	// messages (gaps in seq); Oldest is the lowest seq the server holds.
	Compacted bool   `json:"compacted,omitempty"`
	Oldest    uint64 `json:"oldest,omitempty"`
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
	// Actor is who is watching, Via how (ViaTTY, ViaSSH): presence.
	Actor string `json:"actor,omitempty"`
	Via   string `json:"via,omitempty"`
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

	// At is when the responder acted, by the client's clock.
	At           *Time    `json:"at,omitempty"`
	ScheduledEnd *Time    `json:"scheduled_end,omitempty"`
	Components   []string `json:"components,omitempty"`
	Claim        *bool    `json:"claim,omitempty"`    // claim: take (true) or release
	Channels     []string `json:"channels,omitempty"` // publish
	Subject      string   `json:"subject,omitempty"`  // publish, email subject
	Host         string   `json:"host,omitempty"`     // collect

	// Paging: Page for ack, resolve, escalate; Who for summon
	// ("person:dana", "rotation:secondary"); Rotation, Person, From and
	// Until for override; Hosts, Services, Until and Reason for a silence,
	// or Silence (its id) with Until to end one early.
	Page     string   `json:"page,omitempty"`
	Who      string   `json:"who,omitempty"`
	Rotation string   `json:"rotation,omitempty"`
	Person   string   `json:"person,omitempty"`
	From     *Time    `json:"from,omitempty"`
	Until    *Time    `json:"until,omitempty"`
	Hosts    []string `json:"hosts,omitempty"`
	Services []string `json:"services,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Silence  string   `json:"silence,omitempty"`
}

// Register is an agent's first frame, instead of subscribe: the hosts it
// reports for.
type Register struct {
	Type  string   `json:"type"`
	Agent string   `json:"agent"`
	Hosts []string `json:"hosts"`
}

// EvidenceData is what was running on a host at a moment worth explaining.
type EvidenceData struct {
	Reason    string    `json:"reason"`
	Processes []Process `json:"processes"`
	Outputs   []Output  `json:"outputs"`
}

// Process is one group of processes: those of one user running one
// command, with their summed CPU and memory and one pid to look at.
type Process struct {
	PID     int     `json:"pid"`
	User    string  `json:"user"`
	Command string  `json:"command"`
	Count   int     `json:"count"`
	CPUPct  float64 `json:"cpu_pct"`
	RSSKB   int64   `json:"rss_kb"`
}

// Output is what one configured command printed.
type Output struct {
	Name string `json:"name"`
	Exit int    `json:"exit"`
	Text string `json:"text"`
	// Truncated says Text was cut to the size limit; Error says why the
	// command did not finish (a timeout, a failure to start).
	Truncated bool   `json:"truncated,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Evidence is an agent's report of what ran on a host, agent to hub.
type Evidence struct {
	Type string `json:"type"`
	Host string `json:"host"`
	At   Time   `json:"at"`
	EvidenceData
}

// History is both a request for older journal messages (client to server:
// ID, Before, Limit, Incident) and its answer (server to client: ID,
// Messages, More).
type History struct {
	Type     string            `json:"type"`
	ID       string            `json:"id"`
	Before   uint64            `json:"before,omitempty"`
	Limit    int               `json:"limit,omitempty"`
	Incident string            `json:"incident,omitempty"`
	Messages []json.RawMessage `json:"messages,omitempty"`
	More     bool              `json:"more"`
	// Kind "load" asks for Host's load samples from From to To; the
	// answer carries them in Samples, oldest first.
	Kind    string       `json:"kind,omitempty"`
	Host    string       `json:"host,omitempty"`
	From    *Time        `json:"from,omitempty"`
	To      *Time        `json:"to,omitempty"`
	Samples []LoadSample `json:"samples,omitzero"` // present (maybe []) in every load answer
}

// Presence lists who is watching, server to client.
type Presence struct {
	Type     string    `json:"type"`
	Watchers []Watcher `json:"watchers"`
}

// Watcher is one person watching, and how.
type Watcher struct {
	Actor string `json:"actor"`
	Via   string `json:"via,omitempty"`
	Since Time   `json:"since"`
}
