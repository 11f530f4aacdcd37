package probe

import (
	"context"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Evidence defaults and bounds.
const (
	DefaultEvidenceProcesses = 15
	DefaultCommandTimeout    = 5 * time.Second
	DefaultCommandMaxBytes   = 8 << 10
	// DefaultAutoEvery is the least time between two automatic captures of
	// one key: a flapping host does not flood the journal.
	DefaultAutoEvery = 5 * time.Minute
	// MaxEvidenceOutputBytes bounds all outputs of one capture together,
	// as JSON encodes them, so the journaled frame stays far below
	// protocol.MaxFrameSize whatever a command prints, and the whole
	// evidence within the 256 KiB a hub keeps of it: the agent keeps each
	// output's tail, where a hub trimming it would have to guess.
	MaxEvidenceOutputBytes = 224 << 10
	// maxReasonBytes keeps a reason the one line it is meant to be.
	maxReasonBytes = protocol.MaxTitleBytes
)

// EvidenceConfig configures a Capturer.
type EvidenceConfig struct {
	// Processes is how many user+command groups a capture keeps, busiest
	// first (default 15).
	Processes int
	Commands  []EvidenceCommand
	// Interval is how often Run samples processes, so that a capture
	// measures CPU over the last interval without waiting (default 5s).
	Interval time.Duration
	// Window is how long a capture samples by itself when there is no
	// recent sample to measure against (default 500ms).
	Window time.Duration
	// AutoEvery is the least time between automatic captures of one key
	// (default 5m).
	AutoEvery time.Duration
	ProcDir   string           // default /proc
	Passwd    string           // default /etc/passwd
	Now       func() time.Time // the rate limit's clock; default time.Now
}

func (c *EvidenceConfig) defaults() {
	if c.Processes <= 0 {
		c.Processes = DefaultEvidenceProcesses
	}
	if c.Interval <= 0 {
		c.Interval = 5 * time.Second
	}
	if c.Window <= 0 {
		c.Window = 500 * time.Millisecond
	}
	if c.AutoEvery <= 0 {
		c.AutoEvery = DefaultAutoEvery
	}
	if c.ProcDir == "" {
		c.ProcDir = "/proc"
	}
	if c.Passwd == "" {
		c.Passwd = "/etc/passwd"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	cmds := make([]EvidenceCommand, len(c.Commands))
	for i, cmd := range c.Commands {
		if cmd.Timeout <= 0 {
			cmd.Timeout = DefaultCommandTimeout
		}
		if cmd.MaxBytes <= 0 {
			cmd.MaxBytes = DefaultCommandMaxBytes
		}
		cmd.MaxBytes = min(cmd.MaxBytes, protocol.MaxTextBytes)
		cmds[i] = cmd
	}
	c.Commands = cmds
}

// Capturer captures evidence on this host: the busiest processes over the
// last interval, from /proc, and the outputs of the configured commands.
// It is safe for concurrent use; a capture runs in the caller's goroutine
// (and the commands in their own), so an agent calls it off its probe loop.
type Capturer struct {
	cfg EvidenceConfig

	mu      sync.Mutex // guards what follows; held while /proc is read
	reader  *procReader
	users   users
	samples [2]procSample // newest first; a zero one has no procs

	limit rateLimit
}

// NewCapturer returns a Capturer for cfg, with defaults filled in.
func NewCapturer(cfg EvidenceConfig) *Capturer {
	cfg.defaults()
	return &Capturer{
		cfg:    cfg,
		reader: newProcReader(cfg.ProcDir),
		users:  users{path: cfg.Passwd},
		limit:  rateLimit{every: cfg.AutoEvery, last: map[string]time.Time{}},
	}
}

// Close releases the /proc files the Capturer holds open between samples.
// A later capture opens them again.
func (c *Capturer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reader.close()
	c.samples = [2]procSample{}
	return nil
}

// Run samples processes every Interval until ctx ends, so a capture can
// measure CPU over the last interval at once.
func (c *Capturer) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval)
	defer t.Stop()
	for {
		c.mu.Lock()
		c.sampleLocked()
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sampleLocked reads /proc and keeps the sample as the newest.
func (c *Capturer) sampleLocked() (procSample, bool) {
	s, err := c.reader.sample()
	if err != nil {
		return procSample{}, false
	}
	c.samples[1], c.samples[0] = c.samples[0], s
	return s, true
}

// Capture takes evidence now, for reason. It returns within the longest
// command timeout (or the sampling window, if longer), or when ctx ends.
func (c *Capturer) Capture(ctx context.Context, reason string) protocol.EvidenceData {
	outputs := make([]protocol.Output, len(c.cfg.Commands))
	var wg sync.WaitGroup
	for i, cmd := range c.cfg.Commands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outputs[i] = runEvidenceCommand(ctx, cmd)
		}()
	}
	processes := c.processes(ctx)
	wg.Wait()
	boundOutputs(outputs, MaxEvidenceOutputBytes)
	return protocol.EvidenceData{
		Reason:    keepHead(reason, maxReasonBytes),
		Processes: processes,
		Outputs:   outputs,
	}
}

// Auto captures for reason unless key was captured automatically within
// AutoEvery; it reports whether it did.
func (c *Capturer) Auto(ctx context.Context, key, reason string) (protocol.EvidenceData, bool) {
	if !c.limit.allow(key, c.cfg.Now()) {
		return protocol.EvidenceData{}, false
	}
	return c.Capture(ctx, reason), true
}

