package tui

import "github.com/vigil-oncall/vigil/feeds/protocol"

// debriefTimeline is the incident's timeline as the debrief draft reads
// it (the entries' kinds, texts and times); other drafts need none.
func (m Model) debriefTimeline(incidentID, step string) []protocol.Entry {
	if step != "debrief" {
		return nil
	}
	tl := m.st.Timeline
	n := tl.Len(incidentID)
	out := make([]protocol.Entry, 0, n)
	for i := 0; i < n; i++ {
		e := tl.At(incidentID, i)
		out = append(out, protocol.Entry{Seq: e.Seq, Incident: e.Incident, At: protocol.At(e.At), Actor: e.Actor, Kind: e.Kind, Text: e.Text, Host: e.Host})
	}
	return out
}
