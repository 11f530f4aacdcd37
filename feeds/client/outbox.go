package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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
//
// Its lock guards only memory and is never held across a disk write, so
// Len and Pending (asked by the dashboard's Update) and Remove (called by
// the connection's reader, which also carries load floods) never wait on
// a disk. Add waits for its own fsync, off the UI loop; the file write an
// answer causes happens on the outbox's own goroutine (Run).
type Outbox struct {
	path string // empty: memory only

	mu      sync.Mutex // memory only; never held across I/O
	pending []queued
	version uint64 // moves on every change
	saved   uint64 // the version the file holds

	diskMu sync.Mutex    // one writer of the file at a time
	dirty  chan struct{} // a change waits to be written by Run
	// write replaces the file with data; tests slow it down.
	write func(path string, data []byte) error

	salvage *Salvage
}

type queued struct {
	cmd     protocol.Command
	version uint64 // the version that added it: durable once saved >= it
}

// Salvage says an outbox file was damaged when opened: it was moved aside
// and the commands that could be read from it were kept.
type Salvage struct {
	Path    string // the outbox
	MovedTo string // where the damaged file now is
	Kept    int    // commands recovered, still to be sent
	Reason  string // what was wrong
}

func (s *Salvage) String() string {
	return fmt.Sprintf("the outbox %s was damaged (%s): moved to %s; %d unsent command(s) recovered", s.Path, s.Reason, s.MovedTo, s.Kept)
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
// An empty path keeps the outbox in memory only. A damaged file does not
// stop the dashboard: it is moved aside with a timestamped name, the
// commands still readable in it are kept (and written back), and
// Salvaged says what happened.
func OpenOutbox(path string) (*Outbox, error) {
	o := &Outbox{path: path, dirty: make(chan struct{}, 1), write: replaceFile}
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
	cmds, reason := readOutbox(data)
	if reason != "" {
		cmds = salvageCommands(data)
		aside := path + ".corrupt-" + time.Now().UTC().Format("20060102T150405.000Z")
		if err := os.Rename(path, aside); err != nil {
			return nil, fmt.Errorf("outbox %s is damaged (%s) and could not be moved aside: %w", path, reason, err)
		}
		o.salvage = &Salvage{Path: path, MovedTo: aside, Kept: len(cmds), Reason: reason}
	}
	for _, cmd := range cmds {
		o.version++
		o.pending = append(o.pending, queued{cmd: cmd, version: o.version})
	}
	if o.salvage != nil {
		if err := o.flush(); err != nil {
			return nil, err
		}
	}
	o.saved = o.version
	return o, nil
}

// Salvaged reports what was recovered from a damaged file, or nil.
func (o *Outbox) Salvaged() *Salvage { return o.salvage }

// readOutbox decodes a whole outbox file; reason says why it is damaged.
func readOutbox(data []byte) (cmds []protocol.Command, reason string) {
	if err := json.Unmarshal(data, &cmds); err != nil {
		return nil, err.Error()
	}
	seen := map[string]bool{}
	for i, cmd := range cmds {
		if err := checkQueued(cmd); err != nil {
			return nil, fmt.Sprintf("command %d: %v", i+1, err)
		}
		if seen[cmd.ID] {
			return nil, fmt.Sprintf("command %d: id %s twice", i+1, cmd.ID)
		}
		seen[cmd.ID] = true
	}
	return cmds, ""
}

// checkQueued reports why cmd could not have been written by Add.
func checkQueued(cmd protocol.Command) error {
	if cmd.Type != protocol.TypeCommand {
		return fmt.Errorf("type %q is not command", cmd.Type)
	}
	if err := protocol.CheckID("id", cmd.ID); err != nil {
		return err
	}
	if cmd.Op == "" {
		return errors.New("no op")
	}
	return nil
}

// commandStart is how every command Add writes begins: Command's first
// field is its type. Inside a JSON string a quote is escaped, so this
// never occurs within a value: each occurrence starts a command.
var commandStart = []byte(`{"type":"command"`)

// salvageCommands reads every whole, valid command out of a damaged
// outbox file, in order, each id once.
func salvageCommands(data []byte) []protocol.Command {
	var out []protocol.Command
	seen := map[string]bool{}
	for off := 0; off < len(data); {
		i := bytes.Index(data[off:], commandStart)
		if i < 0 {
			break
		}
		start := off + i
		off = start + 1
		var cmd protocol.Command
		if json.NewDecoder(bytes.NewReader(data[start:])).Decode(&cmd) != nil || checkQueued(cmd) != nil || seen[cmd.ID] {
			continue
		}
		seen[cmd.ID] = true
		out = append(out, cmd)
	}
	return out
}

// Run writes the file whenever an answer changed the outbox, until ctx
// ends. Adds write their own change before they return.
func (o *Outbox) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.dirty:
			// A failure leaves answered commands in the file; they are
			// resent and the server, applying each id once, answers again.
			o.flush()
		}
	}
}

