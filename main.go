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
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/vigil-oncall/vigil/feeds/agent"
	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/cluster"
	"github.com/vigil-oncall/vigil/feeds/config"
	"github.com/vigil-oncall/vigil/feeds/credits"
	"github.com/vigil-oncall/vigil/feeds/customers"
	"github.com/vigil-oncall/vigil/feeds/export"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/paging"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/review"
	"github.com/vigil-oncall/vigil/feeds/server"
	"github.com/vigil-oncall/vigil/internal/bench"
	"github.com/vigil-oncall/vigil/internal/cpuprofile"
	"github.com/vigil-oncall/vigil/internal/version"
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
	endProfile := cpuprofile.Start(os.Getenv("VIGIL_CPUPROFILE"), os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	endProfile()
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sub, args := subcommand(args)
	return exitStatus(runCommand(ctx, sub, args, stdout, stderr), stderr)
}

// subcommand splits the command's name from its arguments: none names
// the dashboard, unless its flags ask for the version or help.
func subcommand(args []string) (string, []string) {
	sub := ""
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	switch {
	case sub == "" && hasFlag(args, "-version", "--version"):
		sub = "version"
	case sub == "" && hasFlag(args, "-h", "-help", "--help", "--h"):
		sub = "help"
	}
	return sub, args
}

func runCommand(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	switch sub {
	case "":
		return cmdDashboard(ctx, args, stderr)
	case "serve":
		return cmdServe(ctx, args, stderr)
	case "demo":
		return cmdDemo(ctx, args, stdout, stderr)
	case "export":
		return cmdExport(ctx, args, stdout, stderr)
	case "report":
		return cmdReport(ctx, args, stdout, stderr)
	case "check-config":
		return cmdCheckConfig(args, stdout, stderr)
	case "oncall":
		return cmdOncall(ctx, args, stdout, stderr)
	case "credits":
		err := credits.Run(ctx, args, stdout, stderr)
		if errors.As(err, new(credits.UsageError)) {
			return usageError{err}
		}
		return err
	case "bench":
		return cmdBench(ctx, args, stdout, stderr)
	case "version":
		info, ok := debug.ReadBuildInfo()
		fmt.Fprintln(stdout, version.Line(info, ok))
		return nil
	case "help":
		fs, _ := dashboardFlags(stdout)
		fs.Usage()
		return nil
	}
	return usageError{fmt.Errorf("unknown command %q\n\n%s", sub, topUsage)}
}

// exitStatus reports a command's error and says how vigil exits: a
// mistake in how it was called or configured is a usage error.
func exitStatus(err error, stderr io.Writer) int {
	var ue usageError
	var ce *config.Error
	var ces config.Errors
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue), errors.As(err, &ce), errors.As(err, &ces):
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
  vigil oncall [--config FILE] [--feed URL]              who is on call now, and the handoffs of the next two weeks
  vigil export (--feed URL | --journal FILE) --incident ID [--format md|json] [-o FILE]
  vigil report --month YYYY-MM (--feed URL | --journal DIR) [--format md|json]   the month's figures
  vigil credits --month 2026-11 (--journal DIR | --feed URL) [--format csv|md|json]
  vigil --at TIME [--feed URL | --journal DIR]           the board as it stood then (rewind)
  vigil check-config [FILE]                              validate, print what would be used
  vigil bench [--only LIST] [--window D]                 measure this binary in a pty (see README)
  vigil version                                          also: vigil --version

