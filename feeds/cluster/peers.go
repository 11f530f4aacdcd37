package cluster

import (
	"context"
	"slices"
	"sort"
	"time"
)

const (
	// peerWatch is how often the routes to peers are looked at.
	peerWatch = 250 * time.Millisecond
	// peerGoneAfter is how long a peer's route stays gone before its
	// loss is told: a route that is made again at once is no loss.
	peerGoneAfter = 2 * time.Second
)

// peerTracker turns successive lists of routed peers into losses and
// returns: a peer seen routed, then missing for gone, is lost; a lost peer
// routed again is back. Pure: the caller gives it the time.
type peerTracker struct {
	gone    time.Duration
	missing map[string]time.Time // seen routed once, not routed since
	lost    map[string]bool
	seen    map[string]bool
}

func newPeerTracker(gone time.Duration) *peerTracker {
	return &peerTracker{gone: gone, missing: map[string]time.Time{}, lost: map[string]bool{}, seen: map[string]bool{}}
}

// observe takes the peers routed at now and returns those newly lost and
// those back.
func (p *peerTracker) observe(now time.Time, routed []string) (lost, back []string) {
	for _, name := range routed {
		p.seen[name] = true
		delete(p.missing, name)
		if p.lost[name] {
			delete(p.lost, name)
			back = append(back, name)
		}
	}
	for name := range p.seen {
		if slices.Contains(routed, name) || p.lost[name] {
			continue
		}
		since, ok := p.missing[name]
		if !ok {
			p.missing[name] = now
			continue
		}
		if now.Sub(since) >= p.gone {
			p.lost[name] = true
			delete(p.missing, name)
			lost = append(lost, name)
		}
	}
	sort.Strings(lost)
	return lost, back
}

// WatchPeers calls lost with a peer whose route has been gone for
// peerGoneAfter, and back once it is routed again, until the journal is
// closed. Every hub watches: each journals what it saw, once per identity.
func (j *Journal) WatchPeers(lost, back func(server string)) {
	if j.opts.Routed == nil {
		return
	}
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		tr := newPeerTracker(peerGoneAfter)
		tick := time.NewTicker(peerWatch)
		defer tick.Stop()
		for {
			select {
			case <-j.ctx.Done():
				return
			case now := <-tick.C:
				l, b := tr.observe(now, j.opts.Routed())
				j.watching(tr.seen)
				for _, s := range l {
					j.log.Warn("cluster: a hub left the cluster", "server", s)
					lost(s)
				}
				for _, s := range b {
					j.log.Info("cluster: a hub is back in the cluster", "server", s)
					back(s)
				}
			}
		}
	}()
}

// Status is how the cluster stands, as this hub sees it (/healthz).
type Status struct {
	// Quorum: this hub reaches a majority, and appends.
	Quorum bool `json:"quorum"`
	// Routed are the peers this hub has routes to.
	Routed []string `json:"routed"`
	// StreamLeader is the hub whose node leads the journal's stream
	// ("" while one is elected, or not known from here).
	StreamLeader string `json:"stream_leader"`
	// Owners names the hub owning each piece of work one hub does for
	// all: the stream's appends (its leader), and the leases' bucket
	// (its leader: a lease moves only while the bucket has one).
	Owners map[string]string `json:"owners"`
	// Leases are the leases this hub owns (paging, delivery, its scrape
	// targets).
	Leases []string `json:"leases,omitempty"`
	// Watched are the peers this hub has seen routed, whose loss it would
	// notice and journal (a peer lost before it was ever routed is not).
	Watched []string `json:"watched,omitempty"`
	// Replicas is the stream's current peers and how far behind each is.
	Replicas []Replica `json:"replicas,omitempty"`
}

// Replica is one peer of the stream.
type Replica struct {
	Name    string `json:"name"`
	Current bool   `json:"current"`
	Lag     uint64 `json:"lag"`
}

// ClusterStatus asks the stream's leader how the stream stands, waiting
// at most a second (no leader answers during an election).
func (j *Journal) ClusterStatus() any {
	st := Status{Quorum: j.opts.Quorum == nil || j.opts.Quorum(), Owners: map[string]string{}}
	if j.opts.Routed != nil {
		st.Routed = j.opts.Routed()
		sort.Strings(st.Routed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if info, err := j.stream.Info(ctx); err == nil && info.Cluster != nil {
		st.StreamLeader = info.Cluster.Leader
		for _, r := range info.Cluster.Replicas {
			st.Replicas = append(st.Replicas, Replica{Name: r.Name, Current: r.Current, Lag: r.Lag})
		}
	}
	st.Owners["journal"] = st.StreamLeader
	// A lease moves only once its bucket has a leader: a hub that led the
	// bucket and dies costs an election on top of the lease.
	j.mu.Lock()
	buckets := make([]string, 0, len(j.leaseBuckets))
	for b := range j.leaseBuckets {
		buckets = append(buckets, b)
	}
	j.mu.Unlock()
	for _, b := range buckets {
		if s, err := j.js.Stream(ctx, "KV_"+b); err == nil {
			if info, err := s.Info(ctx); err == nil && info.Cluster != nil {
				st.Owners["leases"] = info.Cluster.Leader
			}
		}
	}
	j.mu.Lock()
	for name := range j.leases {
		st.Leases = append(st.Leases, name)
	}
	st.Watched = slices.Clone(j.watched)
	j.mu.Unlock()
	sort.Strings(st.Leases)
	return st
}

// watching records the peers the tracker has seen routed, for Status.
func (j *Journal) watching(seen map[string]bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(seen) == len(j.watched) {
		return
	}
	j.watched = j.watched[:0]
	for name := range seen {
		j.watched = append(j.watched, name)
	}
	sort.Strings(j.watched)
}
