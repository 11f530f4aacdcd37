package server

import (
	"bytes"
	"sort"
	"unicode/utf8"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// presence is who is watching: one watcher per subscriber that named an
// actor, guarded by the hub's mu; last is the frame last broadcast.
type presence struct {
	watchers map[*subscriber]protocol.Watcher
	last     []byte
}

// maxViaBytes bounds how a watcher says it watches ("tty", "ssh").
const maxViaBytes = 16

// watcherOf is the watcher a subscribe names, if it names a usable one.
func watcherOf(sub *protocol.Subscribe, now protocol.Time) (protocol.Watcher, bool) {
	if sub.Actor == "" || len(sub.Actor) > protocol.MaxIDBytes || !utf8.ValidString(sub.Actor) {
		return protocol.Watcher{}, false
	}
	via := sub.Via
	if len(via) > maxViaBytes || !utf8.ValidString(via) {
		via = ""
	}
	return protocol.Watcher{Actor: sub.Actor, Via: via, Since: now}, true
}

// frame is the presence message: one watcher per actor and via, since the
// earliest of their connections, earliest first.
func (p *presence) frame() []byte {
	type key struct{ actor, via string }
	merged := map[key]protocol.Watcher{}
	for _, w := range p.watchers {
		k := key{w.Actor, w.Via}
		if have, ok := merged[k]; !ok || w.Since.Before(have.Since.Time) {
			merged[k] = w
		}
	}
	list := make([]protocol.Watcher, 0, len(merged))
	for _, w := range merged {
		list = append(list, w)
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if !a.Since.Equal(b.Since.Time) {
			return a.Since.Before(b.Since.Time)
		}
		if a.Actor != b.Actor {
			return a.Actor < b.Actor
		}
		return a.Via < b.Via
	})
	return protocol.MustEncode(&protocol.Presence{Watchers: list})
}

// joinPresence adds s's watcher, if its subscribe named one, and sends the
// presence: to everyone if the set changed, else to s alone. s's writer
// sends it after the snapshot and synced, which are queued before.
func (h *Hub) joinPresence(s *subscriber, sub *protocol.Subscribe) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, live := h.subs[s]; !live {
		return
	}
	if w, ok := watcherOf(sub, protocol.At(h.opts.Now())); ok {
		h.presence.watchers[s] = w
	}
	frame := h.presence.frame()
	if bytes.Equal(frame, h.presence.last) {
		if !s.offer(frame) {
			h.dropSlowLocked(s, tooSlow)
		}
		return
	}
	h.presence.last = frame
	h.broadcastLocked(frame)
}

// leavePresence removes s's watcher and tells everyone if the set changed.
func (h *Hub) leavePresence(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.presence.watchers[s]; !ok {
		return
	}
	delete(h.presence.watchers, s)
	frame := h.presence.frame()
	if bytes.Equal(frame, h.presence.last) {
		return
	}
	h.presence.last = frame
	h.broadcastLocked(frame)
}