Run any command with --help for its flags.
`

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
	if a.journal != "" && (a.at == "" || len(a.feeds) > 0) {
		return usageError{errors.New("--journal DIR shows a data directory rewound: it needs --at and no --feed")}
	}
	var at time.Time
	if a.at != "" {
		if at, err = review.ParseAt(a.at, time.Now(), time.Local); err != nil {
			return usageError{err}
		}
		if a.journal != "" {
			return tui.RunJournal(ctx, cfg, a.journal, at, stderr)
		}
	}
	feeds, err := tui.Feeds(cfg, a.feeds, os.Getenv)
	if err != nil {
		return err
	}
	if !at.IsZero() && len(feeds) > 0 {
		return tui.RunAt(ctx, cfg, feeds, cfg.StateDir(os.Getenv), at, stderr)
	}
	if len(feeds) == 0 {
		if found {
			fmt.Fprintf(stderr, "vigil: %s has no [[feeds]]: running the demo\n", cfg.Path)
		}
		return tui.RunDemo(ctx, "127.0.0.1:0", true, cfg, stderr)
	}
	return tui.Run(ctx, cfg, feeds, cfg.StateDir(os.Getenv), false, stderr)
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
	if *listen != "" {
		cfg.Serve.Listen = *listen
	}
	if *dataDir != "" {
		cfg.Serve.DataDir = *dataDir
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if cfg.Serve.Reporting() {
		hostname, _ := os.Hostname()
		return agent.Run(ctx, cfg, cfg.Serve.HostName(hostname), log)
	}
	opts := server.RunOptions{Cluster: cluster.OpenJournal}
	if cfg.Serve.SSH != nil {
		opts.Fronts = append(opts.Fronts, tuissh.Front(cfg, log))
		opts.Checks = append(opts.Checks, tuissh.Check)
	}
	return server.Run(ctx, cfg, log, opts)
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
		return tui.RunDemo(ctx, *listen, false, cfg, stdout)
	}
	return tui.RunDemo(ctx, *listen, true, cfg, stderr)
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
	if err := config.CheckAll(cfg, os.Getenv); err != nil {
		return err
	}
	if err := tuissh.Check(cfg); err != nil {
		return err
	}
	if found {
		fmt.Fprintf(stdout, "# %s is valid. Resolved configuration:\n", path)
	} else {
		fmt.Fprintf(stdout, "# no configuration file (looked for %s): defaults, and the demo when run\n", path)
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
	cfgPath := fs.String("config", "", "configuration file; with [serve.customers] the draft lists the customers affected and their credits")
	if err := parse(fs, args); err != nil {
		return err
	}
	req := export.Request{Feed: *feedURL, Journal: *journalPath, Incident: *incidentID, Format: *format, Out: *outPath}
	if err := req.Check(); err != nil {
		return usageError{err}
	}
	if *tokenEnv != "" {
		req.Token = os.Getenv(*tokenEnv)
	}
	req.Enrich = func(r *export.Report, src export.Source) error { return credits.Enrich(r, src, *cfgPath, time.Now()) }
	return export.Run(ctx, req, stdout)
}

func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("vigil report", "vigil report --month YYYY-MM (--feed URL | --journal DIR) [--format md|json] [--target 99.9]", stderr)
	req := review.Request{}
	fs.StringVar(&req.Month, "month", "", "the month, e.g. 2026-11 (UTC)")
	fs.StringVar(&req.Feed, "feed", "", "read the journal from this feed")
	fs.StringVar(&req.Journal, "journal", "", "read the journal in this data directory")
	fs.StringVar(&req.Format, "format", "md", "md (for people) or json (for tools)")
	fs.Float64Var(&req.Target, "target", 99.9, "the plan's availability target, percent")
	tokenEnv := fs.String("token-env", "", "environment variable holding the feed's token")
	cfgPath := fs.String("config", "", "configuration file whose [serve.customers] and [[serve.sla]] give customers affected and credits")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := req.Check(); err != nil {
		return usageError{err}
	}
	cfg, _, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	if file := cfg.CustomersFile(); file != "" {
		list, err := customers.Load(file, nil)
		if err != nil {
			return err
		}
		req.Customers = &review.Customers{List: list, Plans: cfg.Serve.Plans()}
	}
	if *tokenEnv != "" {
		req.Token = os.Getenv(*tokenEnv)
	}
	return review.Run(ctx, req, stdout)
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

func cmdOncall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("vigil oncall", "vigil oncall [--config FILE] [--feed URL] [--token-env VAR]", stderr)
	cfgPath := fs.String("config", "", "configuration file (its rotations, when no --feed)")
	feedURL := fs.String("feed", "", "ask this hub (overrides included)")
	tokenEnv := fs.String("token-env", "", "environment variable holding the feed's token")
	if err := parse(fs, args); err != nil {
		return err
	}
	now := time.Now()
	var o protocol.Oncall
	if *feedURL != "" {
		token := ""
		if *tokenEnv != "" {
			token = os.Getenv(*tokenEnv)
		}
		var err error
		if o, err = client.FetchOncall(ctx, *feedURL, token); err != nil {
			return err
		}
	} else {
		cfg, _, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		o = paging.New(cfg.Serve.PagingConfig()).OnCall(now)
	}
	return paging.WriteOncall(stdout, o, now, time.Local)
}
