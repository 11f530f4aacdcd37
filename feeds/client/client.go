package client

import (
	"context"
	"fmt"
	"sync"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Client subscribes to several feeds and merges them into one Store. A
// command goes to the feed named for it (the one its incident came from).
type Client struct {
	store   *Store
	timings Timings
	mu      sync.Mutex
	feeds   map[string]*feed
	order   []string
	queues  map[string]chan []byte
}

// New builds a client for feeds. stateDir holds the outboxes; empty keeps
// them in memory (tests only: a restart would lose unsent ticks).
func New(feeds []FeedConfig, stateDir string, t Timings) (*Client, error) {
	c := &Client{store: NewStore(), timings: t, feeds: map[string]*feed{}, queues: map[string]chan []byte{}}
	for _, cfg := range feeds {
		if _, dup := c.feeds[cfg.Name]; dup {
			return nil, fmt.Errorf("feed name %q used twice", cfg.Name)
		}
		d, err := newDialer(cfg, t)
		if err != nil {
			return nil, err
		}
		path := ""
		if stateDir != "" {
			path = OutboxPath(stateDir, cfg.Name, cfg.URL)
		}
		ob, err := OpenOutbox(path)
		if err != nil {
			return nil, err
		}
		c.feeds[cfg.Name] = &feed{cfg: cfg, timings: t, store: c.store, outbox: ob, dialer: d}
		c.order = append(c.order, cfg.Name)
		c.store.registerFeed(cfg.Name, redact(cfg.URL, cfg.Token))
	}
	return c, nil
}

// Store is where the feeds' state and events arrive.
func (c *Client) Store() *Store { return c.store }

// Feeds returns the feed names in configuration order.
func (c *Client) Feeds() []string { return append([]string(nil), c.order...) }

// Run connects every feed and keeps them connected until ctx ends; it
// returns once every goroutine it started has ended.
func (c *Client) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, name := range c.order {
		f := c.feeds[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.run(ctx, func(q chan []byte) {
				c.mu.Lock()
				c.queues[name] = q
				c.mu.Unlock()
			})
		}()
	}
	wg.Wait()
}

// Send writes cmd to feed's outbox (on disk first) and sends it now if the
// feed is connected; otherwise it goes on reconnect. It never blocks on the
// network. An empty cmd.ID gets a fresh one; the id is returned.
func (c *Client) Send(feedName string, cmd protocol.Command) (string, error) {
	f, ok := c.feeds[feedName]
	if !ok {
		return "", fmt.Errorf("no feed %q", feedName)
	}
	if cmd.ID == "" {
		cmd.ID = NewCommandID()
	}
	cmd.Type = protocol.TypeCommand
	if err := f.outbox.Add(cmd); err != nil {
		return "", err
	}
	c.store.push(QueuedEvent{Feed: feedName, Command: cmd})
	c.mu.Lock()
	q := c.queues[feedName]
	if q != nil {
		select {
		case q <- protocol.MustEncode(&cmd):
		default: // the writer is backed up; the outbox resends on reconnect
		}
	}
	c.mu.Unlock()
	return cmd.ID, nil
}

// Pending is the number of commands, over all feeds, with no answer yet.
func (c *Client) Pending() int {
	n := 0
	for _, f := range c.feeds {
		n += f.outbox.Len()
	}
	return n
}
