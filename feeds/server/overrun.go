package server

import (
	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// overrunCommandID names the hub's own change that adds an incident's
// overrun-notice step: journaled under it, it is made at most once per
// incident, across restarts and by any hub of a cluster.
func overrunCommandID(incidentID string) string { return "vigil-overrun-" + incidentID }

// sweepOverruns gives every maintenance still in progress past its
// announced end the overrun-notice step, journaled like a command's change
// so every dashboard sees it and can tick it.
func (h *Hub) sweepOverruns() {
	now := h.opts.Now()
	h.mu.Lock()
	var late []string
	for id, inc := range h.incidents {
		if _, over := incident.Overrunning(&inc, now); over && !incident.HasStep(&inc, incident.OverrunStepID) {
			late = append(late, id)
		}
	}
	h.mu.Unlock()
	for _, id := range late {
		h.addOverrunStep(id)
	}
}

func (h *Hub) addOverrunStep(id string) {
	h.cmdMu.Lock()
	defer h.cmdMu.Unlock()
	cmdID := overrunCommandID(id)
	if _, done := h.journal.Applied(cmdID); done {
		return
	}
	h.mu.Lock()
	cur, ok := h.incidents[id]
	h.mu.Unlock()
	if !ok {
		return
	}
	next, e, ok := incident.AddOverrunStep(cur, h.opts.Now())
	if !ok {
		return
	}
	fitEntry(&e)
	msgs := []protocol.Message{&e, &protocol.IncidentMsg{Incident: next}}
	if err := checkFrames(msgs); err != nil {
		h.log.Error("overrun-notice step not added", "incident", id, "err", err)
		return
	}
	written, err := h.journal.Append(cmdID, msgs...)
	if err != nil {
		h.log.Error("journal write failed; overrun-notice step not added (tried again next sweep)", "incident", id, "err", err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range written {
		h.noteIncidentState(m.Msg)
	}
	h.log.Info("maintenance overrunning its announced end: checklist gains "+incident.OverrunStepID, "incident", id)
	// A cluster's journal may refuse it (another hub appended first); the
	// next sweep tries again against what that hub wrote.
	h.whenDurableLocked(written[len(written)-1].Seq, recordOf(written), func(error) {})
}
