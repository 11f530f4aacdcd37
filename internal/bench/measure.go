package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/demo"
	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui"
	"github.com/vigil-oncall/vigil/tui/state"
)

// Options say what to measure with.
type Options struct {
	Vigil      string        // the vigil binary
	Window     time.Duration // steady-state window for bandwidth
	IdleWindow time.Duration // window for the idle cost (scaled to a minute)
	Settle     time.Duration // how long a program runs before its window starts (3 s)
	Presses    int           // keypresses for responsiveness
	Samples    int           // load samples per memory round (1,000,000)
	Entries    int           // journal entries for the memory figure (100,000)
	Log        func(format string, args ...any)
	Env        []string // extra environment for vigil (experiments: VIGIL_FPS, GOMAXPROCS)
	Runs       int      // how many times each figure is measured (min / median / max)
	Profile    string   // a directory: each vigil run writes a CPU profile there
	Peers      []string // the monitors measured beside vigil (htop, btop, glances); nil: none
}

func (o *Options) defaults() {
	if o.Window <= 0 {
		o.Window = 20 * time.Second
	}
	if o.IdleWindow <= 0 {
		o.IdleWindow = 60 * time.Second
	}
	if o.Settle <= 0 {
		o.Settle = defaultSettle
	}
	if o.Presses <= 0 {
		o.Presses = 200
	}
	if o.Samples <= 0 {
		o.Samples = 1_000_000
	}
	if o.Entries <= 0 {
		o.Entries = 100_000
	}
	if o.Runs <= 0 {
		o.Runs = 3
	}
	if o.Log == nil {
		o.Log = func(string, ...any) {}
	}
}

func home() (string, func(), error) {
	dir, err := os.MkdirTemp("", "vigil-perf-home-")
	return dir, func() { os.RemoveAll(dir) }, err
}

// flooded starts a feed (its hub pacing loads, or with stream sending each
// sample as it comes) with hosts reporting rate samples a second and a
// dashboard on it; stop ends both.
func (o *Options) flooded(ctx context.Context, label string, w, h, hosts int, rate float64, stream bool) (t *Term, stop func(), err error) {
	newFeed := NewFeed
	if stream {
		newFeed = NewStreamFeed
	}
	f, err := newFeed()
	if err != nil {
		return nil, nil, err
	}
	fctx, cancel := context.WithCancel(ctx)
	go f.Run(fctx, hosts, rate)
	t, done, err := o.dashboard(ctx, label, w, h, f.URL)
	if err != nil {
		cancel()
		f.Close()
		return nil, nil, err
	}
	return t, func() { done(); cancel(); f.Close() }, nil
}

// dashboard runs vigil on the feeds at urls in a pty of w x h. With
// Options.Profile set it writes a CPU profile there, named by label.
func (o *Options) dashboard(ctx context.Context, label string, w, h int, urls ...string) (*Term, func(), error) {
	dir, cleanup, err := home()
	if err != nil {
		return nil, nil, err
	}
	env := o.Env
	if o.Profile != "" {
		name := fmt.Sprintf("%s-%s.pprof", label, time.Now().Format("150405.000"))
		env = append(slices.Clip(env), "VIGIL_CPUPROFILE="+filepath.Join(o.Profile, name))
	}
	argv := []string{o.Vigil}
	for _, u := range urls {
		argv = append(argv, "--feed", u)
	}
	t, err := Start(ctx, w, h, dir, env, append(argv, "--actor", "perf")...)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return t, func() { t.Stop(); cleanup() }, nil
}

// Screen is what vigil and its peers cost on one terminal size in the
// bench's scenario, measured in one run.
type Screen struct {
	W, H  int
	Vigil Usage
	Peers []PeerUsage // the peers installed, in the order of peers
	Notes []string    // peers skipped, and why
}

// PeerUsage is one peer's cost in the same run.
type PeerUsage struct {
	Name string
	Usage
}

// Peer returns the named peer's figures.
func (s Screen) Peer(name string) (Usage, bool) {
	for _, p := range s.Peers {
		if p.Name == name {
			return p.Usage, true
		}
	}
	return Usage{}, false
}

