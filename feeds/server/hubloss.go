package server

import (
	"fmt"

	"github.com/vigil-oncall/vigil/feeds/paging"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// The loss of a hub of a cluster is journaled once, by whichever hub's
// record reaches the stream first: every hub that notices it appends an
// entry whose identity is the hub, the state and the seq of the journal's
// last entry about that hub, so the others' appends, chained after it,
// find it applied. Its service is "hub" on the lost hub's name: a paging
// rule on "hub" pages for it.

// HubService is the service a hub's loss and return are journaled as.
const HubService = "hub"

// peerWatcher is a cluster journal that tells when a peer hub's route
// goes and comes back.
type peerWatcher interface {
	WatchPeers(lost, back func(server string))
}

// clusterStatuser is a cluster journal that says how the cluster stands
// (quorum, stream leader, owners) for /healthz.
type clusterStatuser interface {
	ClusterStatus() any
}

// peerState is what the journal last said of a peer hub.
type peerState struct {
	state string
	seq   uint64
}

// watchPeers journals peers lost and back, if the journal is a cluster's.
func (h *Hub) watchPeers() {
	if pw, ok := h.journal.(peerWatcher); ok {
		pw.WatchPeers(func(s string) { h.peerChanged(s, protocol.StateDown) }, func(s string) { h.peerChanged(s, protocol.StateOK) })
	}
}

// notePeerLocked remembers what a journaled entry said of a peer hub.
func (h *Hub) notePeerLocked(seq uint64, m protocol.Message) {
	e, ok := m.(*protocol.Entry)
	if !ok || e.Service != HubService || e.Host == "" || !protocol.ValidState(e.State) {
		return
	}
	if h.peers == nil {
		h.peers = map[string]peerState{}
	}
	h.peers[e.Host] = peerState{state: e.State, seq: seq}
}

// peerChanged journals a peer hub's loss (down) or return (ok), unless
// the journal says so already.
func (h *Hub) peerChanged(server, state string) {
	h.cmdMu.Lock()
	h.mu.Lock()
	last := h.peers[server]
	h.mu.Unlock()
	h.cmdMu.Unlock()
	if last.state == state || last.state == "" && state == protocol.StateOK {
		return
	}
	text := fmt.Sprintf("hub %s left the cluster (noticed by %s)", server, h.opts.Name)
	kind := protocol.EntryAlert
	if state == protocol.StateOK {
		text = fmt.Sprintf("hub %s is back in the cluster (noticed by %s)", server, h.opts.Name)
		kind = protocol.EntrySystem
	}
	h.recordOnce(protocol.Entry{Actor: h.opts.Name, Kind: kind, Text: text, Host: server, Service: HubService, State: state},
		fmt.Sprintf("hub-%s-%s-after-%d", server, state, last.seq))
	// Every hub that noticed tells the paging hub; it pages once.
	h.pageEvent(paging.Event{What: protocol.WhatHub, Host: server, Service: HubService, Text: text, Clear: state == protocol.StateOK})
}