// Flush writes any change not yet on disk. Client.Run calls it last, so an
// answer that came just before the dashboard closed is not resent.
func (o *Outbox) Flush() error { return o.flush() }

// Add writes cmd to the outbox, durably when on disk, before it returns.
func (o *Outbox) Add(cmd protocol.Command) error {
	o.mu.Lock()
	for _, p := range o.pending {
		if p.cmd.ID == cmd.ID {
			o.mu.Unlock()
			return nil
		}
	}
	o.version++
	o.pending = append(o.pending, queued{cmd: cmd, version: o.version})
	o.mu.Unlock()
	if err := o.flush(); err != nil {
		o.drop(cmd.ID)
		o.markDirty()
		return err
	}
	return nil
}

// Remove drops the command with id, once answered, and reports whether it
// was pending. It never waits on the disk: Run writes the change.
func (o *Outbox) Remove(id string) bool {
	if !o.drop(id) {
		return false
	}
	o.markDirty()
	return true
}

func (o *Outbox) drop(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, p := range o.pending {
		if p.cmd.ID == id {
			o.pending = append(o.pending[:i:i], o.pending[i+1:]...)
			o.version++
			return true
		}
	}
	return false
}

func (o *Outbox) markDirty() {
	if o.path == "" {
		return
	}
	select {
	case o.dirty <- struct{}{}:
	default:
	}
}

// Pending returns the unanswered commands in the order they were added.
func (o *Outbox) Pending() []protocol.Command {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]protocol.Command, len(o.pending))
	for i, p := range o.pending {
		out[i] = p.cmd
	}
	return out
}

// Sendable returns the unanswered commands that are on disk, in order:
// only those may go on the wire.
func (o *Outbox) Sendable() []protocol.Command {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]protocol.Command, 0, len(o.pending))
	for _, p := range o.pending {
		if o.path == "" || p.version <= o.saved {
			out = append(out, p.cmd)
		}
	}
	return out
}

// Len is the number of unanswered commands.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// flush writes the newest version if the file does not hold it yet. The
// memory lock is taken only to copy the commands and to record the write.
func (o *Outbox) flush() error {
	if o.path == "" {
		return nil
	}
	o.diskMu.Lock()
	defer o.diskMu.Unlock()
	o.mu.Lock()
	v := o.version
	if v == o.saved {
		o.mu.Unlock()
		return nil
	}
	cmds := make([]protocol.Command, len(o.pending))
	for i, p := range o.pending {
		cmds[i] = p.cmd
	}
	o.mu.Unlock()
	data, err := json.Marshal(cmds)
	if err != nil {
		return err
	}
	if err := o.write(o.path, data); err != nil {
		return err
	}
	o.mu.Lock()
	if v > o.saved {
		o.saved = v
	}
	o.mu.Unlock()
	return nil
}

// replaceFile replaces the file atomically: a crash leaves the old or the
// new outbox, never half of one.
func replaceFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".outbox-*")
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
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
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