// MeasureScreen: 20 hosts reporting every second to a feed server in this
// process, an incident open, vigil in its own process in a pty of w x h;
// then each installed peer on the same terminal size for the same window.
// The figure is the dashboard's process alone: CPU time and bytes.
func MeasureScreen(ctx context.Context, o Options, w, h int) (Screen, error) {
	o.defaults()
	r := Screen{W: w, H: h}
	t, done, err := o.flooded(ctx, fmt.Sprintf("screen-%dx%d", w, h), w, h, 20, 20, false)
	if err != nil {
		return r, err
	}
	if _, err := t.WaitFor(15*time.Second, "host-0019"); err != nil {
		done()
		return r, fmt.Errorf("vigil never showed the hosts: %w", err)
	}
	time.Sleep(o.Settle)
	r.Vigil, err = usage(t, o.Window)
	done()
	if err != nil {
		return r, err
	}
	for _, p := range peers {
		if !slices.Contains(o.Peers, p.name) {
			continue
		}
		u, ok, err := measurePeer(ctx, p, w, h, o.Settle, o.Window)
		switch {
		case err != nil:
			r.Notes = append(r.Notes, p.name+": "+err.Error())
		case !ok:
			r.Notes = append(r.Notes, p.name+" not installed: skipped")
		default:
			r.Peers = append(r.Peers, PeerUsage{Name: p.name, Usage: u})
		}
	}
	return r, nil
}

// Fleet is the dashboard's cost with many hosts reporting.
type Fleet struct {
	Hosts, Feeds int
	Samples      float64       // load samples sent to the dashboard per second
	CPU          time.Duration // the dashboard's CPU per second
}

// PerSample is the dashboard's CPU per load sample sent to it.
func (f Fleet) PerSample() time.Duration {
	if f.Samples == 0 {
		return 0
	}
	return time.Duration(float64(f.CPU) / f.Samples)
}

// MeasureFleet: hosts each reporting once a second, spread evenly over
// feeds feed servers (in this process; the first has an incident open),
// and one dashboard at 80x24 on all of them.
func MeasureFleet(ctx context.Context, o Options, hosts, feeds int) (Fleet, error) {
	o.defaults()
	r := Fleet{Hosts: hosts, Feeds: feeds, Samples: float64(hosts)}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var urls []string
	per := hosts / feeds
	for i := 0; i < feeds; i++ {
		f, err := newFeed(i == 0, 0)
		if err != nil {
			return r, err
		}
		defer f.Close()
		f.Base = i * per
		urls = append(urls, f.URL)
		go f.Run(fctx, per, float64(per))
	}
	t, done, err := o.dashboard(ctx, fmt.Sprintf("fleet-%dh-%df", hosts, feeds), 80, 24, urls...)
	if err != nil {
		return r, err
	}
	defer done()
	// The renderer writes only the cells that change, so the count in the
	// title is not in the output whole: every host has reported within a
	// second of the first frame, and the settle is longer.
	if _, err := t.WaitFor(30*time.Second, "host-"); err != nil {
		return r, fmt.Errorf("vigil never showed the hosts: %w", err)
	}
	time.Sleep(o.Settle)
	u, err := usage(t, o.Window)
	r.CPU = u.CPU
	return r, err
}

// Idle is what vigil costs with its feeds quiet.
type Idle struct {
	CPUPerMinute   time.Duration
	BytesPerMinute float64
}

// MeasureIdle: hosts reported once (with an hour's interval, so they do not
// go stale), an incident open, then nothing.
func MeasureIdle(ctx context.Context, o Options) (Idle, error) {
	o.defaults()
	var r Idle
	f, err := NewFeed()
	if err != nil {
		return r, err
	}
	defer f.Close()
	f.Report(20, time.Hour, 0)
	t, done, err := o.dashboard(ctx, "idle", 80, 24, f.URL)
	if err != nil {
		return r, err
	}
	defer done()
	if _, err := t.WaitFor(15*time.Second, "host-0019"); err != nil {
		return r, err
	}
	time.Sleep(2 * time.Second)
	c0, err := t.CPU()
	if err != nil {
		return r, err
	}
	b0 := t.Bytes()
	time.Sleep(o.IdleWindow)
	c1, _ := t.CPU()
	scale := float64(time.Minute) / float64(o.IdleWindow)
	r.CPUPerMinute = time.Duration(float64(c1-c0) * scale)
	r.BytesPerMinute = float64(t.Bytes()-b0) * scale
	return r, nil
}

