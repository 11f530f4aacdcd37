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
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/BurntSushi/toml"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/cluster"
	"github.com/vigil-oncall/vigil/feeds/config"
	"github.com/vigil-oncall/vigil/feeds/demo"
	"github.com/vigil-oncall/vigil/feeds/export"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/probe"
	"github.com/vigil-oncall/vigil/feeds/server"
	"github.com/vigil-oncall/vigil/tui"
	"github.com/vigil-oncall/vigil/tui/perf"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	var err error
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
		fmt.Fprintln(stdout, "vigil", version())
	case "help":
		fmt.Fprint(stdout, topUsage)
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
  vigil version

Run any command with --help for its flags.
`

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
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

func cmdDashboard(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("vigil", "vigil [--config FILE] [--feed URL]... [--actor NAME]", stderr)
	cfgPath := fs.String("config", "", "configuration file")
	var feedURLs multiFlag
	fs.Var(&feedURLs, "feed", "feed URL (ws:// or wss://); repeat for several; replaces the configured feeds")
	actor := fs.String("actor", "", "who ticks and notes (default: config, then $USER)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, found, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if *actor != "" {
		cfg.Dashboard.Actor = *actor
	}
	var feeds []client.FeedConfig
	for i, u := range feedURLs {
		feeds = append(feeds, client.FeedConfig{Name: fmt.Sprintf("feed%d", i+1), URL: u})
	}
	if len(feedURLs) == 0 {
		for _, f := range cfg.Feeds {
			feeds = append(feeds, client.FeedConfig{Name: f.Name, URL: f.URL, TokenEnv: f.TokenEnv, Token: os.Getenv(f.TokenEnv), CAFile: f.CAFile})
		}
	}
	if len(feeds) == 0 {
		if found {
			fmt.Fprintf(stderr, "vigil: %s has no [[feeds]]: running the demo\n", cfg.Path)
		}
		return runDemo(ctx, "127.0.0.1:0", true, cfg, stderr)
	}
	return runDashboard(ctx, cfg, feeds, cfg.StateDir(os.Getenv), false)
}

func dashboardOptions(cfg config.Config, demoMode bool) tui.Options {
	kinds := cfg.Book().Kinds()
	return tui.Options{
		Actor: cfg.Actor(os.Getenv), Bell: cfg.Dashboard.Bell, UTC: cfg.Dashboard.TimeZone == "utc",
		Support: cfg.Dashboard.Support, Demo: demoMode, Kinds: kinds,
		Thresholds: cfg.Thresholds.Level(),
	}
}

func runDashboard(ctx context.Context, cfg config.Config, feeds []client.FeedConfig, stateDir string, demoMode bool) error {
	for _, f := range feeds {
		if f.URL == "" || !(strings.HasPrefix(f.URL, "ws://") || strings.HasPrefix(f.URL, "wss://")) {
			return usageError{fmt.Errorf("feed %q: expected a ws:// or wss:// URL", f.URL)}
		}
	}
	c, err := client.New(feeds, stateDir, client.DefaultTimings())
	if err != nil {
		return err
	}
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

// frameRate is the renderer's frames per second: VIGIL_FPS, default 30.
// The renderer wakes this often even when idle, so 60 costs twice the idle
// CPU for nothing a person can see; 30 keeps a keypress under 35 ms.
func frameRate() int {
	if v, err := strconv.Atoi(os.Getenv("VIGIL_FPS")); err == nil && v > 0 {
		return v
	}
	return 30
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
	j, closeJournal, err := openJournal(ctx, s, log)
	if err != nil {
		return err
	}
	defer closeJournal()
	hostname, _ := os.Hostname()
	name, host := s.Name, s.Host
	if name == "" {
		name = hostname
	}
	if host == "" {
		host = hostname
	}
	var tokens []string
	for _, env := range s.TokenEnv {
		if v := os.Getenv(env); v != "" {
			tokens = append(tokens, v)
		} else {
			log.Warn("token variable is empty or unset", "token_env", env)
		}
	}
	if s.RequireToken && len(tokens) == 0 {
		return usageError{fmt.Errorf("%s: serve.require_token is set but no token variable (%s) holds a token", cfg.Path, strings.Join(s.TokenEnv, ", "))}
	}
	loadLog, err := os.OpenFile(filepath.Join(s.DataDir, server.LoadLogName), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	defer loadLog.Close()
	hub := server.NewHub(j, server.Options{
		Name: name, Book: cfg.Book(), Tokens: tokens, RequireToken: s.RequireToken, Logger: log, LoadLog: loadLog,
		Thresholds: cfg.Thresholds.Level(), ReplayWindow: s.ReplayWindow.Duration,
	})
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return err
	}
	scheme := "ws"
	if s.TLSCert != "" {
		scheme = "wss"
	}
	log.Info("serving", "url", fmt.Sprintf("%s://%s%s", scheme, ln.Addr(), s.Path), "journal", j.ID(), "seq", j.Seq(), "checks", len(s.Checks))
	var wg sync.WaitGroup
	probeCtx, cancelProbes := context.WithCancel(ctx)
	if s.ProbeLoad {
		hp := &probe.HostProbe{Host: host, Interval: s.Interval.Duration, Warn: func(msg string) { log.Warn(msg) }}
		wg.Add(1)
		go func() { defer wg.Done(); hp.Run(probeCtx, hub) }()
	}
	for _, ch := range s.Checks {
		ch = ch.WithDefaults()
		c := probe.Check{Name: ch.Name, Type: ch.Type, Target: ch.Target, Expect: ch.Expect, Every: ch.Every.Duration, Timeout: ch.Timeout.Duration, Rise: ch.Rise, Fall: ch.Fall}
		wg.Add(1)
		go func() { defer wg.Done(); probe.RunCheck(probeCtx, host, c, "", hub) }()
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
	node, err := cluster.StartNode(cluster.NodeConfig{Server: c.Listen, Cluster: c.Name, Listen: c.Listen, Peers: c.Peers, DataDir: s.DataDir, Logger: log})
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
		Logger: log, Quorum: node.Quorum,
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
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); sc.Run(ctx) }()
	go func() { defer wg.Done(); server.Serve(ctx, sc.Hub, ln, "/feed", "", "") }()
	defer wg.Wait()
	url := "ws://" + ln.Addr().String() + "/feed"
	if !ui {
		fmt.Fprintf(out, "demo feed at %s\nwatch it with:  vigil --feed %s\n", url, url)
		<-ctx.Done()
		return nil
	}
	return runDashboard(ctx, cfg, []client.FeedConfig{{Name: "demo", URL: url}}, "", true)
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
	return toml.NewEncoder(stdout).Encode(cfg)
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
	fs := newFlags("vigil bench", "vigil bench [--only bandwidth,idle,keys,ingest,memory,start] [--window D] [--idle-window D]", stderr)
	only := fs.String("only", "bandwidth,idle,keys,ingest,memory,start", "which figures to measure")
	window := fs.Duration("window", 20*time.Second, "steady-state window for terminal bandwidth")
	idleWindow := fs.Duration("idle-window", time.Minute, "window for the idle cost")
	fps := fs.String("fps", "", "run the measured vigil with VIGIL_FPS set to this")
	if err := parse(fs, args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var env []string
	if *fps != "" {
		env = append(env, "VIGIL_FPS="+*fps)
	}
	opts := perf.Options{Vigil: self, Window: *window, IdleWindow: *idleWindow, Env: env,
		Log: func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }}
	return perf.Report(ctx, opts, strings.Split(*only, ","), stdout)
}
