package agent

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/vigil-oncall/vigil/feeds/config"
	"github.com/vigil-oncall/vigil/feeds/probe"
)

// Run is vigil serve with [serve.report], until ctx ends: it probes host,
// runs the configured checks and reports them to the hub; it keeps no
// journal. Its token is read by config's one rule, so an unset variable
// is a config error naming file, line and key.
func Run(ctx context.Context, cfg config.Config, host string, log *slog.Logger) error {
	s, r := cfg.Serve, cfg.Serve.Report
	secrets, err := config.Preflight(cfg, os.Getenv)
	if err != nil {
		return err
	}
	capturer := probe.NewCapturer(s.Evidence.Capturer(s.Interval.Duration))
	defer capturer.Close()
	a, err := New(Config{
		Hosts: []string{host}, URLs: r.URLs, Token: secrets.ReportToken, CAFile: r.CAFile,
		Thresholds: cfg.Thresholds.Level(), Log: log, Source: capturer,
	})
	if err != nil {
		return cfg.ErrorAt([]string{"serve", "report"}, -1, "%v", err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); capturer.Run(ctx) }()
	if s.ProbeLoad {
		hp := &probe.HostProbe{Host: host, Interval: s.Interval.Duration, Warn: func(msg string) { log.Warn(msg) }}
		wg.Add(1)
		go func() { defer wg.Done(); hp.Run(ctx, a) }()
	}
	boot := s.Bootstrap()
	for _, ch := range s.Checks {
		c := ch.ProbeWith(boot)
		wg.Add(1)
		go func() { defer wg.Done(); probe.RunCheck(ctx, host, c, "", a) }()
	}
	log.Info("reporting", "host", host, "hubs", strings.Join(r.URLs, " "), "checks", len(s.Checks), "evidence_commands", len(s.Evidence.Commands))
	a.Run(ctx)
	wg.Wait()
	log.Info("stopped reporting", "host", host)
	return nil
}