// Responsiveness is keypress-to-screen latency under a load flood.
type Responsiveness struct {
	Rate          float64
	Hosts         int
	P50, P99, Max time.Duration
	Presses       int
}

// MeasureResponsiveness: 10,000 load samples a second across 1,000 hosts,
// each sent to the dashboard as it comes (the flood reaches it whole);
// move the checklist cursor and time until the screen shows it.
func MeasureResponsiveness(ctx context.Context, o Options) (Responsiveness, error) {
	o.defaults()
	r := Responsiveness{Rate: 10_000, Hosts: 1000, Presses: o.Presses}
	t, done, err := o.flooded(ctx, "keys", 80, 24, r.Hosts, r.Rate, true)
	if err != nil {
		return r, err
	}
	defer done()
	if _, err := t.WaitFor(15*time.Second, "Checklist"); err != nil {
		return r, err
	}
	time.Sleep(2 * time.Second) // the flood is flowing
	t.Type("4")
	if _, err := t.WaitFor(5*time.Second, "Acknowledge"); err != nil {
		return r, err
	}
	time.Sleep(200 * time.Millisecond)
	var lat []time.Duration
	titles := []string{"First notice", "Acknowledge"}
	for i := 0; i < o.Presses; i++ {
		key := "j"
		if i%2 == 1 {
			key = "k"
		}
		d, err := t.KeyLatency(key, titles[i%2:i%2+1], 5*time.Second)
		if err != nil {
			return r, fmt.Errorf("press %d: %w", i, err)
		}
		lat = append(lat, d)
		// A fixed pause would lock the presses to the renderer's frame
		// ticker and measure one phase of it; a random one samples them all.
		time.Sleep(20*time.Millisecond + rand.N(50*time.Millisecond))
	}
	slices.Sort(lat)
	r.P50, r.P99, r.Max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	return r, nil
}

// Memory is vigil's resident memory after floods of samples.
type Memory struct {
	Entries, Samples     int
	AfterFirst, AfterTwo int64
}

// Growth is what the second flood added.
func (m Memory) Growth() int64 { return m.AfterTwo - m.AfterFirst }

