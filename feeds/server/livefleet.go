package server

import (
	"fmt"
	"sort"
	"time"

	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// liveFleet is the one owner of the hub's live view of its hosts: each
// host's newest load and level, each service's state, when each host was
// last heard, and the minute's load peaks. It turns what is reported into
// what happened (a frame to show, a level crossed, a service changed, a
// host back or gone silent); the hub fans the frames out, journals the
// changes and pages for them, and nothing flows back. It does no I/O and
// takes the time from its caller; the hub's mu guards it.
type liveFleet struct {
	thresholds level.Thresholds
	pace       time.Duration // the subscribers' load pace (Options.LoadPace)
	logPeaks   bool          // keep the minute's peaks for the load log

	loads     map[string][]byte // host -> its newest load frame
	levels    map[string]level.Level
	services  map[string]*protocol.Service // serviceKey -> state
	svcFrames map[string][]byte
	lastKnown map[string]protocol.Service // before the restart, until first reported
	peaks     map[string]*LoadPeak
	life      liveness
}

func newLiveFleet(t level.Thresholds, pace time.Duration, logPeaks bool) liveFleet {
	return liveFleet{
		thresholds: t, pace: pace, logPeaks: logPeaks,
		loads: map[string][]byte{}, levels: map[string]level.Level{},
		services: map[string]*protocol.Service{}, svcFrames: map[string][]byte{},
		peaks: map[string]*LoadPeak{}, life: liveness{hosts: map[string]*hostLife{}},
	}
}

// loadEvent is what one load sample did.
type loadEvent struct {
	load  protocol.Load // as shown: classified, its interval paced
	frame []byte
	// crossed: the host's level changed (or a new host is not ok).
	crossed  bool
	from, to level.Level
	// back: the host had been journaled silent, for silent.
	back   bool
	silent time.Duration
	// peak: a minute's peak ended, for the load log.
	peak *LoadPeak
}

// load takes a host's sample; expected says the host keeps reporting (an
// agent's, a scraped one's), so its silence is watched.
func (f *liveFleet) load(l protocol.Load, now time.Time, expected bool) loadEvent {
	every := l.Interval.Std()
	if f.pace > 0 && l.Interval > 0 && every < f.pace {
		// Subscribers hear of the host once a pace, and call it stale
		// after 3 intervals: for them the pace is its interval.
		l.Interval = protocol.Duration(f.pace)
	}
	prev, known := f.levels[l.Host]
	lvl := f.thresholds.From(prev, l.Load1, l.CPUs)
	f.levels[l.Host] = lvl
	l.Level = lvl.String()
	ev := loadEvent{load: l, frame: protocol.EncodeLoad(&l), from: prev, to: lvl}
	f.loads[l.Host] = ev.frame
	ev.crossed = (known && prev != lvl) || (!known && lvl != level.OK)
	if f.logPeaks {
		ev.peak = f.notePeak(l)
	}
	if expected {
		ev.back, ev.silent = f.life.seen(l.Host, every, now)
	}
	return ev
}

// notePeak keeps the sample in its host's minute, returning the previous
// minute's peak once a sample of a later minute comes.
func (f *liveFleet) notePeak(l protocol.Load) (ended *LoadPeak) {
	minute := l.At.Truncate(time.Minute)
	p := f.peaks[l.Host]
	if p != nil && !p.At.Equal(minute) {
		ended, p = p, nil
	}
	if p == nil {
		p = &LoadPeak{Host: l.Host, At: protocol.At(minute), CPUs: l.CPUs}
		f.peaks[l.Host] = p
	}
	if l.Load1 >= p.Load1 {
		p.Load1, p.CPUs = l.Load1, l.CPUs
	}
	if l.At.After(p.Last.Time) {
		p.Last = l.At
	}
	return ended
}

// takePeaks returns every minute's peak not yet ended, in host order, and
// forgets them: the hub writes them on close.
func (f *liveFleet) takePeaks() []*LoadPeak {
	out := make([]*LoadPeak, 0, len(f.peaks))
	for _, p := range f.peaks {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	f.peaks = map[string]*LoadPeak{}
	return out
}

// serviceEvent is what one service report did.
type serviceEvent struct {
	service protocol.Service // as shown, its since kept while its state is
	frame   []byte
	changed bool   // a transition to journal
	from    string // the state it left ("new" for a service not seen)
}

// service takes a service's state.
func (f *liveFleet) service(s protocol.Service) serviceEvent {
	key := serviceKey(s.Host, s.Service)
	s.Detail = trimText(s.Detail, protocol.MaxTextBytes)
	prev := f.services[key]
	if prev == nil {
		prev = f.takeLastKnown(key)
	}
	if prev != nil && prev.State == s.State {
		s.Since = prev.Since
	}
	ev := serviceEvent{service: s, frame: protocol.MustEncode(&s), from: "new"}
	f.services[key] = &ev.service
	f.svcFrames[key] = ev.frame
	if prev != nil {
		ev.from = prev.State
	}
	ev.changed = !(prev == nil && s.State == protocol.StateOK) && !(prev != nil && prev.State == s.State)
	return ev
}

// takeLastKnown returns, once, the state a service was left in before the
// restart: the first report after it is compared with that.
func (f *liveFleet) takeLastKnown(key string) *protocol.Service {
	s, ok := f.lastKnown[key]
	if !ok {
		return nil
	}
	delete(f.lastKnown, key)
	return &s
}

// remoteLoad takes a load another hub of the cluster classified; back
// says the host had been journaled silent here (it moved).
func (f *liveFleet) remoteLoad(l *protocol.Load, frame []byte, now time.Time) (back bool) {
	f.loads[l.Host] = frame
	return f.life.heardElsewhere(l.Host, now)
}

// remoteService takes a service's state from another hub of the cluster.
func (f *liveFleet) remoteService(s *protocol.Service, frame []byte) {
	key := serviceKey(s.Host, s.Service)
	f.services[key] = s
	f.svcFrames[key] = frame
}

// snapshot appends every host's load, then every service's state, in key
// order: what a new subscriber is shown first.
func (f *liveFleet) snapshot(dst [][]byte) [][]byte {
	return appendSorted(appendSorted(dst, f.loads), f.svcFrames)
}

// staleAfter is how many intervals a host may be silent.
const staleAfter = 3

// hostLife is when a reported host was last heard and how often it should be.
type hostLife struct {
	every  time.Duration
	last   time.Time
	heard  bool // reported at least once
	stale  bool
	reason string
}

// liveness tracks reported hosts.
type liveness struct {
	hosts map[string]*hostLife
}

func (l *liveness) get(host string, every time.Duration, now time.Time) *hostLife {
	hl := l.hosts[host]
	if hl == nil {
		hl = &hostLife{last: now}
		l.hosts[host] = hl
	}
	if every > 0 {
		hl.every = every
	}
	return hl
}

// seen records a report; back says the host had been journaled stale, and
// silent for how long.
func (l *liveness) seen(host string, every time.Duration, now time.Time) (back bool, silent time.Duration) {
	hl := l.get(host, every, now)
	back, silent = hl.stale, now.Sub(hl.last)
	hl.last, hl.heard, hl.stale, hl.reason = now, true, false, ""
	return back, silent
}

// failed records why host could not be read (a scrape failed); the reason
// goes with its stopped-reporting entry if it goes stale.
func (l *liveness) failed(host, reason string, every time.Duration, now time.Time) {
	l.get(host, every, now).reason = reason
}

// staleHost is a host that has just gone silent.
type staleHost struct {
	host   string
	silent time.Duration
	heard  bool
	reason string
}

// sweep returns the hosts that have been silent for staleAfter intervals
// since the last sweep, in name order, and marks them stale.
func (l *liveness) sweep(now time.Time) []staleHost {
	var out []staleHost
	for host, hl := range l.hosts {
		if hl.stale || hl.every <= 0 {
			continue
		}
		if silent := now.Sub(hl.last); silent >= staleAfter*hl.every {
			hl.stale = true
			out = append(out, staleHost{host: host, silent: silent, heard: hl.heard, reason: hl.reason})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].host < out[j].host })
	return out
}

// heardElsewhere records that host reported to another hub of the
// cluster: it is not silent; back says it had been journaled stale here.
func (l *liveness) heardElsewhere(host string, now time.Time) (back bool) {
	hl := l.hosts[host]
	if hl == nil {
		return false
	}
	back = hl.stale
	hl.last, hl.stale, hl.reason = now, false, ""
	return back
}

func (s staleHost) text() string {
	verb := "stopped reporting"
	if !s.heard {
		verb = "is not reporting"
	}
	text := fmt.Sprintf("%s %s (silent %s)", s.host, verb, protocol.FormatDuration(s.silent.Round(time.Second)))
	if s.reason != "" {
		text += ": " + s.reason
	}
	return text
}
