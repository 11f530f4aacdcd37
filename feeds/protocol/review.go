package protocol

import "encoding/json"

// Load history and rewind: what a review of a night asks the hub.

// Kinds of history request.
const (
	// HistoryLoad asks for one host's load samples between From and To.
	HistoryLoad = "load"
)

// TypeRewind is the rewind request and its answer.
const TypeRewind = "rewind"

// LoadSample is one host's load at one moment, as the hub kept it.
type LoadSample struct {
	At         Time     `json:"at"`
	Load1      float64  `json:"load1"`
	CPUs       int      `json:"cpus"`
	MemUsedPct *float64 `json:"mem_used_pct"`
}

// Rewind is both a request for the board as it stood at At (client to
// server: ID, At) and its answer (server to client: every field). Loads
// and services are frames as they stood then; incidents and pages the
// frames as they stood at Seq; entries the newest up to Seq.
type Rewind struct {
	Type      string            `json:"type"`
	ID        string            `json:"id"`
	At        Time              `json:"at"`
	Seq       uint64            `json:"seq"`
	Loads     []Load            `json:"loads"`
	Services  []Service         `json:"services"`
	Incidents []IncidentMsg     `json:"incidents"`
	Pages     []json.RawMessage `json:"pages"`
	Entries   []Entry           `json:"entries"`
}

func (*Rewind) messageType() string { return TypeRewind }
