package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Message is any decoded protocol message: one of the pointer types
// *Hello, *Load, *Service, *IncidentMsg, *Entry, *Synced, *Ack, *Nack,
// *Subscribe, *Command, *Register, *Evidence, *History, *Presence.
type Message interface{ messageType() string }

func (*Hello) messageType() string       { return TypeHello }
func (*Load) messageType() string        { return TypeLoad }
func (*Service) messageType() string     { return TypeService }
func (*IncidentMsg) messageType() string { return TypeIncident }
func (*Entry) messageType() string       { return TypeEntry }
func (*Synced) messageType() string      { return TypeSynced }
func (*Ack) messageType() string         { return TypeAck }
func (*Nack) messageType() string        { return TypeNack }
func (*Subscribe) messageType() string   { return TypeSubscribe }
func (*Command) messageType() string     { return TypeCommand }
func (*Register) messageType() string    { return TypeRegister }
func (*Evidence) messageType() string    { return TypeEvidence }
func (*History) messageType() string     { return TypeHistory }
func (*Presence) messageType() string    { return TypePresence }

// TypeOf returns the protocol type name of m.
func TypeOf(m Message) string { return m.messageType() }

// ErrUnknownType is returned (wrapped) for a well-formed frame of a type
// this version does not know; the protocol says to ignore and count it.
var ErrUnknownType = errors.New("unknown message type")

// ErrMalformed is returned (wrapped) for a frame that is not a JSON object
// or lacks a required field; the protocol says to drop and count it.
var ErrMalformed = errors.New("malformed frame")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

type envelope struct {
	Type string `json:"type"`
}

// Decode parses one text frame. Unknown fields are ignored. The error wraps
// ErrUnknownType or ErrMalformed so callers can count them apart.
//
// What a feed reports (state, journal and replies) is read tolerantly, as
// PROTOCOL.md's Limits require: only a missing required field drops it; a
// field of the wrong type or a value that cannot be read (a due of "soon")
// is treated as absent. What asks a server to act (command, subscribe,
// register) is read strictly: a field of the wrong type is malformed,
// because guessing at a responder's intent is worse than refusing it.
func Decode(frame []byte) (Message, error) {
	if t, ok := sniffType(frame); ok {
		if t == TypeLoad {
			if l, ok := decodeCanonicalLoad(frame); ok {
				return checked(l)
			}
		}
		if m := newMessage(t); m != nil && json.Unmarshal(frame, m) == nil {
			return checked(m)
		}
	}
	trimmed := bytes.TrimLeft(frame, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, malformed("not a JSON object")
	}
	var env envelope
	if err := json.Unmarshal(frame, &env); err != nil {
		return nil, malformed("%v", err)
	}
	m := newMessage(env.Type)
	switch {
	case env.Type == "":
		return nil, malformed("missing type")
	case m == nil:
		return nil, fmt.Errorf("%w %q", ErrUnknownType, env.Type)
	}
	if err := json.Unmarshal(frame, m); err != nil {
		var typeErr *json.UnmarshalTypeError
		if !errors.As(err, &typeErr) || strict(m) {
			return nil, malformed("%s: %v", env.Type, err)
		}
		// encoding/json finished the rest of the frame; the mistyped
		// field is left absent.
	}
	return checked(m)
}

// checked normalizes a decoded message and validates it.
func checked(m Message) (Message, error) {
	normalize(m)
	if err := validate(m); err != nil {
		return nil, err
	}
	return m, nil
}

// typePrefix is how every frame vigil encodes begins.
var typePrefix = []byte(`{"type":"`)

// sniffType reads a frame's type without decoding it, when the frame
// begins with it (as every frame vigil encodes does) and names no other
// "type" (so no later duplicate key can override it). Then one decode
// into the type's struct reads the frame, where finding the type first by
// a decode of its own parsed every frame twice: at thousands of load
// samples a second that was a third of the dashboard's decoding. Any
// other frame, and any frame that one decode does not read cleanly, takes
// Decode's general path, so errors and tolerance are the same.
func sniffType(frame []byte) (string, bool) {
	if !bytes.HasPrefix(frame, typePrefix) {
		return "", false
	}
	rest := frame[len(typePrefix):]
	end := bytes.IndexByte(rest, '"')
	if end <= 0 || bytes.IndexByte(rest[:end], '\\') >= 0 || bytes.Count(frame, []byte(`"type"`)) != 1 {
		return "", false
	}
	return string(rest[:end]), true
}

// newMessage returns an empty message of the named type, or nil for a
// type this version does not know.
func newMessage(t string) Message {
	switch t {
	case TypeHello:
		return &Hello{}
	case TypeLoad:
		return &Load{}
	case TypeService:
		return &Service{}
	case TypeIncident:
		return &IncidentMsg{}
	case TypeEntry:
		return &Entry{}
	case TypeSynced:
		return &Synced{}
	case TypeAck:
		return &Ack{}
	case TypeNack:
		return &Nack{}
	case TypeSubscribe:
		return &Subscribe{}
	case TypeCommand:
		return &Command{}
	case TypeRegister:
		return &Register{}
	case TypeEvidence:
		return &Evidence{}
	case TypeHistory:
		return &History{}
	case TypeRewind:
		return &Rewind{}
	case TypePresence:
		return &Presence{}
	case TypePage:
		return &PageMsg{}
	case TypeOncall:
		return &Oncall{}
	}
	return nil
}

