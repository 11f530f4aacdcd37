// Package clienttest helps test what a dashboard sees through the feeds
// client: a Collector drains a Store as the dashboard would and keeps
// everything it was given.
package clienttest

import (
	"context"
	"sync"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Collector drains a store in the background until its context ends.
type Collector struct {
	mu       sync.Mutex
	events   []client.Event
	loads    int
	health   map[string]client.Health
	presence map[string][]protocol.Watcher
	history  []client.HistoryAnswer
	done     chan struct{}
}

// Collect starts draining store; Done is closed once ctx has ended and the
// collector stopped.
func Collect(ctx context.Context, store *client.Store) *Collector {
	c := &Collector{health: map[string]client.Health{}, presence: map[string][]protocol.Watcher{}, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-store.Notify():
			}
			b := store.Drain()
			c.mu.Lock()
			c.events = append(c.events, b.Events...)
			c.loads += len(b.Loads)
			for _, h := range b.Health {
				c.health[h.Feed] = h
			}
			for _, p := range b.Presence {
				c.presence[p.Feed] = p.Watchers
			}
			c.history = append(c.history, b.History...)
			c.mu.Unlock()
		}
	}()
	return c
}

// Done is closed when the collector has stopped.
func (c *Collector) Done() <-chan struct{} { return c.done }

// Events returns every ordered event so far.
func (c *Collector) Events() []client.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]client.Event(nil), c.events...)
}

// Journal returns the journal messages so far, in order.
func (c *Collector) Journal() []protocol.Message {
	var out []protocol.Message
	for _, e := range c.Events() {
		if je, ok := e.(client.JournalEvent); ok {
			out = append(out, je.Msg)
		}
	}
	return out
}

// EntryTexts returns the text of every entry so far, in order.
func (c *Collector) EntryTexts() []string {
	var out []string
	for _, m := range c.Journal() {
		if e, ok := m.(*protocol.Entry); ok {
			out = append(out, e.Text)
		}
	}
	return out
}

// Answer returns the ack or nack of command id, or nil.
func (c *Collector) Answer(id string) client.Event {
	for _, e := range c.Events() {
		switch v := e.(type) {
		case client.AckEvent:
			if v.ID == id {
				return v
			}
		case client.NackEvent:
			if v.ID == id {
				return v
			}
		}
	}
	return nil
}

// Loads is how many host loads were drained.
func (c *Collector) Loads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.loads
}

// Health returns the latest health of feed.
func (c *Collector) Health(feed string) client.Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.health[feed]
}

// Presence returns who the feed's hub last said watches.
func (c *Collector) Presence(feed string) []protocol.Watcher {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]protocol.Watcher(nil), c.presence[feed]...)
}

// History returns every history answer so far, in order.
func (c *Collector) History() []client.HistoryAnswer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]client.HistoryAnswer(nil), c.history...)
}
