package client

import (
	"fmt"
	"strconv"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// LoadHistory asks feed's hub for host's load samples from from to to.
// The answer arrives in a Batch's History (Kind "load") with the returned
// id; where it says More, ask again from after its last sample.
func (c *Client) LoadHistory(feedName, host string, from, to time.Time) (string, error) {
	id := historyIDPrefix + strconv.FormatUint(c.historyIDs.Add(1), 10)
	return id, c.request(feedName, protocol.MustEncode(&protocol.History{ID: id, Kind: protocol.HistoryLoad, Host: host,
		From: protocol.TimePtr(from), To: protocol.TimePtr(to)}))
}

// Rewind asks feed's hub for the board as it stood at at. The answer
// arrives in a Batch's History (Kind "rewind") with the returned id.
func (c *Client) Rewind(feedName string, at time.Time) (string, error) {
	id := historyIDPrefix + strconv.FormatUint(c.historyIDs.Add(1), 10)
	return id, c.request(feedName, protocol.MustEncode(&protocol.Rewind{ID: id, At: protocol.At(at)}))
}

// request queues a request frame on feed's connection.
func (c *Client) request(feedName string, frame []byte) error {
	if _, ok := c.feeds[feedName]; !ok {
		return fmt.Errorf("no feed %q", feedName)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queues[feedName]
	if q == nil {
		return fmt.Errorf("request to feed %s: %w", feedName, ErrNotConnected)
	}
	select {
	case q <- frame:
		return nil
	default:
		return fmt.Errorf("request to feed %s: too many requests waiting; try again", feedName)
	}
}
