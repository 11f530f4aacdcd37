// Package journal is the hub's incident journal: every journal message
// (incident frames and entries) numbered by seq, written to stable storage
// before anything it holds is broadcast or acknowledged, and read back on
// demand. The hub sees it through one interface, Backend; the file backend
// (Journal, segments of checksummed JSON lines in the data directory) is the
// embedded default, and a replicated backend can stand beside it.
//
// What a backend keeps in memory is bounded by what is live (the newest
// frame of every incident, where each incident's messages are, the ids of
// recent commands), never by the years of journal behind it: older messages
// are read from storage when asked for.
package journal

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Message is one journal message: an *protocol.IncidentMsg or
// *protocol.Entry and its encoded frame, exactly as sent on the wire.
// Msg is set on what Append and Heads return; reads (Range, Seqs) leave
// it nil, as a replay only sends frames: Decode sets it.
type Message struct {
	Seq   uint64
	Msg   protocol.Message
	Frame []byte
}

// Decode decodes the frame into Msg, if that is not done yet.
func (m *Message) Decode() (protocol.Message, error) {
	if m.Msg != nil {
		return m.Msg, nil
	}
	msg, err := protocol.Decode(m.Frame)
	if err != nil {
		return nil, err
	}
	m.Msg = msg
	return msg, nil
}

// IsIncident reports whether the message is an incident frame, without
// decoding it.
func (m *Message) IsIncident() bool {
	if m.Msg != nil {
		_, ok := m.Msg.(*protocol.IncidentMsg)
		return ok
	}
	if bytes.HasPrefix(m.Frame, []byte(`{"type":"incident"`)) {
		return true
	}
	if bytes.HasPrefix(m.Frame, []byte(`{"type":"entry"`)) {
		return false
	}
	typ, _, _, _ := incidentOf(m.Frame)
	return typ == protocol.TypeIncident
}

// Backend is what the hub needs of a journal. Appends are made by one
// goroutine at a time (the hub serializes them, so seqs follow one order);
// reads may run concurrently with appends and with each other.
type Backend interface {
	// ID is the journal's stable identity, sent in hello.
	ID() string
	// Seq is the newest durable seq (0 when empty); Oldest the lowest seq
	// the backend can still read.
	Seq() uint64
	Oldest() uint64

	// Append assigns the next seqs to msgs (each an *protocol.IncidentMsg
	// or *protocol.Entry) and queues them as one record, all or nothing,
	// with the command id that caused them ("" for none). It returns at
	// once: the record is durable when OnDurable reports it. After a
	// failure the backend refuses every append (fail-stop) until it is
	// reopened and verified.
	Append(cmdID string, msgs ...protocol.Message) ([]Message, error)
	// OnDurable sets the function told, in seq order and one call at a
	// time, about every record once it is on stable storage (err nil), or
	// that one appended here never will be (err set), whoever appended it:
	// a shared backend (a cluster's) also reports the records other hubs
	// appended, with Message.Msg nil (Decode them). It must not block for
	// long. Set it before the first Append.
	OnDurable(func(msgs []Message, err error))
	// Failed is the error that stopped the backend, or nil.
	Failed() error

	// Applied returns the seq a command id was acknowledged with (its
	// record's last seq), including commands appended but not yet durable.
	Applied(cmdID string) (uint64, bool)

	// Range calls fn for every message with from <= seq <= to, in order,
	// until fn returns false. Only durable messages are read; Msg is not
	// decoded (Message.Decode).
	Range(from, to uint64, fn func(Message) bool) error
	// Seqs calls fn for each of the given durable seqs (increasing).
	Seqs(seqs []uint64, fn func(Message) bool) error
	// IncidentSeqs returns the seqs of every durable message of an incident
	// (its entries and its incident frames), increasing.
	IncidentSeqs(id string) []uint64
	// Heads returns the newest durable incident frame of every incident,
	// in the order the incidents were declared.
	Heads() []Message
	// StartSeqs returns, increasing, the durable seqs a hub's start-up
	// state needs whatever their age: every publish and delivery entry,
	// and the newest transition entry (host and service, or host and
	// level) of each service and each host.
	StartSeqs() []uint64
	// SeqAt returns the lowest seq appended at or after t (by the backend's
	// clock when it appended), or Seq()+1 when none was.
	SeqAt(t time.Time) uint64

	Close() error
}

// Recovery says what Open found wrong and repaired.
type Recovery struct {
	TornBytes int    // bytes of an incomplete or damaged tail that were cut off
	TornLine  int    // the line it started on, in its segment
	TornCopy  string // where the cut bytes were kept
	Migrated  string // a format-1 journal that was rewritten, kept under this name
	// Rebuilt names the index and ids files that were missing or damaged
	// and were written again from their segments, each with why.
	Rebuilt []string
}

// ErrDamaged is wrapped by errors about a journal damaged before its end:
// the backend refuses to guess and does not start.
var ErrDamaged = errors.New("journal damaged")

// ErrLocked is wrapped by Open's error when another process holds the data
// directory.
var ErrLocked = errors.New("data directory in use")

// ErrFailed is wrapped by Append's error once the backend has stopped.
var ErrFailed = errors.New("journal stopped after a failed write")

// ErrConflict is reported (OnDurable) for a record of a shared backend
// that another appender (a hub of the same cluster) got in before:
// nothing of it was written. The backend reports what the other appended,
// and goes on: catch up, validate again against the new state, append
// again.
var ErrConflict = errors.New("journal: another hub appended first")

// ErrUnavailable is reported for a record a shared backend could not
// write, such as a hub cut off from the majority of its cluster: nothing
// of it was written, and later appends may succeed. Not fail-stop.
var ErrUnavailable = errors.New("journal unavailable")

// Transient reports whether a record's error leaves the backend working:
// the record was not written, but the next one may be.
func Transient(err error) bool {
	return errors.Is(err, ErrConflict) || errors.Is(err, ErrUnavailable)
}

// CatchUpper is a shared backend that can wait until it has reported
// (OnDurable) everything the other appenders had appended when it was
// called: what to do before validating a command again after ErrConflict.
type CatchUpper interface {
	CatchUp(ctx context.Context) error
}

func seqOf(m protocol.Message) uint64 {
	switch v := m.(type) {
	case *protocol.IncidentMsg:
		return v.Seq
	case *protocol.Entry:
		return v.Seq
	case *protocol.PageMsg:
		return v.Seq
	}
	return 0
}
