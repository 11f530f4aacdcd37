package paging

import (
	"slices"
	"time"
)

// Rotation is who is on call, in turn: People[k mod n] holds the shift
// that begins at the k-th handoff. Handoff 0 is Start; the turn is
// extended backwards before it, so someone is always on call.
//
// With a Location and a Shift of whole days, handoffs keep their wall
// clock time in that zone across daylight saving changes (09:00 stays
// 09:00, the shift around the change is an hour longer or shorter);
// otherwise they are Shift apart in absolute time.
type Rotation struct {
	Name     string
	People   []string
	Start    time.Time
	Shift    time.Duration
	Location *time.Location
}

func (r Rotation) calendar() bool {
	return r.Location != nil && r.Shift >= 24*time.Hour && r.Shift%(24*time.Hour) == 0
}

// Handoff is the time of the k-th handoff.
func (r Rotation) Handoff(k int64) time.Time {
	if r.calendar() {
		s := r.Start.In(r.Location)
		days := int(int64(r.Shift/(24*time.Hour)) * k)
		return time.Date(s.Year(), s.Month(), s.Day()+days, s.Hour(), s.Minute(), s.Second(), s.Nanosecond(), r.Location)
	}
	return r.Start.Add(time.Duration(k) * r.Shift)
}

// index is the k whose shift holds t: Handoff(k) <= t < Handoff(k+1).
func (r Rotation) index(t time.Time) int64 {
	if r.Shift <= 0 {
		return 0
	}
	d := t.Sub(r.Start)
	k := int64(d / r.Shift)
	if d < 0 && d%r.Shift != 0 {
		k--
	}
	for i := 0; i < 4 && r.Handoff(k).After(t); i++ {
		k--
	}
	for i := 0; i < 4 && !r.Handoff(k+1).After(t); i++ {
		k++
	}
	return k
}

func (r Rotation) person(k int64) string {
	n := int64(len(r.People))
	if n == 0 {
		return ""
	}
	return r.People[((k%n)+n)%n]
}

// Regular is who holds the shift at t by the turn alone, and when that
// shift began and ends.
func (r Rotation) Regular(t time.Time) (person string, from, until time.Time) {
	k := r.index(t)
	return r.person(k), r.Handoff(k), r.Handoff(k + 1)
}

// Override is a person holding a rotation's shift meanwhile.
type Override struct {
	Rotation string
	Person   string
	From     time.Time
	Until    time.Time
}

// covering is the newest override of r in force at t.
func covering(r string, overrides []Override, t time.Time) (Override, bool) {
	for i := len(overrides) - 1; i >= 0; i-- {
		o := overrides[i]
		if o.Rotation == r && !t.Before(o.From) && t.Before(o.Until) {
			return o, true
		}
	}
	return Override{}, false
}

// OnCall is who is on call for r at t, overrides considered (the newest
// one wins), and until when that holds.
func (r Rotation) OnCall(t time.Time, overrides []Override) (person string, until time.Time) {
	person, _, until = r.Regular(t)
	if o, ok := covering(r.Name, overrides, t); ok {
		person = o.Person
		until = o.Until
	}
	// An override that begins before then ends this stretch sooner.
	for _, o := range overrides {
		if o.Rotation == r.Name && o.From.After(t) && o.From.Before(until) {
			until = o.From
		}
		if o.Rotation == r.Name && o.Until.After(t) && o.Until.Before(until) && !o.From.After(t) {
			until = o.Until
		}
	}
	return person, until
}

// Handoff is a change of who is on call.
type HandoffAt struct {
	Rotation string
	At       time.Time
	From, To string
}

// Handoffs lists the changes of who is on call for r in (from, to], in
// time order: regular handoffs and overrides beginning or ending, where
// the person changes.
func (r Rotation) Handoffs(from, to time.Time, overrides []Override) []HandoffAt {
	var out []HandoffAt
	if r.Shift <= 0 || len(r.People) == 0 || !to.After(from) {
		return out
	}
	var cuts []time.Time
	for k := r.index(from) + 1; ; k++ {
		h := r.Handoff(k)
		if h.After(to) || len(cuts) > 10000 {
			break
		}
		cuts = append(cuts, h)
	}
	for _, o := range overrides {
		if o.Rotation != r.Name {
			continue
		}
		for _, c := range []time.Time{o.From, o.Until} {
			if c.After(from) && !c.After(to) {
				cuts = append(cuts, c)
			}
		}
	}
	slices.SortFunc(cuts, func(a, b time.Time) int { return a.Compare(b) })
	cuts = slices.CompactFunc(cuts, func(a, b time.Time) bool { return a.Equal(b) })
	prev, _ := r.OnCall(from, overrides)
	for _, c := range cuts {
		now, _ := r.OnCall(c, overrides)
		if now != prev {
			out = append(out, HandoffAt{Rotation: r.Name, At: c, From: prev, To: now})
			prev = now
		}
	}
	return out
}
