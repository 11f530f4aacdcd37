package state

import (
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// HubLoad is a host's load history as its hub kept it: what the host
// detail draws, the last 48 hours whatever the dashboard saw since it
// started.
type HubLoad struct {
	Host     string
	From, To time.Time // the range asked for
	Load1    []float64 // oldest first
	Last     time.Time // the newest sample's time
	Peak     float64
	PeakAt   time.Time
	CPUs     int
	Complete bool // every page of the range arrived
	Error    string
}

// hubLoadsKept bounds the hosts whose hub history is held: the ones
// whose detail was opened last.
const hubLoadsKept = 8

// HubLoad returns host's hub history, or nil when none was asked for.
func (s *State) HubLoad(host string) *HubLoad {
	for _, h := range s.hubLoads {
		if h.Host == host {
			return h
		}
	}
	return nil
}

// StartHubLoad begins host's hub history for the range, dropping what was
// held of it, and the oldest host's where too many are held.
func (s *State) StartHubLoad(host string, from, to time.Time) {
	kept := s.hubLoads[:0]
	for _, h := range s.hubLoads {
		if h.Host != host {
			kept = append(kept, h)
		}
	}
	if len(kept) >= hubLoadsKept {
		kept = kept[1:]
	}
	s.hubLoads = append(kept, &HubLoad{Host: host, From: from, To: to})
	s.HostsVersion++
}

// AddHubLoad merges a page of host's hub history; done says it was the
// last page. It returns where the next page starts, where there is one.
func (s *State) AddHubLoad(host string, samples []protocol.LoadSample, more bool, errText string) (next time.Time, ask bool) {
	h := s.HubLoad(host)
	if h == nil {
		return time.Time{}, false
	}
	s.HostsVersion++
	if errText != "" {
		h.Error, h.Complete = Sanitize(errText), true
		return time.Time{}, false
	}
	for _, x := range samples {
		if !x.At.After(h.Last) && !h.Last.IsZero() {
			continue // a page overlapping the last
		}
		h.Load1 = append(h.Load1, x.Load1)
		h.Last = x.At.Time
		if x.CPUs > 0 {
			h.CPUs = x.CPUs
		}
		if x.Load1 >= h.Peak {
			h.Peak, h.PeakAt = x.Load1, x.At.Time
		}
	}
	if !more || len(samples) == 0 {
		h.Complete = true
		return time.Time{}, false
	}
	return h.Last.Add(time.Millisecond), true
}
