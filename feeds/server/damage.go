package server

import (
	"errors"

	"github.com/vigil-oncall/vigil/feeds/journal"
)

// A journal found damaged while serving (a read of a sealed segment
// failing its checksum after start, which verified it) leaves the hub
// read-only: commands are refused with the reason, /healthz fails with
// it, and a subscriber whose replay cannot be read is closed with it. It
// never reads "ok" again until a restart, which refuses to start over the
// damage and names the file, line and seq.

// noteReadError records a journal read error that is damage.
func (h *Hub) noteReadError(err error) {
	if err == nil || !errors.Is(err, journal.ErrDamaged) {
		return
	}
	h.mu.Lock()
	first := h.damaged == nil
	if first {
		h.damaged = err
	}
	h.mu.Unlock()
	if first {
		h.log.Error("journal damaged while serving: read-only (every command refused, /healthz failing) until vigil serve is restarted over a repaired data directory", "err", err)
	}
}

// JournalDamaged is the damage found while serving, or nil.
func (h *Hub) JournalDamaged() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.damaged
}

// damagedReason is the damage for a refusal and /healthz.
func damagedReason(err error) string {
	return "journal damaged, hub read-only until restarted: " + err.Error()
}

// damagedClose is the damage within a close frame's 123 bytes.
func damagedClose(err error) string {
	s := damagedReason(err)
	if len(s) > 123 {
		s = s[:120] + "..."
	}
	return s
}
