package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

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
	queues  map[string]chan []byte // per connected feed: requests other than commands

	historyIDs atomic.Uint64
}

// New builds a client for feeds. stateDir holds the outboxes; empty keeps
// them in memory (tests only: a restart would lose unsent ticks). A
// damaged outbox does not stop it: what was recovered is said once, as a
// NoticeEvent.
func New(feeds []FeedConfig, stateDir string, t Timings) (*Client, error) {
	c := &Client{store: NewStore(), timings: t, feeds: map[string]*feed{}, queues: map[string]chan []byte{}}
	for _, cfg := range feeds {
		if _, dup := c.feeds[cfg.Name]; dup {
			return nil, fmt.Errorf("feed name %q used twice", cfg.Name)
		}
		urls := cfg.Endpoints()
		if len(urls) == 0 {
			return nil, fmt.Errorf("feed %q has no URL", cfg.Name)
		}
		d, err := newDialer(cfg, t)
		if err != nil {
			return nil, err
		}
		path := ""
		if stateDir != "" {
			// A cluster's first URL names it, so its outbox stays one
			// file whichever hub is reached.
			path = OutboxPath(stateDir, cfg.Name, urls[0])
		}
		ob, err := OpenOutbox(path)
		if err != nil {
			return nil, fmt.Errorf("feed %s: %w", cfg.Name, err)
		}
		c.feeds[cfg.Name] = &feed{cfg: cfg, timings: t, store: c.store, outbox: ob, dialer: d, kick: make(chan struct{}, 1)}
		c.order = append(c.order, cfg.Name)
		c.store.registerFeed(cfg.Name, redact(urls[0], cfg.Token))
		if s := ob.Salvaged(); s != nil {
			// What matters first, as a narrow screen cuts the end.
			text := fmt.Sprintf("feed %s: outbox damaged, %d unsent command(s) recovered; the damaged file is %s (%s)", cfg.Name, s.Kept, s.MovedTo, s.Reason)
			c.store.push(NoticeEvent{Feed: cfg.Name, Text: text, Error: true})
		}
	}
	return c, nil
}

// Salvaged lists what was recovered from damaged outboxes at start, to
// say so also where the screen is gone (standard error after exit).
func (c *Client) Salvaged() []*Salvage {
	var out []*Salvage
	for _, name := range c.order {
		if s := c.feeds[name].outbox.Salvaged(); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// Store is where the feeds' state and events arrive.
func (c *Client) Store() *Store { return c.store }

// Feeds returns the feed names in configuration order.
func (c *Client) Feeds() []string { return append([]string(nil), c.order...) }

// Run connects every feed and keeps them connected until ctx ends; it
// returns once every goroutine it started has ended and every outbox
// change is on disk.
func (c *Client) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, name := range c.order {
		f := c.feeds[name]
		wg.Add(2)
		go func() { defer wg.Done(); f.outbox.Run(ctx) }()
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
	for _, name := range c.order {
		c.feeds[name].outbox.Flush() // answers that came last; a failure only means a resend
	}
}

// Send writes cmd to feed's outbox (on disk first) and sends it now if the
// feed is connected; otherwise it goes on reconnect. It never blocks on the
// network. An empty cmd.ID gets a fresh one; the id is returned. A cmd
// without At gets the time of this call, the responder's time of action,
// which it keeps across resends and restarts.
func (c *Client) Send(feedName string, cmd protocol.Command) (string, error) {
	f, ok := c.feeds[feedName]
	if !ok {
		return "", fmt.Errorf("no feed %q", feedName)
	}
	if cmd.ID == "" {
		cmd.ID = NewCommandID()
	}
	if cmd.At == nil {
		cmd.At = protocol.TimePtr(time.Now())
	}
	cmd.Type = protocol.TypeCommand
	if err := f.outbox.Add(cmd); err != nil {
		return "", err
	}
	c.store.push(QueuedEvent{Feed: feedName, Command: cmd})
	select {
	case f.kick <- struct{}{}:
	default: // the writer has a kick waiting; it reads the whole outbox
	}
	return cmd.ID, nil
}

// ErrNotConnected is History's answer while a feed has no connection.
var ErrNotConnected = errors.New("not connected")

// History asks feed's hub for up to limit journal messages with seq below
// before (0: the newest), of incident if not empty. The answer arrives in
// a Batch's History with the returned id. A request is not kept across a
// disconnect: ask again once the feed is back.
// historyIDPrefix starts the id of every history request, so a hub's nack
// of one (its journal could not be read) reaches the dashboard as a failed
// answer instead of being taken for an unknown command's.
const historyIDPrefix = "h-"

func (c *Client) History(feedName string, before uint64, limit int, incident string) (string, error) {
	if _, ok := c.feeds[feedName]; !ok {
		return "", fmt.Errorf("no feed %q", feedName)
	}
	id := historyIDPrefix + strconv.FormatUint(c.historyIDs.Add(1), 10)
	frame := protocol.MustEncode(&protocol.History{ID: id, Before: before, Limit: max(limit, 0), Incident: incident})
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queues[feedName]
	if q == nil {
		return "", fmt.Errorf("history from feed %s: %w", feedName, ErrNotConnected)
	}
	select {
	case q <- frame:
		return id, nil
	default:
		return "", fmt.Errorf("history from feed %s: too many requests waiting; try again", feedName)
	}
}

// Pending is the number of commands, over all feeds, with no answer yet.
// It reads memory only: it never waits on a disk.
func (c *Client) Pending() int {
	n := 0
	for _, f := range c.feeds {
		n += f.outbox.Len()
	}
	return n
}
