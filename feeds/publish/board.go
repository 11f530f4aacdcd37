// Package publish is how vigil speaks to customers: the status page built
// from what responders published (HTML, Atom, an Atlassian Statuspage
// summary.json), and the delivery of each publish to email and webhooks,
// exactly once per command and channel as far as the journal can tell.
//
// It does no journaling itself: the hub feeds it the journal's messages
// (Board.Observe) and journals what the delivery engine reports.
package publish

import (
	"sort"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Site is the public face of the hub: its name, its public address and
// the components customers know.
type Site struct {
	Name       string
	URL        string // the page's public address (PageURL): links in emails, Atom ids
	Components []protocol.Component
	// History is how long resolved incidents stay listed (default 90 days).
	History time.Duration
}

// DefaultHistory is how long a resolved incident stays on the page.
const DefaultHistory = 90 * 24 * time.Hour

func (s Site) history() time.Duration {
	if s.History <= 0 {
		return DefaultHistory
	}
	return s.History
}

// Update is one text published to the status page.
type Update struct {
	Ref     string // the publish command's id
	Status  string // the incident's status when it was published
	Subject string // the responder's headline, if any: the page's name for the incident
	Body    string
	At      time.Time
}

// Tracked is an incident as the status page knows it: its latest state
// and what was published to the page about it.
type Tracked struct {
	Incident protocol.Incident
	Updated  time.Time // the incident's last change
	Updates  []Update  // published to the page, oldest first
}

// Board holds what the status page is built from. The hub feeds it every
// journal message in order; it keeps only incidents that are open or
// resolved within the history window, so it stays bounded by what a
// customer can still see.
type Board struct {
	site Site

	mu        sync.Mutex
	incidents map[string]*Tracked
	updated   time.Time // the newest change the page shows
	version   uint64    // counts changes, for renderings to know they are stale
	pruned    time.Time // when the board last forgot old incidents
	extras    PageExtras
}

// NewBoard returns an empty board for site.
func NewBoard(site Site) *Board {
	return &Board{site: site, incidents: map[string]*Tracked{}}
}

// Site is the board's site.
func (b *Board) Site() Site { return b.site }

// Observe takes one journal message: incidents and publish entries.
func (b *Board) Observe(m protocol.Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch v := m.(type) {
	case *protocol.IncidentMsg:
		b.version++
		t := b.incidents[v.Incident.ID]
		if t == nil {
			t = &Tracked{}
			b.incidents[v.Incident.ID] = t
		}
		t.Incident = v.Incident.Clone()
		t.Updated = latest(v.Incident)
		b.touch(t.Updated)
		b.pruneLocked(t.Updated)
	case *protocol.Entry:
		if v.Kind != protocol.EntryPublish || !onPage(v.Channels) {
			return
		}
		t := b.incidents[v.Incident]
		if t == nil {
			return // an incident older than the window, or none
		}
		b.version++
		t.Updates = append(t.Updates, Update{Ref: v.Ref, Status: t.Incident.Status, Subject: v.Subject, Body: v.Text, At: v.At.Time})
		b.touch(v.At.Time)
	}
}

func onPage(channels []string) bool {
	for _, c := range channels {
		if c == protocol.ChannelPage {
			return true
		}
	}
	return false
}

func (b *Board) touch(t time.Time) {
	if t.After(b.updated) {
		b.updated = t
	}
}

// latest is the newest moment an incident records.
func latest(in protocol.Incident) time.Time {
	t := in.OpenedAt.Time
	if in.ResolvedAt != nil && in.ResolvedAt.After(t) {
		t = in.ResolvedAt.Time
	}
	for _, it := range in.Checklist {
		if it.DoneAt != nil && it.DoneAt.After(t) {
			t = it.DoneAt.Time
		}
	}
	return t
}

// pruneLocked forgets incidents resolved longer ago than the history
// window, measured from the newest time the journal shows; at most once a
// tenth of the window, so replaying years of journal on start stays linear
// and the board holds at most 1.1 windows of incidents.
func (b *Board) pruneLocked(now time.Time) {
	if now.Sub(b.pruned) < b.site.history()/10 {
		return
	}
	b.pruned = now
	cut := now.Add(-b.site.history())
	for id, t := range b.incidents {
		in := t.Incident
		if in.Resolved() && in.ResolvedAt != nil && in.ResolvedAt.Before(cut) {
			delete(b.incidents, id)
		}
	}
}

// Version changes whenever what the page is built from does.
func (b *Board) Version() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.version
}

// Incident returns the board's copy of an incident.
func (b *Board) Incident(id string) (protocol.Incident, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.incidents[id]
	if !ok {
		return protocol.Incident{}, false
	}
	return t.Incident.Clone(), true
}

// Snapshot copies what the page is built from, ordered by opening time.
func (b *Board) Snapshot() []Tracked {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Tracked, 0, len(b.incidents))
	for _, t := range b.incidents {
		c := Tracked{Incident: t.Incident.Clone(), Updated: t.Updated, Updates: append([]Update(nil), t.Updates...)}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, c := out[i].Incident, out[j].Incident
		if !a.OpenedAt.Equal(c.OpenedAt.Time) {
			return a.OpenedAt.Before(c.OpenedAt.Time)
		}
		return a.ID < c.ID
	})
	return out
}
