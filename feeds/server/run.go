package server

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vigil-oncall/vigil/feeds/config"
	loadhistory "github.com/vigil-oncall/vigil/feeds/history"
	"github.com/vigil-oncall/vigil/feeds/ingest"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/probe"
)

// Front is a front end served beside the feed that the caller builds, so
// that feeds never imports the dashboard (the dashboard over SSH lives in
// tui/ssh). Run calls it once the hub is built and before it says it is
// serving; it binds what it listens on and returns the function that
// serves until ctx ends, or an error that stops Run (a *config.Error when
// the configuration is at fault).
type Front func(hub *Hub, name string) (serve func(ctx context.Context) error, err error)

// Run is vigil serve as a hub, until ctx ends: it checks everything
// config.Preflight checks, opens the journal, builds the hub from cfg,
// binds the feed and every front, starts the probes, checks and scrapes,
// and only then logs "serving". Errors the configuration can fix are
// config errors naming file, line and key.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger, opts RunOptions) error {
	s := cfg.Serve
	secrets, err := config.Preflight(cfg, os.Getenv)
	if err != nil {
		return err
	}
	for _, check := range opts.Checks {
		if err := check(cfg); err != nil {
			return err
		}
	}
	hostname, _ := os.Hostname()
	name := s.Name
	if name == "" {
		name = hostname
	}
	host := s.HostName(hostname)
	senders, err := cfg.Senders(os.Getenv)
	if err != nil {
		return err
	}
	custs, err := cfg.OpenCustomers(senders)
	if err != nil {
		return err
	}
	subs, err := cfg.OpenSubscribers(senders)
	if err != nil {
		return err
	}
	metrics := NewMetrics()
	j, closeJournal, err := openJournal(ctx, s, opts.Cluster, log, metrics.ObserveFsync)
	if err != nil {
		return err
	}
	defer closeJournal()
	lastLoads, err := ReadLastPeaks(filepath.Join(s.DataDir, LoadLogName))
	if err != nil {
		log.Warn("load log unreadable: hosts silent since the restart are shown without their last figures", "err", err)
	}
	loadLog, err := os.OpenFile(filepath.Join(s.DataDir, LoadLogName), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	defer loadLog.Close()
	pagingOpts, err := PagingFromConfig(s, senders)
	if err != nil {
		return err
	}
	prometheus := ""
	if s.History != nil {
		prometheus = s.History.Prometheus
	}
	loads, err := loadhistory.ForHub(s.DataDir, prometheus)
	if err != nil {
		return err
	}
	hub := NewHub(j, Options{History: loads,
		Paging: pagingOpts, Metrics: metrics,
		Lease: s.Cluster.Lease.Duration,
		Name:  name, Book: cfg.Book(), Tokens: secrets.ServeTokens, RequireToken: s.RequireToken, Logger: log, LoadLog: loadLog,
		Thresholds: cfg.Thresholds.Level(), ReplayWindow: s.ReplayWindow.Duration, LoadPace: loadPace(s.LoadPace.Duration),
		Agents: agentGrants(s.Agents, secrets.AgentTokens), Site: s.Site(name), Senders: senders,
		Hosts: knownHosts(s, host), LastLoads: lastLoads,
		Customers: custs, Plans: s.Plans(), DataDir: s.DataDir, Uptime: s.UptimeRules(), Auto: autoComponents(s),
	})
	if s.Alertmanager != nil {
		hub.Handle("POST /alertmanager", &ingest.Alertmanager{Token: secrets.AlertmanagerToken, Sink: hub.AlertSink(), Log: log})
	}
	ln, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return cfg.ErrorAt([]string{"serve", "listen"}, -1, "%v", err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	partsCtx, stopParts := context.WithCancel(ctx)
	defer wg.Wait()
	defer stopParts()
	for _, front := range opts.Fronts {
		serve, err := front(hub, name)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serve(partsCtx); err != nil {
				log.Error("front end stopped serving", "err", err)
			}
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); loads.Run(partsCtx) }()
	startParts(partsCtx, &wg, s, host, hub, log)
	startAudience(partsCtx, &wg, hub, custs, subs, log)
	scheme := "ws"
	if s.TLSCert != "" {
		scheme = "wss"
	}
	log.Info("serving", "url", fmt.Sprintf("%s://%s%s", scheme, ln.Addr(), s.Path), "journal", j.ID(), "seq", j.Seq(), "checks", len(s.Checks),
		"status", fmt.Sprintf("http%s://%s/status", strings.TrimPrefix(scheme, "ws"), ln.Addr()), "channels", strings.Join(hub.Channels(), ","), "pending_deliveries", hub.PendingDeliveries())
	err = Serve(ctx, hub, ln, s.Path, s.TLSCert, s.TLSKey)
	stopParts()
	wg.Wait()
	log.Info("stopped", "seq", j.Seq())
	return err
}