// processes returns the busiest groups since the newest sample that is at
// least a window old (sampling for one window when there is none).
func (c *Capturer) processes(ctx context.Context) []protocol.Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.users.refresh()
	base, ok := c.baselineLocked(time.Now())
	if !ok {
		if base, ok = c.sampleLocked(); !ok {
			return []protocol.Process{}
		}
		select {
		case <-ctx.Done():
			return []protocol.Process{}
		case <-time.After(c.cfg.Window):
		}
	}
	now, ok := c.sampleLocked()
	if !ok {
		return []protocol.Process{}
	}
	return topGroups(base, now, c.users.name, clockTicks(), c.cfg.Processes)
}

// baselineLocked is the newest kept sample old enough to measure against
// (at least half a window) and young enough to say "the last interval"
// (at most two intervals).
func (c *Capturer) baselineLocked(now time.Time) (procSample, bool) {
	for _, s := range c.samples {
		age := now.Sub(s.at)
		if s.procs != nil && age >= c.cfg.Window/2 && age <= 2*c.cfg.Interval {
			return s, true
		}
	}
	return procSample{}, false
}

type groupKey struct {
	uid     uint32
	command string
}

type group struct {
	protocol.Process
	busiest uint64 // ticks of the pid named
}

// topGroups groups the processes of now by user and command with their
// CPU since base, busiest first, at most n.
func topGroups(base, now procSample, userName func(uint32) string, ticksPerSec float64, n int) []protocol.Process {
	elapsed := now.at.Sub(base.at).Seconds()
	if elapsed <= 0 {
		elapsed = 1
	}
	// No process uses more than every CPU for the whole interval: the
	// bound for one that base missed (it could not be read then), whose
	// lifetime's time would otherwise count as the interval's.
	most := uint64(elapsed * ticksPerSec * float64(runtime.NumCPU()))
	groups := map[groupKey]*group{}
	for pid, p := range now.procs {
		// A pid new since base started after it: all its time is in the
		// interval.
		used := min(p.ticks, most)
		if old, ok := base.procs[pid]; ok && old.start == p.start && old.ticks <= p.ticks {
			used = p.ticks - old.ticks
		} else if ok && old.start == p.start {
			used = 0
		}
		k := groupKey{p.uid, p.command}
		g := groups[k]
		if g == nil {
			g = &group{Process: protocol.Process{PID: pid, Command: p.command}}
			g.busiest = used
			groups[k] = g
		} else if used > g.busiest || (used == g.busiest && pid < g.PID) {
			g.PID, g.busiest = pid, used
		}
		g.Count++
		g.CPUPct += float64(used) / ticksPerSec / elapsed * 100
		g.RSSKB += p.rssKB
	}
	list := make([]*group, 0, len(groups))
	for k, g := range groups {
		g.User = userName(k.uid)
		g.CPUPct = float64(int64(g.CPUPct*10+0.5)) / 10
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if a.CPUPct != b.CPUPct {
			return a.CPUPct > b.CPUPct
		}
		if a.RSSKB != b.RSSKB {
			return a.RSSKB > b.RSSKB
		}
		if a.User != b.User {
			return a.User < b.User
		}
		return a.Command < b.Command
	})
	out := make([]protocol.Process, 0, min(n, len(list)))
	for _, g := range list[:min(n, len(list))] {
		out = append(out, g.Process)
	}
	return out
}

// rateLimit allows a key at most once per every.
type rateLimit struct {
	mu    sync.Mutex
	every time.Duration
	last  map[string]time.Time
}

// allow reports whether key may go at now, and if so counts it as gone.
func (r *rateLimit) allow(key string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if last, ok := r.last[key]; ok && now.Sub(last) < r.every && !now.Before(last) {
		return false
	}
	if len(r.last) >= 1024 { // keys of hosts long quiet need no memory
		for k, t := range r.last {
			if now.Sub(t) >= r.every {
				delete(r.last, k)
			}
		}
	}
	r.last[key] = now
	return true
}

// boundOutputs trims the outputs, keeping each one's tail, until all of
// them together encode to at most limit bytes of JSON.
func boundOutputs(outputs []protocol.Output, limit int) {
	used := 0
	for i := range outputs {
		o := &outputs[i]
		used += jsonLen(o.Name) + jsonLen(o.Error)
		room := max(limit-used, 0)
		if n := jsonLen(o.Text); n > room {
			o.Text, o.Truncated = jsonTail(o.Text, room), true
		}
		used += jsonLen(o.Text)
	}
}

// jsonLen is how many bytes encoding/json writes for s, quotes left out.
func jsonLen(s string) int {
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			n += len(`\ufffd`) // an invalid byte
		} else {
			n += jsonRuneLen(r)
		}
		i += size
	}
	return n
}

func jsonRuneLen(r rune) int {
	switch {
	case r == '"' || r == '\\' || r == '\n' || r == '\r' || r == '\t':
		return 2
	case r < 0x20 || r == '<' || r == '>' || r == '&' || r == '\u2028' || r == '\u2029':
		return 6
	default:
		return len(string(r))
	}
}

// jsonTail is the longest tail of s that encodes to at most n bytes.
func jsonTail(s string, n int) string {
	i := len(s)
	for i > 0 {
		j := i - 1
		for j > 0 && s[j]&0xC0 == 0x80 {
			j--
		}
		if n -= jsonLen(s[j:i]); n < 0 {
			break
		}
		i = j
	}
	return s[i:]
}

// keepHead returns the first at most n bytes of s as valid UTF-8, ending
// on a rune.
func keepHead(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
