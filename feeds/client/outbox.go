package client

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Outbox holds the commands of one feed that have no answer yet. Each is
// on disk before it is sent, so a tick made while disconnected, or just
// before the dashboard died, is sent when the feed is next reachable.
type Outbox struct {
	mu      sync.Mutex
	path    string // empty: memory only
	pending []protocol.Command
}

// OutboxPath is where the outbox of the feed at url lives under dir.
func OutboxPath(dir, feedName, url string) string {
	sum := sha256.Sum256([]byte(url))
	safe := make([]rune, 0, len(feedName))
	for _, r := range feedName {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			safe = append(safe, r)
		}
	}
	return filepath.Join(dir, fmt.Sprintf("outbox-%s-%s.json", string(safe), hex.EncodeToString(sum[:6])))
}

// OpenOutbox loads the outbox at path, or an empty one if there is none.
// An empty path keeps the outbox in memory only.
func OpenOutbox(path string) (*Outbox, error) {
	o := &Outbox{path: path}
	if path == "" {
		return o, nil
	}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return o, nil
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	if err := json.Unmarshal(data, &o.pending); err != nil {
		return nil, fmt.Errorf("outbox %s is corrupt (%v); move it aside to start afresh", path, err)
	}
	return o, nil
}

// Add writes cmd to the outbox (durably, when on disk).
func (o *Outbox) Add(cmd protocol.Command) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range o.pending {
		if p.ID == cmd.ID {
			return nil
		}
	}
	next := append(append([]protocol.Command(nil), o.pending...), cmd)
	if err := o.save(next); err != nil {
		return err
	}
	o.pending = next
	return nil
}

// Remove drops the command with id, once answered. It reports whether the
// command was pending.
func (o *Outbox) Remove(id string) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, p := range o.pending {
		if p.ID == id {
			next := append(append([]protocol.Command(nil), o.pending[:i]...), o.pending[i+1:]...)
			if err := o.save(next); err != nil {
				return true, err
			}
			o.pending = next
			return true, nil
		}
	}
	return false, nil
}

// Pending returns the unanswered commands in the order they were added.
func (o *Outbox) Pending() []protocol.Command {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]protocol.Command(nil), o.pending...)
}

// Len is the number of unanswered commands.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// save replaces the file atomically: a crash leaves the old or the new
// outbox, never half of one.
func (o *Outbox) save(cmds []protocol.Command) error {
	if o.path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.path), 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	data, err := json.Marshal(cmds)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(o.path), ".outbox-*")
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("outbox: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("outbox: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if err := os.Rename(tmp.Name(), o.path); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if dir, err := os.Open(filepath.Dir(o.path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// NewCommandID returns an id unique to this client and command: the time
// in milliseconds then 64 random bits, so ids sort by creation.
func NewCommandID() string {
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "c-" + strconv.FormatInt(time.Now().UnixMilli(), 36) + "-" + hex.EncodeToString(r[:])
}
