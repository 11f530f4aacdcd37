// Command vigil is a terminal dashboard for on-call engineers and the feed
// server it watches. This file only wires: flags, configuration, signals,
// and which package runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/BurntSushi/toml"

	"github.com/vigil-oncall/vigil/feeds/agent"
	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/cluster"
	"github.com/vigil-oncall/vigil/feeds/config"
	"github.com/vigil-oncall/vigil/feeds/demo"
	"github.com/vigil-oncall/vigil/feeds/export"
	"github.com/vigil-oncall/vigil/feeds/ingest"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/probe"
	"github.com/vigil-oncall/vigil/feeds/server"
	"github.com/vigil-oncall/vigil/internal/bench"
	"github.com/vigil-oncall/vigil/tui"
	tuissh "github.com/vigil-oncall/vigil/tui/ssh"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a mistake in how vigil was called or configured.
type usageError struct{ error }

func main() {
	// The first SIGTERM or interrupt cancels ctx: every part ends and the
	// terminal is restored (bubbletea v2.1.1's own handler selects on the
	// same context, so it cannot block the shutdown). Once it has, the
	// default action comes back, so a second signal ends vigil at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	endProfile := cpuProfile(os.Getenv("VIGIL_CPUPROFILE"), os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	endProfile()
	stop()
	os.Exit(code)
}

// cpuProfile writes a CPU profile of the whole run to path (VIGIL_CPUPROFILE),
// so the dashboard can be profiled as a person runs it, in its own process;
// vigil bench --cpuprofile sets it. It does nothing when path is empty.
func cpuProfile(path string, stderr io.Writer) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(stderr, "vigil: VIGIL_CPUPROFILE:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintln(stderr, "vigil: VIGIL_CPUPROFILE:", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	var err error
	switch {
	case sub == "" && hasFlag(args, "-version", "--version"):
		sub = "version"
	case sub == "" && hasFlag(args, "-h", "-help", "--help", "--h"):
		sub = "help"
	}
	switch sub {
	case "":
		err = cmdDashboard(ctx, args, stderr)
	case "serve":
		err = cmdServe(ctx, args, stderr)
	case "demo":
		err = cmdDemo(ctx, args, stdout, stderr)
	case "export":
		err = cmdExport(ctx, args, stdout, stderr)
	case "check-config":
		err = cmdCheckConfig(args, stdout, stderr)
	case "bench":
		err = cmdBench(ctx, args, stdout, stderr)
	case "version":
		info, ok := debug.ReadBuildInfo()
		fmt.Fprintln(stdout, versionLine(info, ok))
	case "help":
		fs, _ := dashboardFlags(stdout)
		fs.Usage()
	default:
		err = usageError{fmt.Errorf("unknown command %q\n\n%s", sub, topUsage)}
	}
	var ue usageError
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "vigil:", err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "vigil:", err)
		return exitFailure
	}
}

const topUsage = `vigil: a terminal dashboard for on-call engineers

  vigil [--config FILE] [--feed URL]... [--actor NAME]   the dashboard (no config, no --feed: the demo)
  vigil serve [--config FILE] [--listen ADDR]            a feed server (default 127.0.0.1:7070, path /feed)
  vigil demo  [--listen ADDR] [--no-ui]                  the demo scenario feed (+ dashboard unless --no-ui)
  vigil export (--feed URL | --journal FILE) --incident ID [--format md|json] [-o FILE]
  vigil check-config [FILE]                              validate, print what would be used
  vigil bench [--only LIST] [--window D]                 measure this binary in a pty (see README)
  vigil version                                          also: vigil --version

Run any command with --help for its flags.
`

// versionLine is what vigil version prints: the module version, the VCS
// revision the binary was built from (and whether the tree had changes),
// and the Go that built it, all from the build information.
func versionLine(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "vigil (no build information)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	line := "vigil " + v
	if rev == "" {
		line += " revision unknown (built without VCS information)"
	} else {
		line += " revision " + rev
		if modified {
			line += " (modified)"
		}
		if when != "" {
			line += " " + when
		}
	}
	return line + " " + info.GoVersion
}