// strict reports whether m asks a server to act, and so is not guessed at.
func strict(m Message) bool {
	switch m.(type) {
	case *Command, *Subscribe, *Register:
		return true
	}
	return false
}

// normalize turns durations the wire carried but that could not be read
// into absence, so nobody downstream sees the mark.
func normalize(m Message) {
	switch v := m.(type) {
	case *Load:
		if v.Interval == unknownDuration {
			v.Interval = 0
		}
	case *IncidentMsg:
		for i := range v.Incident.Checklist {
			it := &v.Incident.Checklist[i]
			if it.Due != nil && *it.Due == unknownDuration {
				it.Due = nil
			}
			if it.Every != nil && *it.Every == unknownDuration {
				it.Every = nil
			}
		}
	}
}

// validate checks the required fields of PROTOCOL.md's Limits: the only
// ones whose absence drops a frame.
func validate(m Message) error {
	switch v := m.(type) {
	case *Hello:
		return v.validate()
	case *Load:
		return v.validate()
	case *Service:
		return v.validate()
	case *IncidentMsg:
		return v.validate()
	case *Entry:
		return v.validate()
	case *Ack:
		return requireID("ack", v.ID)
	case *Nack:
		return requireID("nack", v.ID)
	case *Command:
		return v.validate()
	case *Register:
		if len(v.Hosts) == 0 {
			return malformed("register: missing hosts")
		}
	case *Evidence:
		return v.validate()
	case *History:
		return requireID("history", v.ID)
	case *PageMsg:
		return v.validate()
	case *Rewind:
		return requireID("rewind", v.ID)
	}
	return nil
}

func requireID(what, id string) error {
	if id == "" {
		return malformed("%s: missing id", what)
	}
	return nil
}

func (v *Hello) validate() error {
	if v.Protocol <= 0 {
		return malformed("hello: missing protocol")
	}
	if v.Journal == "" {
		return malformed("hello: missing journal")
	}
	return nil
}

func (v *Load) validate() error {
	if v.Host == "" {
		return malformed("load: missing host")
	}
	if v.At.IsZero() {
		return malformed("load: missing at")
	}
	return nil
}

func (v *Service) validate() error {
	if v.Host == "" || v.Service == "" {
		return malformed("service: missing host or service")
	}
	if v.State == "" {
		return malformed("service: missing state")
	}
	return nil
}

func (v *IncidentMsg) validate() error {
	in := &v.Incident
	switch {
	case in.ID == "":
		return malformed("incident: missing incident.id")
	case in.Title == "":
		return malformed("incident: missing incident.title")
	case in.Status == "":
		return malformed("incident: missing incident.status")
	case in.OpenedAt.IsZero():
		return malformed("incident: missing incident.opened_at")
	}
	for i, it := range in.Checklist {
		if it.ID == "" {
			return malformed("incident: checklist[%d] missing id", i)
		}
	}
	return nil
}

func (v *Entry) validate() error {
	if v.Seq == 0 {
		return malformed("entry: missing seq")
	}
	if v.Text == "" {
		return malformed("entry: missing text")
	}
	return nil
}

func (v *Command) validate() error {
	if err := requireID("command", v.ID); err != nil {
		return err
	}
	if v.Op == "" {
		return malformed("command: missing op")
	}
	return nil
}

func (v *Evidence) validate() error {
	if v.Host == "" {
		return malformed("evidence: missing host")
	}
	if v.At.IsZero() {
		return malformed("evidence: missing at")
	}
	return nil
}

func (v *PageMsg) validate() error {
	switch p := &v.Page; {
	case p.ID == "":
		return malformed("page: missing page.id")
	case p.Status == "":
		return malformed("page: missing page.status")
	case p.OpenedAt.IsZero():
		return malformed("page: missing page.opened_at")
	}
	return nil
}

// EncodeLoad is MustEncode for a load, which does not make l escape to
// the heap: a hub encodes one per sample it takes.
func EncodeLoad(l *Load) []byte {
	l.Type = TypeLoad
	if b, ok := appendLoad(make([]byte, 0, 192), l); ok {
		return b
	}
	c := *l
	return MustEncode(&c)
}

// Encode writes m as one JSON frame with its type field set.
func Encode(m Message) ([]byte, error) {
	switch v := m.(type) {
	case *Hello:
		v.Type = TypeHello
	case *Load:
		v.Type = TypeLoad
		if b, ok := appendLoad(make([]byte, 0, 192), v); ok {
			return b, nil
		}
	case *Service:
		v.Type = TypeService
	case *IncidentMsg:
		v.Type = TypeIncident
	case *Entry:
		v.Type = TypeEntry
	case *Synced:
		v.Type = TypeSynced
	case *Ack:
		v.Type = TypeAck
	case *Nack:
		v.Type = TypeNack
	case *Subscribe:
		v.Type = TypeSubscribe
	case *Command:
		v.Type = TypeCommand
	case *Register:
		v.Type = TypeRegister
	case *Evidence:
		v.Type = TypeEvidence
	case *History:
		v.Type = TypeHistory
	case *Rewind:
		v.Type = TypeRewind
	case *Presence:
		v.Type = TypePresence
	case *PageMsg:
		v.Type = TypePage
	case *Oncall:
		v.Type = TypeOncall
	default:
		return nil, fmt.Errorf("encode: unsupported message %T", m)
	}
	return json.Marshal(m)
}

// MustEncode is Encode for messages built by this program, which always
// encode; it panics on a programming error.
func MustEncode(m Message) []byte {
	b, err := Encode(m)
	if err != nil {
		panic(err)
	}
	return b
}
