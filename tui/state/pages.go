package state

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Page is a page as a feed sent it, its strings sanitised.
type Page struct {
	Feed string
	protocol.Page
}

// OncallEvent is a feed's newest oncall frame.
type OncallEvent struct {
	Feed   string
	Oncall protocol.Oncall
}

func (OncallEvent) event() {}

// pageBook holds the pages and who is on call, per feed.
type pageBook struct {
	byKey   map[string]*Page // feed + "\x00" + page id
	order   []string
	oncall  map[string]protocol.Oncall
	version uint64
}

func (b *pageBook) init() {
	if b.byKey == nil {
		b.byKey, b.oncall = map[string]*Page{}, map[string]protocol.Oncall{}
	}
}

func sanitizePage(p protocol.Page) protocol.Page {
	p = p.Clone()
	p.ID, p.Title, p.Text, p.Escalation, p.Rule = Sanitize(p.ID), Sanitize(p.Title), Sanitize(p.Text), Sanitize(p.Escalation), Sanitize(p.Rule)
	p.Status, p.Urgency = Sanitize(p.Status), Sanitize(p.Urgency)
	for i := range p.Events {
		ev := &p.Events[i]
		ev.Host, ev.Service, ev.What, ev.Text = Sanitize(ev.Host), Sanitize(ev.Service), Sanitize(ev.What), Sanitize(ev.Text)
	}
	for i := range p.Notified {
		n := &p.Notified[i]
		n.Person, n.Via, n.Outcome = Sanitize(n.Person), Sanitize(n.Via), Sanitize(n.Outcome)
	}
	p.Next = sanitizeAll(p.Next)
	if p.AckedBy != nil {
		v := Sanitize(*p.AckedBy)
		p.AckedBy = &v
	}
	if p.Incident != nil {
		v := Sanitize(*p.Incident)
		p.Incident = &v
	}
	return p
}

func (s *State) applyPage(feed string, m *protocol.PageMsg) {
	b := &s.pages
	b.init()
	p := sanitizePage(m.Page)
	key := feed + "\x00" + p.ID
	if _, seen := b.byKey[key]; !seen {
		b.order = append(b.order, key)
	}
	b.byKey[key] = &Page{Feed: feed, Page: p}
	b.version++
}

func (s *State) applyOncall(v OncallEvent) {
	b := &s.pages
	b.init()
	o := protocol.Oncall{}
	for _, r := range v.Oncall.Rotations {
		r.Name, r.Now, r.Next = Sanitize(r.Name), Sanitize(r.Now), Sanitize(r.Next)
		r.Handoffs = nil
		o.Rotations = append(o.Rotations, r)
	}
	for _, sl := range v.Oncall.Silences {
		sl.ID, sl.By, sl.Reason = Sanitize(sl.ID), Sanitize(sl.By), Sanitize(sl.Reason)
		sl.Hosts, sl.Services = sanitizeAll(sl.Hosts), sanitizeAll(sl.Services)
		o.Silences = append(o.Silences, sl)
	}
	b.oncall[v.Feed] = o
	b.version++
}

// forgetPages drops what a feed whose journal changed sent.
func (s *State) forgetPages(feed string) {
	b := &s.pages
	if b.byKey == nil {
		return
	}
	b.order = slices.DeleteFunc(b.order, func(k string) bool {
		if b.byKey[k].Feed == feed {
			delete(b.byKey, k)
			return true
		}
		return false
	})
	delete(b.oncall, feed)
	b.version++
}

// PagesVersion moves when a page or who is on call changes.
func (s *State) PagesVersion() uint64 { return s.pages.version }

// pageRank orders pages: triggered, then acknowledged, then resolved.
func pageRank(p *Page) int {
	switch p.Status {
	case protocol.PageTriggered:
		return 0
	case protocol.PageAcknowledged:
		return 1
	}
	return 2
}

// Pages returns every page: open ones first (triggered before
// acknowledged), newest first within each.
func (s *State) Pages() []*Page {
	out := make([]*Page, 0, len(s.pages.order))
	for i := len(s.pages.order) - 1; i >= 0; i-- {
		out = append(out, s.pages.byKey[s.pages.order[i]])
	}
	slices.SortStableFunc(out, func(a, b *Page) int { return pageRank(a) - pageRank(b) })
	return out
}

// OpenPages returns the pages not resolved, most urgent first.
func (s *State) OpenPages() []*Page {
	all := s.Pages()
	n := slices.IndexFunc(all, func(p *Page) bool { return pageRank(p) == 2 })
	if n < 0 {
		return all
	}
	return all[:n]
}

// OnCall returns every feed's rotations and silences.
func (s *State) OnCall() ([]protocol.OncallRotation, []protocol.Silence) {
	var rots []protocol.OncallRotation
	var sil []protocol.Silence
	feeds := make([]string, 0, len(s.pages.oncall))
	for f := range s.pages.oncall {
		feeds = append(feeds, f)
	}
	slices.Sort(feeds)
	for _, f := range feeds {
		rots = append(rots, s.pages.oncall[f].Rotations...)
		sil = append(sil, s.pages.oncall[f].Silences...)
	}
	return rots, sil
}

// Paging says who a page is paging now and who is next:
// "PG-12 paging alice · bob in 3m", "PG-12 acked by alice".
func (p *Page) Paging(now time.Time) string {
	switch p.Status {
	case protocol.PageAcknowledged:
		if p.AckedBy != nil {
			return p.ID + " acked by " + *p.AckedBy
		}
		return p.ID + " acknowledged"
	case protocol.PageResolved:
		return p.ID + " resolved"
	}
	var who []string
	for _, n := range p.Notified {
		if n.Level == p.Level && n.Round == p.Round && !slices.Contains(who, n.Person) {
			who = append(who, n.Person)
		}
	}
	s := p.ID + " paging"
	if len(who) > 0 {
		s += " " + strings.Join(who, ", ")
	}
	if len(p.Next) > 0 && p.NextAt != nil {
		s += " · " + strings.Join(p.Next, ", ") + " in " + shortIn(p.NextAt.Sub(now))
	}
	return s
}

// OncallLine is who is on call: "on call: alice (primary), carol (secondary)".
func OncallLine(rots []protocol.OncallRotation) string {
	if len(rots) == 0 {
		return ""
	}
	parts := make([]string, len(rots))
	for i, r := range rots {
		parts[i] = r.Now + " (" + r.Name + ")"
	}
	return "on call: " + strings.Join(parts, ", ")
}

// shortIn is a wait as the header says it: "40s", "3m", "1h05m".
func shortIn(d time.Duration) string {
	switch {
	case d <= 0:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	}
	return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}
