package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/config"
	"github.com/vigil-oncall/vigil/feeds/demo"
	"github.com/vigil-oncall/vigil/feeds/server"
	"github.com/vigil-oncall/vigil/tui/state"
)

// OptionsFrom are the dashboard's options as cfg sets them.
func OptionsFrom(cfg config.Config, demoMode bool) Options {
	kinds := cfg.Book().Kinds()
	return Options{
		Actor: cfg.Actor(os.Getenv), Bell: cfg.Dashboard.Bell, UTC: cfg.Dashboard.TimeZone == "utc",
		Support: cfg.Dashboard.Support, Demo: demoMode, Kinds: kinds, NoMouse: !cfg.Dashboard.Mouse,
		Thresholds: cfg.Thresholds.Level(), Expiries: expiryWatches(cfg),
	}
}

// expiryWatches tells the deadlines pane which services watch an expiry:
// the checks this configuration declares (a service frame does not say).
func expiryWatches(cfg config.Config) []state.ExpiryWatch {
	var out []state.ExpiryWatch
	for _, ec := range cfg.Serve.ExpiryChecks() {
		out = append(out, state.ExpiryWatch(ec))
	}
	return out
}

// Run is the dashboard on this terminal, watching feeds until ctx ends or
// the responder quits; the commands it cannot send wait in stateDir (""
// keeps none, as the demo does). The caller has checked the feeds' URLs
// (config.CheckFeedURL).
func Run(ctx context.Context, cfg config.Config, feeds []client.FeedConfig, stateDir string, demoMode bool, stderr io.Writer) error {
	return runDashboard(ctx, cfg, feeds, stateDir, demoMode, time.Time{}, stderr)
}

func runDashboard(ctx context.Context, cfg config.Config, feeds []client.FeedConfig, stateDir string, demoMode bool, rewindAt time.Time, stderr io.Writer) error {
	for i, f := range feeds {
		if f.Actor == "" {
			feeds[i].Actor = cfg.Actor(os.Getenv) // who watches, for the hub's presence
		}
	}
	dashboardProcs()
	c, err := client.New(feeds, stateDir, client.DefaultTimings())
	if err != nil {
		return err
	}
	// The screen says so too, but it is gone once vigil exits.
	defer func() {
		for _, s := range c.Salvaged() {
			fmt.Fprintln(stderr, "vigil:", s)
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.Run(ctx) }()
	defer wg.Wait()
	defer cancel()
	opts := OptionsFrom(cfg, demoMode)
	opts.RewindAt = rewindAt
	m := New(ctx, c, opts)
	_, err = tea.NewProgram(m, tea.WithContext(ctx), tea.WithFPS(FrameRate())).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// dashboardProcs runs the dashboard on one P unless GOMAXPROCS says
// otherwise. Its goroutines wake often (the renderer's frames, one socket
// read per sample) and work briefly; with a second P idle, each wake also
// handed work between threads. Measured idle on a quiet 2-core VM with
// strace and vigil bench: a third of the futex calls, and 180-210 ms of
// CPU a minute instead of 270; the same under load. A flood of 10,000
// samples a second needs a tenth of one core.
func dashboardProcs() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

// FrameRate is the renderer's frames per second: VIGIL_FPS, default
// DefaultFPS (why that number is there).
func FrameRate() int {
	if v, err := strconv.Atoi(os.Getenv("VIGIL_FPS")); err == nil && v > 0 {
		return v
	}
	return DefaultFPS
}

// RunDemo serves the demo scenario on a real loopback WebSocket and, with
// ui, runs the dashboard against it: the production path, no shortcut.
func RunDemo(ctx context.Context, listen string, ui bool, cfg config.Config, out io.Writer) error {
	sc, err := demo.New()
	if err != nil {
		return err
	}
	defer sc.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Deferred calls run last first: cancel must run before the wait, or
	// quitting the dashboard (q) waits for a scenario nobody stops.
	defer wg.Wait()
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); sc.Run(ctx) }()
	go func() { defer wg.Done(); server.Serve(ctx, sc.Hub, ln, "/feed", "", "") }()
	url := "ws://" + ln.Addr().String() + "/feed"
	if !ui {
		fmt.Fprintf(out, "demo feed at %s\nwatch it with:  vigil --feed %s\n", url, url)
		<-ctx.Done()
		return nil
	}
	return Run(ctx, cfg, []client.FeedConfig{{Name: "demo", URL: url}}, "", true, out)
}

// Feeds are the feeds the dashboard watches: urls (--feed) when given,
// else the configured ones with their tokens read by config's one rule.
func Feeds(cfg config.Config, urls []string, getenv func(string) string) ([]client.FeedConfig, error) {
	var feeds []client.FeedConfig
	for i, u := range urls {
		if err := config.CheckFeedURL(u); err != nil {
			return nil, err
		}
		feeds = append(feeds, client.FeedConfig{Name: fmt.Sprintf("feed%d", i+1), URL: u})
	}
	if len(urls) > 0 {
		return feeds, nil
	}
	tokens, err := cfg.FeedTokens(getenv)
	if err != nil {
		return nil, err
	}
	for i, f := range cfg.Feeds {
		feeds = append(feeds, client.FeedConfig{Name: f.Name, URL: f.URL, URLs: f.URLs, TokenEnv: f.TokenEnv, Token: tokens[i], CAFile: f.CAFile})
	}
	return feeds, nil
}
