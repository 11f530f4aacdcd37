package state

import "github.com/vigil-oncall/vigil/feeds/protocol"

// responderKinds are the entries a person's command writes, whose times
// the person's clock set (PROTOCOL: a command's at sets the times it
// sets); alerts carry agents' clocks and are not judged.
var responderKinds = map[string]bool{protocol.EntryNote: true, protocol.EntryStatus: true, protocol.EntryCheck: true,
	protocol.EntryPublish: true, protocol.EntryClaim: true}

// markLate marks e, a feed's entry arriving in journal order, when a
// responder's entry of a later time was journaled before it.
func (s *State) markLate(e Entry) Entry {
	if !responderKinds[e.Kind] {
		return e
	}
	latest := s.latestBy[e.Feed]
	if e.At.Before(latest) {
		e.LateAfter = latest
	} else {
		s.latestBy[e.Feed] = e.At
	}
	return e
}
