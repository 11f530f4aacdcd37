package server

import (
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Bounds on evidence from an agent. The budget keeps the journaled entry
// far below the 1 MiB frame limit, with room for the entry's other fields
// and for a history answer that carries it beside others.
const (
	evidenceBudget      = 256 << 10
	maxEvidenceProcs    = 15
	maxEvidenceOutputs  = 16
	maxEvidenceReason   = protocol.MaxTitleBytes * 4
	maxEvidenceField    = 256
	minOutputTextBytes  = 256
	evidenceClockWindow = 24 * time.Hour
)

// RecordEvidence journals what an agent captured on a host as an entry of
// kind evidence, attached to the open incident (the newest, if several
// are open), trimmed to fit a frame.
func (h *Hub) RecordEvidence(ev protocol.Evidence) {
	now := h.opts.Now()
	at := ev.At
	if at.IsZero() || at.After(now) || now.Sub(at.Time) > evidenceClockWindow {
		at = protocol.At(now)
	}
	data := boundEvidence(ev.EvidenceData, evidenceBudget)
	reason := data.Reason
	if reason == "" {
		reason = "collected"
	}
	h.mu.Lock()
	inc := h.newestOpenLocked()
	h.mu.Unlock()
	h.record(protocol.Entry{
		At: at, Actor: ev.Host, Kind: protocol.EntryEvidence, Host: ev.Host, Incident: inc,
		Text: "evidence from " + ev.Host + ": " + reason, Evidence: &data,
	})
}

// newestOpenLocked is the id of the most recently declared incident that
// is not resolved, or "".
func (h *Hub) newestOpenLocked() string {
	for i := len(h.order) - 1; i >= 0; i-- {
		if in := h.incidents[h.order[i]]; !in.Resolved() {
			return in.ID
		}
	}
	return ""
}

// boundEvidence copies d within the protocol's shape (at most 15 process
// groups, short fields), cuts each output's text to an equal share of
// budget, then halves the longest texts until the encoded data fits budget
// bytes (escaping can make a text grow sixfold). A cut output says so
// (Truncated).
func boundEvidence(d protocol.EvidenceData, budget int) protocol.EvidenceData {
	out := protocol.EvidenceData{Reason: truncateUTF8(d.Reason, maxEvidenceReason)}
	for i, p := range d.Processes {
		if i == maxEvidenceProcs {
			break
		}
		p.User = truncateUTF8(p.User, maxEvidenceField)
		p.Command = truncateUTF8(p.Command, maxEvidenceField)
		out.Processes = append(out.Processes, p)
	}
	outputs := min(len(d.Outputs), maxEvidenceOutputs)
	share := budget / max(outputs, 1) // no output can crowd out the others
	for _, o := range d.Outputs[:outputs] {
		o.Name = truncateUTF8(o.Name, maxEvidenceField)
		o.Error = truncateUTF8(o.Error, maxEvidenceField)
		if t := truncateUTF8(o.Text, share); t != o.Text {
			o.Text, o.Truncated = t, true
		}
		out.Outputs = append(out.Outputs, o)
	}
	// Each round halves the longest text, so this ends after at most
	// log2(budget) rounds per output; only the changed text is re-encoded.
	size := encodedSize(out)
	for size > budget {
		longest := -1
		for i, o := range out.Outputs {
			if len(o.Text) > minOutputTextBytes && (longest < 0 || len(o.Text) > len(out.Outputs[longest].Text)) {
				longest = i
			}
		}
		if longest < 0 {
			break // the rest is bounded by the field limits above
		}
		o := &out.Outputs[longest]
		before, wasTruncated := encodedLen(o.Text), o.Truncated
		o.Text, o.Truncated = truncateUTF8(o.Text, len(o.Text)/2), true
		size -= before - encodedLen(o.Text)
		if !wasTruncated {
			size += len(`,"truncated":true`)
		}
	}
	return out
}

// encodedLen is the length of s as a JSON string.
func encodedLen(s string) int {
	b, _ := json.Marshal(s)
	return len(b)
}

func encodedSize(d protocol.EvidenceData) int {
	return len(protocol.MustEncode(&protocol.Evidence{EvidenceData: d}))
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