// MeasureMemory: 100,000 journal entries and 1,000,000 load samples across
// 1,000 hosts, then another 1,000,000.
func MeasureMemory(ctx context.Context, o Options) (Memory, error) {
	o.defaults()
	r := Memory{Entries: o.Entries, Samples: o.Samples}
	f, err := NewStreamFeed()
	if err != nil {
		return r, err
	}
	defer f.Close()
	for i := 0; i < o.Entries; i++ {
		f.Command(protocol.Command{Op: "note", Incident: "INC-1", Text: fmt.Sprintf("note %d: what we saw and what we did about it", i)})
	}
	t, done, err := o.dashboard(ctx, "memory", 80, 24, f.URL)
	if err != nil {
		return r, err
	}
	defer done()
	if _, err := t.WaitFor(60*time.Second, "Load"); err != nil {
		return r, err
	}
	flood := func() error {
		const hosts, perSecond = 1000, 50_000
		start := time.Now()
		for sent := 0; sent < o.Samples; {
			f.Report(hosts, time.Minute, sent/hosts)
			sent += hosts
			if ahead := time.Duration(float64(sent)/perSecond*float64(time.Second)) - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
		time.Sleep(3 * time.Second)
		return nil
	}
	flood()
	if r.AfterFirst, err = t.RSS(); err != nil {
		return r, err
	}
	flood()
	r.AfterTwo, err = t.RSS()
	return r, err
}

// MeasureFirstFrame: from start to the first frame showing every host of
// the built-in demo.
func MeasureFirstFrame(ctx context.Context, o Options) (time.Duration, error) {
	o.defaults()
	dir, cleanup, err := home()
	if err != nil {
		return 0, err
	}
	defer cleanup()
	t, err := Start(ctx, 80, 24, dir, nil, o.Vigil)
	if err != nil {
		return 0, err
	}
	defer t.Stop()
	want := append(demo.Hosts(), "(you)")
	return t.WaitFor(20*time.Second, want...)
}

// Ingest is how fast the client turns a feed's stream into screen state,
// against a bare gorilla read loop on the same stream.
type Ingest struct {
	Journal, JournalRaw float64 // messages/s
	Loads, LoadsRaw     float64 // samples/s
}

// MeasureIngest: n journal entries replayed from a feed, and n load
// samples published live, each read by the real client into the real
// reducer and by a bare gorilla loop.
func MeasureIngest(ctx context.Context, n int) (Ingest, error) {
	var r Ingest
	jf, err := NewFeed()
	if err != nil {
		return r, err
	}
	defer jf.Close()
	for i := 0; i < n; i++ {
		jf.Command(protocol.Command{Op: "note", Incident: "INC-1", Text: fmt.Sprintf("note %d", i)})
	}
	entries := int(jf.Hub.Seq()) - 1 // all but the declaration's incident message
	if r.JournalRaw, err = rawRead(jf.URL, nil, func(data []byte) bool { return strings.Contains(string(data), `"type":"synced"`) }, entries); err != nil {
		return r, err
	}
	if r.Journal, err = clientRead(ctx, jf.URL, nil, func(st *state.State, _ uint64) bool { return st.Timeline.Total() >= entries }, entries); err != nil {
		return r, err
	}

	publish := func(f *Feed) func() {
		return func() {
			go func() {
				for i := 0; i < n/1000; i++ {
					f.Report(1000, time.Minute, i)
				}
			}()
		}
	}
	lf, err := NewStreamFeed()
	if err != nil {
		return r, err
	}
	defer lf.Close()
	seen := 0
	r.LoadsRaw, err = rawRead(lf.URL, publish(lf), func(data []byte) bool {
		if strings.Contains(string(data), `"type":"load"`) {
			seen++
		}
		return seen >= n
	}, n)
	if err != nil {
		return r, err
	}
	lf2, err := NewStreamFeed()
	if err != nil {
		return r, err
	}
	defer lf2.Close()
	r.Loads, err = clientRead(ctx, lf2.URL, publish(lf2), func(_ *state.State, samples uint64) bool { return samples >= uint64(n) }, n)
	return r, err
}

// rawRead subscribes with a bare gorilla loop; after synced it calls
// onSynced, and it stops when done says so.
func rawRead(url string, onSynced func(), done func([]byte) bool, count int) (float64, error) {
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.ReadMessage()
	start := time.Now()
	conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","since":0}`))
	synced := onSynced == nil
	for {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := conn.ReadMessage()
		if err != nil {
			return 0, fmt.Errorf("raw read: %w", err)
		}
		if !synced && strings.Contains(string(data), `"type":"synced"`) {
			synced, start = true, time.Now()
			onSynced()
			continue
		}
		if synced && done(data) {
			return float64(count) / time.Since(start).Seconds(), nil
		}
	}
}

// clientRead runs the real client and reducer; after synced it calls
// onSynced (and restarts the clock), and it stops when done says so.
func clientRead(ctx context.Context, url string, onSynced func(), done func(*state.State, uint64) bool, count int) (float64, error) {
	c, err := client.New([]client.FeedConfig{{Name: "f", URL: url}}, "", client.DefaultTimings())
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	finished := make(chan struct{})
	go func() { c.Run(ctx); close(finished) }()
	defer func() { cancel(); <-finished }()
	st := state.New(level.Defaults(), 0)
	start := time.Now()
	counts := map[string]uint64{}
	var base, total uint64
	synced := onSynced == nil
	for {
		select {
		case <-ctx.Done():
			return 0, errors.New("timed out ingesting")
		case <-c.Store().Notify():
		}
		b := c.Store().Drain()
		st.Apply(tui.StateBatch(b), time.Now())
		for _, l := range b.Loads {
			total += l.Samples - counts[l.Load.Host]
			counts[l.Load.Host] = l.Samples
		}
		if !synced {
			for _, e := range b.Events {
				if s, ok := e.(client.StatusEvent); ok && s.State == client.Synced {
					synced, base, start = true, total, time.Now()
					onSynced()
				}
			}
			continue
		}
		if done(st, total-base) {
			return float64(count) / time.Since(start).Seconds(), nil
		}
	}
}
