package server

import (
	"strings"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// What a restarted hub knew before it stopped is in every snapshot from
// its first: a service (an Alertmanager alert that will not be resent for
// hours, a scraped or an agent's service) in the state its newest
// transition entry left it, and a host that has not reported since as
// stale with what is last known of it. Stale data is shown as stale,
// never hidden.

// restoreServices puts every service the journal's transitions left in a
// state into the hub's current state, as reported when that transition
// was: the first report after the restart is compared with it as before.
func (h *Hub) restoreServices() {
	for key, s := range h.lastKnown {
		if _, live := h.services[key]; live {
			continue
		}
		s.At = s.Since
		restored := s
		h.services[key] = &restored
		h.svcFrames[key] = protocol.MustEncode(&restored)
	}
}

// transitionDetail is the detail a transition entry's text carries after
// its "from → to: ".
func transitionDetail(text string) string {
	_, right, ok := strings.Cut(text, " → ")
	if !ok {
		return ""
	}
	_, detail, _ := strings.Cut(right, ": ")
	return detail
}