// startParts starts what feeds the hub beside its connections: this
// host's probe, the checks and the scrapes, each until ctx ends.
func startParts(ctx context.Context, wg *sync.WaitGroup, s config.Serve, host string, hub *Hub, log *slog.Logger) {
	if s.ProbeLoad {
		hp := &probe.HostProbe{Host: host, Interval: s.Interval.Duration, Warn: func(msg string) { log.Warn(msg) }}
		wg.Add(1)
		go func() { defer wg.Done(); hp.Run(ctx, hub) }()
	}
	boot := s.Bootstrap()
	for _, ch := range s.Checks {
		c := ch.ProbeWith(boot)
		wg.Add(1)
		var sink probe.Sink = hub
		if c.Type == "tls" || c.Type == "domain" {
			sink = hub.ExpirySink() // pages on "expiry" from the warning on
		}
		go func() { defer wg.Done(); probe.RunCheck(ctx, host, c, "", sink) }()
	}
	scrapeClient := &http.Client{}
	for _, sc := range s.Scrape {
		sc = sc.WithDefaults()
		target := ingest.Target{Host: sc.Host, URL: sc.URL, Every: sc.Every.Duration}
		scrape := func(ctx context.Context) { target.Run(ctx, scrapeClient, hub) }
		wg.Add(1)
		go func() {
			defer wg.Done()
			hub.holdOrRun(ctx, "scrape."+hex.EncodeToString([]byte(sc.Host)), s.Cluster.Lease.Duration, scrape)
		}()
	}
}

// loadPace maps serve.load_pace to the hub's option: there 0 means the
// default, and "each sample at once" is negative.
func loadPace(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// agentGrants pairs each [[serve.agents]] grant with its token, read by
// config's one rule (an unset variable has already stopped serve).
func agentGrants(agents []config.AgentGrant, tokens []string) []AgentGrant {
	var grants []AgentGrant
	for i, g := range agents {
		grants = append(grants, AgentGrant{Token: tokens[i], Hosts: g.Hosts})
	}
	return grants
}

// JournalOpener opens the journal of a hub that is one of a cluster
// ([serve.cluster]): feeds/cluster's OpenJournal, passed in since the
// cluster's tests run it against this package's hub. It returns the
// journal and what closes it.
type JournalOpener func(ctx context.Context, s config.Serve, log *slog.Logger) (journal.Backend, func(), error)

// RunOptions are the parts of a hub built outside feeds/server.
type RunOptions struct {
	Fronts  []Front       // served beside the feed, e.g. the dashboard over SSH
	Cluster JournalOpener // opens the journal with [serve.cluster]
	// Checks run after config.Preflight, before anything is opened: the
	// fronts' own preflight (tui/ssh's Check), which check-config runs too.
	Checks []func(config.Config) error
}

// openJournal opens the hub's journal: a file in the data directory, or
// with [serve.cluster] the cluster's stream (cluster opens it).
func openJournal(ctx context.Context, s config.Serve, cluster JournalOpener, log *slog.Logger, onSync func(time.Duration)) (journal.Backend, func(), error) {
	if s.Cluster.Name == "" {
		j, rec, err := journal.OpenWith(s.DataDir, journal.Options{SegmentBytes: s.JournalSegmentMiB << 20, OnSync: onSync})
		if err != nil {
			return nil, nil, journalOpenError(s.DataDir, err)
		}
		if rec.Migrated != "" {
			log.Info("journal: rewrote the format-1 journal with a checksum per record; the old file is kept", "kept", rec.Migrated)
		}
		if rec.TornBytes > 0 {
			log.Warn("journal: cut an incomplete last record (a crash mid-write); everything before it is kept", "line", rec.TornLine, "bytes", rec.TornBytes, "copy", rec.TornCopy)
		}
		for _, why := range rec.Rebuilt {
			log.Warn("journal: an index file was missing or damaged; read its segment instead and wrote it again", "why", why)
		}
		return j, func() { j.Close() }, nil
	}
	if cluster == nil {
		return nil, nil, fmt.Errorf("[serve.cluster] is set but this vigil was built without clusters")
	}
	j, closeJournal, err := cluster(ctx, s, log)
	if err != nil {
		return nil, nil, journalOpenError(s.DataDir, err)
	}
	return j, closeJournal, nil
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

// knownHosts are the hosts the configuration says report to this hub: its
// own (probe_load) and each scrape target, with their intervals.
func knownHosts(s config.Serve, self string) []KnownHost {
	var out []KnownHost
	if s.ProbeLoad {
		out = append(out, KnownHost{Host: self, Every: s.Interval.Duration})
	}
	for _, sc := range s.Scrape {
		sc = sc.WithDefaults()
		out = append(out, KnownHost{Host: sc.Host, Every: sc.Every.Duration})
	}
	return out
}
