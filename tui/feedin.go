package tui

import (
	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/tui/state"
)

// StateBatch converts what the feeds client drained into the reducer's
// input. It is the one place the dashboard's state meets the transport.
func StateBatch(b client.Batch) state.Batch {
	out := state.Batch{}
	if len(b.Loads) > 0 {
		out.Loads = make([]state.HostLoad, len(b.Loads))
		// One array holds every host's history: the reducer copies what it
		// keeps, and one allocation a batch beats one a host at 10,000 hosts.
		n := 0
		for i := range b.Loads {
			n += b.Loads[i].History.Len()
		}
		hist := make([]float64, 0, n)
		for i := range b.Loads {
			l := &b.Loads[i]
			start := len(hist)
			hist = l.History.Values(hist)
			out.Loads[i] = state.HostLoad{Feed: l.Feed, Load: l.Load, Received: l.Received, History: hist[start:len(hist):len(hist)]}
		}
	}
	if len(b.Services) > 0 {
		out.Services = make([]state.ServiceState, len(b.Services))
		for i := range b.Services {
			s := &b.Services[i]
			out.Services[i] = state.ServiceState{Feed: s.Feed, Service: s.Service, Received: s.Received, Changes: s.Changes}
		}
	}
	for _, e := range b.Events {
		if se := stateEvent(e); se != nil {
			out.Events = append(out.Events, se)
		}
	}
	for _, p := range b.Presence {
		out.Events = append(out.Events, state.PresenceEvent{Feed: p.Feed, Watchers: p.Watchers})
	}
	for _, a := range b.History {
		out.History = append(out.History, state.HistoryPage{Feed: a.Feed, Journal: a.Journal, ID: a.ID, Messages: a.Messages, More: a.More, Error: a.Error})
	}
	if b.Health != nil {
		out.Health = make([]state.Health, len(b.Health))
		for i, h := range b.Health {
			out.Health[i] = state.Health{Feed: h.Feed, URL: h.URL, State: stateConn(h.State), Reason: h.Reason, RetryAt: h.RetryAt,
				Since: h.Since, Server: h.Server, Journal: h.Journal, Seq: h.Seq, Malformed: h.Malformed, Unknown: h.Unknown, Dupes: h.Dupes,
				Channels: h.Channels, Components: h.Components, Compacted: h.Compacted, Oldest: h.Oldest,
				TokenEnv: h.TokenEnv, TokenSent: h.TokenSent}
		}
	}
	return out
}

func stateConn(c client.ConnState) state.Conn {
	switch c {
	case client.Connected:
		return state.FeedConnected
	case client.Synced:
		return state.FeedSynced
	case client.Disconnected:
		return state.FeedDisconnected
	case client.Refused:
		return state.FeedRefused
	}
	return state.FeedConnecting
}

func stateEvent(e client.Event) state.Event {
	switch v := e.(type) {
	case client.JournalEvent:
		return state.JournalEvent{Feed: v.Feed, Msg: v.Msg}
	case client.ResetEvent:
		return state.ResetEvent{Feed: v.Feed, OldJournal: v.OldJournal, NewJournal: v.NewJournal}
	case client.StatusEvent:
		return state.StatusEvent{Feed: v.Feed, State: stateConn(v.State), Reason: v.Reason, RetryAt: v.RetryAt, At: v.At}
	case client.AckEvent:
		return state.AckEvent{Feed: v.Feed, ID: v.ID}
	case client.NackEvent:
		return state.NackEvent{Feed: v.Feed, ID: v.ID, Code: v.Code, Error: v.Error}
	case client.QueuedEvent:
		return state.QueuedEvent{Feed: v.Feed, Command: v.Command}
	case client.NoticeEvent:
		return state.NoticeEvent{Feed: v.Feed, Text: v.Text, Error: v.Error}
	case client.OncallEvent:
		return state.OncallEvent{Feed: v.Feed, Oncall: v.Oncall}
	}
	return nil
}
