package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

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
func (f *liveFleet) restoreServices() {
	for key, s := range f.lastKnown {
		if _, live := f.services[key]; live {
			continue
		}
		s.At = s.Since
		restored := s
		f.services[key] = &restored
		f.svcFrames[key] = protocol.MustEncode(&restored)
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

// KnownHost is a host the configuration says reports to this hub (a
// scrape target), and how often.
type KnownHost struct {
	Host  string
	Every time.Duration
}

// noteHost remembers, at start-up, the newest journal entry about each
// host: a host the journal knows is shown after a restart even if it
// never reports again.
func (h *Hub) noteHost(m protocol.Message) {
	e, ok := m.(*protocol.Entry)
	if !ok || e.Host == "" {
		return
	}
	if h.heardOf == nil {
		h.heardOf = map[string]time.Time{}
	}
	if e.At.After(h.heardOf[e.Host]) {
		h.heardOf[e.Host] = e.At.Time
	}
}

// placeKnownHosts gives every host known from the journal, the
// configuration or the load log, and not reported since the start, a
// load in the snapshot: its last known figures (the load log's newest
// peak) at the time it was last heard of, its interval where configured,
// its level as the journal left it. A dashboard shows it stale from the
// first snapshot; its first report replaces it.
func (f *liveFleet) placeKnownHosts(heardOf map[string]time.Time, hosts []KnownHost, lastLoads map[string]LoadPeak, start time.Time) {
	every := map[string]time.Duration{}
	last := map[string]time.Time{}
	for host, at := range heardOf {
		last[host] = at
	}
	for _, k := range hosts {
		every[k.Host] = k.Every
		if _, ok := last[k.Host]; !ok {
			last[k.Host] = time.Time{}
		}
	}
	for host, p := range lastLoads {
		// Its newest sample is when it was last heard; a newer entry
		// about it may be the one saying it went silent.
		last[host] = p.heard()
	}
	for host, at := range last {
		if _, live := f.loads[host]; live || protocol.CheckID("host", host) != nil {
			continue
		}
		if at.IsZero() {
			at = start // never heard of: silent since the start
		}
		l := protocol.Load{Host: host, At: protocol.At(at), Interval: protocol.Duration(every[host])}
		if p, ok := lastLoads[host]; ok {
			l.Load1, l.CPUs = p.Load1, p.CPUs
		}
		if lvl, ok := f.levels[host]; ok {
			l.Level = lvl.String()
		}
		f.loads[host] = protocol.MustEncode(&l)
	}
}

// heard is when the peak's host was last heard: its newest sample, or
// (a line written before lines said so) the minute's end.
func (p LoadPeak) heard() time.Time {
	if !p.Last.IsZero() {
		return p.Last.Time
	}
	return p.At.Add(time.Minute - time.Millisecond)
}

// ReadLastPeaks reads the newest line of each host from the load log at
// path (its last few MiB: the log grows a line per host and minute, and
// only the newest matter). A missing log is no hosts.
func ReadLastPeaks(path string) (map[string]LoadPeak, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	const tail = 8 << 20
	from := max(0, st.Size()-tail)
	sc := bufio.NewScanner(io.NewSectionReader(f, from, st.Size()-from))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	out := map[string]LoadPeak{}
	first := from > 0
	for sc.Scan() {
		if first {
			first = false // cut mid-line
			continue
		}
		var p LoadPeak
		if json.Unmarshal(sc.Bytes(), &p) != nil || p.Host == "" {
			continue
		}
		if prev, ok := out[p.Host]; !ok || !p.heard().Before(prev.heard()) {
			out[p.Host] = p
		}
	}
	return out, sc.Err()
}