// hasFlag reports whether args hold one of names as a flag; after "--"
// everything is an argument.
func hasFlag(args []string, names ...string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		for _, n := range names {
			if a == n {
				return true
			}
		}
	}
	return false
}

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// loadConfig resolves and reads the configuration; errors are usage
// errors, since they name what to fix.
func loadConfig(flagPath string) (config.Config, bool, error) {
	path, explicit := config.Locate(flagPath, os.Getenv)
	cfg, found, err := config.Load(path, explicit)
	if err != nil {
		return cfg, found, usageError{err}
	}
	return cfg, found, nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// dashboardArgs are the dashboard's flags.
type dashboardArgs struct {
	config, actor string
	feeds         multiFlag
}

// dashboardFlags declares the dashboard's flags; its usage is the overview
// of every command followed by those flags, since the dashboard is what a
// bare vigil runs.
func dashboardFlags(out io.Writer) (*flag.FlagSet, *dashboardArgs) {
	a := &dashboardArgs{}
	fs := flag.NewFlagSet("vigil", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&a.config, "config", "", "configuration file")
	fs.Var(&a.feeds, "feed", "feed URL (ws:// or wss://); repeat for several; replaces the configured feeds")
	fs.StringVar(&a.actor, "actor", "", "who ticks and notes (default: config, then $USER)")
	fs.Usage = func() {
		fmt.Fprint(out, topUsage)
		fmt.Fprintln(out, "\ndashboard flags (vigil [flags]):")
		fs.PrintDefaults()
	}
	return fs, a
}

func cmdDashboard(ctx context.Context, args []string, stderr io.Writer) error {
	fs, a := dashboardFlags(stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, found, err := loadConfig(a.config)
	if err != nil {
		return err
	}
	if a.actor != "" {
		cfg.Dashboard.Actor = a.actor
	}
	var feeds []client.FeedConfig
	for i, u := range a.feeds {
		feeds = append(feeds, client.FeedConfig{Name: fmt.Sprintf("feed%d", i+1), URL: u})
	}
	if len(a.feeds) == 0 {
		for _, f := range cfg.Feeds {
			feeds = append(feeds, client.FeedConfig{Name: f.Name, URL: f.URL, URLs: f.URLs, TokenEnv: f.TokenEnv, Token: os.Getenv(f.TokenEnv), CAFile: f.CAFile})
		}
	}
	if len(feeds) == 0 {
		if found {
			fmt.Fprintf(stderr, "vigil: %s has no [[feeds]]: running the demo\n", cfg.Path)
		}
		return runDemo(ctx, "127.0.0.1:0", true, cfg, stderr)
	}
	return runDashboard(ctx, cfg, feeds, cfg.StateDir(os.Getenv), false, stderr)
}

func dashboardOptions(cfg config.Config, demoMode bool) tui.Options {
	kinds := cfg.Book().Kinds()
	return tui.Options{
		Actor: cfg.Actor(os.Getenv), Bell: cfg.Dashboard.Bell, UTC: cfg.Dashboard.TimeZone == "utc",
		Support: cfg.Dashboard.Support, Demo: demoMode, Kinds: kinds, NoMouse: !cfg.Dashboard.Mouse,
		Thresholds: cfg.Thresholds.Level(),
	}
}

func runDashboard(ctx context.Context, cfg config.Config, feeds []client.FeedConfig, stateDir string, demoMode bool, stderr io.Writer) error {
	for i, f := range feeds {
		for _, u := range f.Endpoints() {
			if !(strings.HasPrefix(u, "ws://") || strings.HasPrefix(u, "wss://")) {
				return usageError{fmt.Errorf("feed %q: expected a ws:// or wss:// URL", u)}
			}
		}
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
	m := tui.New(ctx, c, dashboardOptions(cfg, demoMode))
	_, err = tea.NewProgram(m, tea.WithContext(ctx), tea.WithFPS(frameRate())).Run()
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

// frameRate is the renderer's frames per second: VIGIL_FPS, default
// tui.DefaultFPS (why that number is there).
func frameRate() int {
	if v, err := strconv.Atoi(os.Getenv("VIGIL_FPS")); err == nil && v > 0 {
		return v
	}
	return tui.DefaultFPS
}

// loadPace maps serve.load_pace to the hub's option: there 0 means the
// default, and "each sample at once" is negative.
func loadPace(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("vigil serve", "vigil serve [--config FILE] [--listen ADDR] [--data-dir DIR]", stderr)
	cfgPath := fs.String("config", "", "configuration file")
	listen := fs.String("listen", "", "address to listen on (default from config: 127.0.0.1:7070)")
	dataDir := fs.String("data-dir", "", "where the journal lives (default from config: /var/lib/vigil)")
	verbose := fs.Bool("v", false, "log debug detail")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, _, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	s := cfg.Serve
	if *listen != "" {
		s.Listen = *listen
	}
	if *dataDir != "" {
		s.DataDir = *dataDir
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	hostname, _ := os.Hostname()
	host := s.Host
	if host == "" {
		host = hostname
	}
	if s.Reporting() {
		return runAgent(ctx, cfg, host, log)
	}
	tokens, err := serveTokens(cfg.Path, s.TokenEnv, os.Getenv)
	if err != nil {
		return err
	}
	j, closeJournal, err := openJournal(ctx, s, log)
	if err != nil {
		return err
	}
	defer closeJournal()
	name := s.Name
	if name == "" {
		name = hostname
	}
	if s.RequireToken && len(tokens) == 0 {
		return usageError{fmt.Errorf("%s: serve.require_token is set but no token variable (%s) holds a token", cfg.Path, strings.Join(s.TokenEnv, ", "))}
	}
	loadLog, err := os.OpenFile(filepath.Join(s.DataDir, server.LoadLogName), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	defer loadLog.Close()
	senders, err := cfg.Senders(os.Getenv)
	if err != nil {
		return usageError{err}
	}
	hub := server.NewHub(j, server.Options{
		Name: name, Book: cfg.Book(), Tokens: tokens, RequireToken: s.RequireToken, Logger: log, LoadLog: loadLog,
		Thresholds: cfg.Thresholds.Level(), ReplayWindow: s.ReplayWindow.Duration, LoadPace: loadPace(s.LoadPace.Duration), Agents: agentGrants(s.Agents, log),
		Site: s.Site(name), Senders: senders,
	})
	if am := s.Alertmanager; am != nil {
		token := ""
		if am.TokenEnv != "" {
			if token = os.Getenv(am.TokenEnv); token == "" {
				return usageError{fmt.Errorf("%s: serve.alertmanager.token_env: $%s is empty or unset", cfg.Path, am.TokenEnv)}
			}
		}
		hub.Handle("POST /alertmanager", &ingest.Alertmanager{Token: token, Sink: hub, Log: log})
	}
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return err
	}
	scheme := "ws"
	if s.TLSCert != "" {
		scheme = "wss"
	}
	log.Info("serving", "url", fmt.Sprintf("%s://%s%s", scheme, ln.Addr(), s.Path), "journal", j.ID(), "seq", j.Seq(), "checks", len(s.Checks),
		"status", fmt.Sprintf("http%s://%s/status", strings.TrimPrefix(scheme, "ws"), ln.Addr()), "channels", strings.Join(hub.Channels(), ","), "pending_deliveries", hub.PendingDeliveries())
	var wg sync.WaitGroup
	probeCtx, cancelProbes := context.WithCancel(ctx)
	if s.ProbeLoad {
		hp := &probe.HostProbe{Host: host, Interval: s.Interval.Duration, Warn: func(msg string) { log.Warn(msg) }}
		wg.Add(1)
		go func() { defer wg.Done(); hp.Run(probeCtx, hub) }()
	}
	if s.SSH != nil {
		if err := startSSH(probeCtx, &wg, cfg, hub, name, log); err != nil {
			cancelProbes()
			wg.Wait()
			return err
		}
	}
	startChecks(probeCtx, &wg, s.Checks, host, hub)
	scrapeClient := &http.Client{}
	for _, sc := range s.Scrape {
		sc = sc.WithDefaults()
		target := ingest.Target{Host: sc.Host, URL: sc.URL, Every: sc.Every.Duration}
		wg.Add(1)
		go func() { defer wg.Done(); target.Run(probeCtx, scrapeClient, hub) }()
	}
	err = server.Serve(ctx, hub, ln, s.Path, s.TLSCert, s.TLSKey)
	cancelProbes()
	wg.Wait()
	log.Info("stopped", "seq", j.Seq())
	return err
}

// openJournal opens the hub's journal: a file in the data directory, or
// with [serve.cluster] the cluster's stream through this hub's embedded
// nats-server (waiting for a majority of the peers, until ctx ends).
func openJournal(ctx context.Context, s config.Serve, log *slog.Logger) (journal.Backend, func(), error) {
	if s.Cluster.Name == "" {
		j, rec, err := journal.OpenWith(s.DataDir, journal.Options{SegmentBytes: s.JournalSegmentMiB << 20})
		if err != nil {
			return nil, nil, journalOpenError(s.DataDir, err)
		}
		if rec.Migrated != "" {
			log.Info("journal: rewrote the format-1 journal with a checksum per record; the old file is kept", "kept", rec.Migrated)
		}
		if rec.TornBytes > 0 {
			log.Warn("journal: cut an incomplete last record (a crash mid-write); everything before it is kept", "line", rec.TornLine, "bytes", rec.TornBytes, "copy", rec.TornCopy)
		}
		return j, func() { j.Close() }, nil
	}
	c := s.Cluster
	routeTLS, err := c.RouteTLS()
	if err != nil {
		return nil, nil, err
	}
	node, err := cluster.StartNode(cluster.NodeConfig{Server: c.Listen, Cluster: c.Name, Listen: c.Listen, Peers: c.Peers, DataDir: s.DataDir, Logger: log, TLS: routeTLS})
	if err != nil {
		return nil, nil, err
	}
	nc, err := node.Connect("vigil-hub")
	if err != nil {
		node.Shutdown()
		return nil, nil, err
	}
	log.Info("cluster: node started; opening the journal's stream", "cluster", c.Name, "listen", c.Listen, "peers", c.Peers)
	j, err := cluster.Open(ctx, nc, s.DataDir, cluster.Options{
		Replicas: node.Size(), CommitTimeout: c.CommitTimeout.Duration, SegmentBytes: s.JournalSegmentMiB << 20,
		Logger: log, Quorum: node.Quorum, Reaches: node.Reaches, Routed: node.Routed,
	})
	if err != nil {
		nc.Close()
		node.Shutdown()
		return nil, nil, journalOpenError(s.DataDir, err)
	}
	return j, func() { j.Close(); nc.Close(); node.Shutdown() }, nil
}

// journalOpenError says what to do about a journal that would not open:
// only a directory that cannot be written is fixed by pointing data_dir
// elsewhere; a damaged or locked journal is not.
func journalOpenError(dir string, err error) error {
	switch {
	case errors.Is(err, journal.ErrDamaged):
		return fmt.Errorf("%w\n(the journal in %s is kept as it is: copy the data directory aside before repairing it by hand; vigil serve will not start on a journal it would have to guess at)", err, dir)
	case errors.Is(err, journal.ErrLocked):
		return err
	case errors.Is(err, os.ErrPermission), errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w (set [serve] data_dir or --data-dir to a writable directory)", err)
	}
	return err
}

// serveTokens reads the tokens serve.token_env names. A named variable
// that is unset or empty is an error, not a warning: a unit that lost its
// environment file would otherwise open the journal to anyone who can
// reach the port.
func serveTokens(path string, names []string, getenv func(string) string) ([]string, error) {
	var tokens []string
	for _, name := range names {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return nil, usageError{fmt.Errorf("%s: serve.token_env: $%s is unset or empty; set it to the token, or remove it from token_env (an empty token would leave commands open to anyone)", path, name)}
		}
		tokens = append(tokens, v)
	}
	return tokens, nil
}

// startSSH serves the dashboard over SSH beside the feed, until ctx ends.
func startSSH(ctx context.Context, wg *sync.WaitGroup, cfg config.Config, hub *server.Hub, name string, log *slog.Logger) error {
	c := cfg.Serve.SSH
	opts := dashboardOptions(cfg, false)
	opts.DraftDir = filepath.Join(cfg.Serve.DataDir, "ssh-drafts") // w writes drafts on the hub, not the responder's machine
	srv, err := tuissh.New(tuissh.Config{
		Hub: hub, HostKey: c.HostKey, AuthorizedKeys: c.AuthorizedKeys, ReadOnlyKeys: c.ReadOnlyKeys,
		IdleTimeout: c.IdleTimeout.Duration, MaxTimeout: c.MaxTimeout.Duration,
		Dashboard: opts, FeedName: name, FPS: frameRate(), Logger: log,
	})
	if err != nil {
		return usageError{fmt.Errorf("%s: [serve.ssh]: %w", cfg.Path, err)}
	}
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("[serve.ssh] listen: %w", err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ctx, ln); err != nil {
			log.Error("ssh: stopped serving", "err", err)
		}
	}()
	return nil
}

func startChecks(ctx context.Context, wg *sync.WaitGroup, checks []config.Check, host string, sink probe.Sink) {
	for _, ch := range checks {
		ch = ch.WithDefaults()
		c := probe.Check{Name: ch.Name, Type: ch.Type, Target: ch.Target, Expect: ch.Expect, Every: ch.Every.Duration, Timeout: ch.Timeout.Duration, Rise: ch.Rise, Fall: ch.Fall}
		wg.Add(1)
		go func() { defer wg.Done(); probe.RunCheck(ctx, host, c, "", sink) }()
	}
}

// agentGrants reads each [[serve.agents]] token from its variable; one
// that is unset is left out, said in the log.
func agentGrants(agents []config.AgentGrant, log *slog.Logger) []server.AgentGrant {
	var grants []server.AgentGrant
	for _, g := range agents {
		token := os.Getenv(g.TokenEnv)
		if token == "" {
			log.Warn("agent token variable is empty or unset; no agent can report with it", "token_env", g.TokenEnv, "hosts", strings.Join(g.Hosts, ","))
			continue
		}
		grants = append(grants, server.AgentGrant{Token: token, Hosts: g.Hosts})
	}
	return grants
}

// runAgent is vigil serve with [serve.report]: it probes this host, runs
// its checks and reports them to the hub; it keeps no journal.
func runAgent(ctx context.Context, cfg config.Config, host string, log *slog.Logger) error {
	s, r := cfg.Serve, cfg.Serve.Report
	token := os.Getenv(r.TokenEnv)
	if token == "" {
		return usageError{fmt.Errorf("%s: serve.report.token_env: $%s is empty or unset; the hub needs an agent token", cfg.Path, r.TokenEnv)}
	}
	capturer := probe.NewCapturer(s.Evidence.Capturer(s.Interval.Duration))
	defer capturer.Close()
	a, err := agent.New(agent.Config{
		Hosts: []string{host}, URLs: r.URLs, Token: token, CAFile: r.CAFile,
		Thresholds: cfg.Thresholds.Level(), Log: log, Source: capturer,
	})
	if err != nil {
		return usageError{err}
	}
	log.Info("reporting", "host", host, "hubs", strings.Join(r.URLs, " "), "checks", len(s.Checks), "evidence_commands", len(s.Evidence.Commands))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); capturer.Run(ctx) }()
	if s.ProbeLoad {
		hp := &probe.HostProbe{Host: host, Interval: s.Interval.Duration, Warn: func(msg string) { log.Warn(msg) }}
		wg.Add(1)
		go func() { defer wg.Done(); hp.Run(ctx, a) }()
	}
	startChecks(ctx, &wg, s.Checks, host, a)
	a.Run(ctx)
	wg.Wait()
	log.Info("stopped reporting", "host", host)
	return nil
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("vigil demo", "vigil demo [--listen ADDR] [--no-ui]", stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address of the demo feed")
	noUI := fs.Bool("no-ui", false, "serve the scenario only, for several dashboards (vigil --feed ws://ADDR/feed)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, _, err := loadConfig("")
	if err != nil {
		return err
	}
	if *noUI {
		return runDemo(ctx, *listen, false, cfg, stdout)
	}
	return runDemo(ctx, *listen, true, cfg, stderr)
}

// runDemo serves the scenario on a real loopback WebSocket and, with ui,
// runs the dashboard against it: the production path, no shortcut.
func runDemo(ctx context.Context, listen string, ui bool, cfg config.Config, out io.Writer) error {
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
	return runDashboard(ctx, cfg, []client.FeedConfig{{Name: "demo", URL: url}}, "", true, out)
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("vigil check-config", "vigil check-config [FILE]", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	path, explicit := config.Locate(fs.Arg(0), os.Getenv)
	cfg, found, err := config.Load(path, explicit)
	if err != nil {
		return usageError{err}
	}
	if found {
		fmt.Fprintf(stdout, "# %s is valid. Resolved configuration:\n", path)
	} else {
		fmt.Fprintf(stdout, "# no configuration file (looked for %s): defaults, and the demo when run\n", path)
	}
	for _, f := range cfg.Feeds {
		if f.TokenEnv != "" {
			status := "unset"
			if os.Getenv(f.TokenEnv) != "" {
				status = "set, ******"
			}
			fmt.Fprintf(stdout, "# feed %s token from $%s: %s\n", f.Name, f.TokenEnv, status)
		}
	}
	hostname, _ := os.Hostname()
	return toml.NewEncoder(stdout).Encode(cfg.Resolved(os.Getenv, hostname))
}

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("vigil export", "vigil export (--feed URL | --journal FILE) --incident ID [--format md|json] [-o FILE]", stderr)
	feedURL := fs.String("feed", "", "read the journal from this feed")
	journalPath := fs.String("journal", "", "read the journal in this data directory (or a journal file in it: journal-*.wal, or a format-1 "+journal.Format1Name+")")
	incidentID := fs.String("incident", "", "incident id, e.g. INC-42")
	format := fs.String("format", "md", "md (a post-mortem draft) or json (for tools)")
	outPath := fs.String("o", "", "write here instead of standard output")
	tokenEnv := fs.String("token-env", "", "environment variable holding the feed's token")
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*feedURL == "") == (*journalPath == "") {
		return usageError{errors.New("export needs exactly one of --feed URL or --journal FILE")}
	}
	if *incidentID == "" {
		return usageError{errors.New("export needs --incident ID")}
	}
	if *format != "md" && *format != "json" {
		return usageError{fmt.Errorf("--format %q: expected md or json", *format)}
	}
	var src export.Source
	var err error
	if *journalPath != "" {
		src, err = export.FromJournal(*journalPath)
	} else {
		token := ""
		if *tokenEnv != "" {
			token = os.Getenv(*tokenEnv)
		}
		src, err = export.FromFeed(ctx, *feedURL, token, *incidentID)
	}
	if err != nil {
		return err
	}
	report, err := export.Build(src, *incidentID)
	if err != nil {
		return err
	}
	out := stdout
	if *outPath != "" {
		f, err := os.Create(*outPath)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	if *format == "json" {
		return report.JSON(out)
	}
	return report.Markdown(out)
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("vigil bench", "vigil bench [--only "+strings.Join(bench.Figures, ",")+"] [--runs N] [--window D] [--idle-window D] [--cpuprofile DIR]", stderr)
	only := fs.String("only", strings.Join(bench.Figures, ","), "which figures to measure (also: ssh, the dashboard over SSH against htop over SSH)")
	runs := fs.Int("runs", 3, "how many times each figure is measured (reported as median, min and max)")
	window := fs.Duration("window", 20*time.Second, "steady-state window for CPU and terminal bytes")
	idleWindow := fs.Duration("idle-window", time.Minute, "window for the idle cost")
	fps := fs.String("fps", "", "run the measured vigil with VIGIL_FPS set to this")
	var extraEnv multiFlag
	fs.Var(&extraEnv, "env", "KEY=VALUE in the measured vigil's environment, for experiments (GOMAXPROCS=1); repeat for several")
	profile := fs.String("cpuprofile", "", "write a CPU profile of every measured vigil run into this directory")
	peers := fs.String("peers", strings.Join(bench.PeerNames(), ","), "the monitors measured beside vigil where installed (empty: none)")
	binary := fs.String("vigil", "", "measure this vigil binary instead of this one (to compare before and after a change)")
	if err := parse(fs, args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if *binary != "" {
		self = *binary
	}
	env := []string(extraEnv)
	if *fps != "" {
		env = append(env, "VIGIL_FPS="+*fps)
	}
	opts := bench.Options{Vigil: self, Window: *window, IdleWindow: *idleWindow, Env: env, Runs: *runs, Profile: *profile, Peers: splitList(*peers),
		Log: func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }}
	return bench.Report(ctx, opts, splitList(*only), stdout)
}

// splitList splits a comma-separated flag, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
