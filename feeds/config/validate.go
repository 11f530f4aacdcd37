package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
)

// validate checks every section; each section's rules are in a function of
// their own, and every error is recorded at its key by add.
func (c *Config) validate(loc *locator) Errors {
	var errs Errors
	add := func(key []string, index int, format string, args ...any) {
		errs = append(errs, &Error{File: c.Path, Line: loc.lineAt(key, index), Key: strings.Join(key, "."), Msg: fmt.Sprintf(format, args...)})
	}
	c.validateDashboard(add)
	c.validateFeeds(add)
	c.Serve.validate(add)
	c.Serve.validateCluster(add)
	c.Serve.validateSSH(add)
	c.Serve.validateChecks(add)
	c.Serve.Evidence.validate(add)
	c.Serve.validateDeadlineChecks(add)
	c.validatePublish(add)
	c.validateCustomers(add)
	c.validateFleet(add)
	c.validateClusterTLS(add)
	c.validatePaging(add)
	c.validateHistory(add)
	c.validateRunbooks(add)
	return errs
}

func (c *Config) validateDashboard(add addFunc) {
	if tz := c.Dashboard.TimeZone; tz != "local" && tz != "utc" {
		add([]string{"dashboard", "time_zone"}, -1, "expected \"local\" or \"utc\", got %q", tz)
	}
	th := c.Thresholds
	if th.LoadWarnPerCPU <= 0 {
		add([]string{"thresholds", "load_warn_per_cpu"}, -1, "expected a positive number, got %v", th.LoadWarnPerCPU)
	}
	if th.LoadCritPerCPU <= th.LoadWarnPerCPU {
		add([]string{"thresholds", "load_crit_per_cpu"}, -1, "expected more than load_warn_per_cpu (%v), got %v", th.LoadWarnPerCPU, th.LoadCritPerCPU)
	}
}

func (c *Config) validateFeeds(add addFunc) {
	names := map[string]bool{}
	for i, f := range c.Feeds {
		if f.Name == "" {
			add([]string{"feeds", "name"}, i, "feed %d needs a name", i+1)
		} else if names[f.Name] {
			add([]string{"feeds", "name"}, i, "feed name %q used twice", f.Name)
		}
		names[f.Name] = true
		switch {
		case f.URL == "" && len(f.URLs) == 0:
			add([]string{"feeds", "url"}, i, "feed %d needs url (one hub) or urls (a cluster's hubs)", i+1)
		case f.URL != "" && !feedURL(f.URL):
			add([]string{"feeds", "url"}, i, "expected a ws:// or wss:// URL, got %q", f.URL)
		}
		for _, u := range f.URLs {
			if !feedURL(u) {
				add([]string{"feeds", "urls"}, i, "expected ws:// or wss:// URLs, got %q", u)
			}
		}
		if f.TokenEnv != "" && !envName(f.TokenEnv) {
			add([]string{"feeds", "token_env"}, i, "expected the name of an environment variable (the token itself never goes in this file), got %q", f.TokenEnv)
		}
	}
}

// validate checks [serve]'s own keys.
func (s Serve) validate(add addFunc) {
	if err := checkPort(s.Listen); err != nil {
		add([]string{"serve", "listen"}, -1, "expected host:port with a port from 0 to 65535, got %q", s.Listen)
	}
	if !strings.HasPrefix(s.Path, "/") {
		add([]string{"serve", "path"}, -1, "expected a path starting with /, got %q", s.Path)
	}
	if s.Interval.Duration < 100*time.Millisecond {
		add([]string{"serve", "interval"}, -1, "expected at least 100ms, got %s", s.Interval)
	}
	if s.ReplayWindow.Duration < time.Minute {
		add([]string{"serve", "replay_window"}, -1, "expected at least 1m, got %s", s.ReplayWindow)
	}
	if p := s.LoadPace.Duration; p != 0 && (p < 10*time.Millisecond || p > time.Minute) {
		add([]string{"serve", "load_pace"}, -1, "expected 0 (each sample at once) or 10ms to 1m, got %s", s.LoadPace)
	}
	if s.JournalSegmentMiB < 1 || s.JournalSegmentMiB > 4096 {
		add([]string{"serve", "journal_segment_mib"}, -1, "expected 1 to 4096 (MiB), got %d", s.JournalSegmentMiB)
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		add([]string{"serve", "tls_cert"}, -1, "tls_cert and tls_key go together")
	}
	if s.RequireToken && len(s.TokenEnv) == 0 {
		add([]string{"serve", "require_token"}, -1, "require_token needs token_env")
	}
	for _, name := range s.TokenEnv {
		if !envName(name) || name == "" {
			add([]string{"serve", "token_env"}, -1, "expected names of environment variables (tokens never go in this file), got %q", name)
		}
	}
}

func (s Serve) validateCluster(add addFunc) {
	cl := s.Cluster
	if cl.Name == "" && cl.Listen == "" && len(cl.Peers) == 0 {
		return
	}
	key := func(k string) []string { return []string{"serve", "cluster", k} }
	if cl.Name == "" {
		add(key("name"), -1, "a cluster needs a name, the same on every hub")
	}
	if err := checkPort(cl.Listen); err != nil {
		add(key("listen"), -1, "expected this hub's route address as host:port, got %q", cl.Listen)
	}
	if len(cl.Peers) < 2 {
		add(key("peers"), -1, "expected the route addresses of the other hubs, at least 2 (a cluster of 3 survives one hub's loss; of 2, none), got %d", len(cl.Peers))
	}
	for _, p := range cl.Peers {
		if err := checkPort(p); err != nil || p == cl.Listen {
			add(key("peers"), -1, "expected another hub's host:port, got %q", p)
		}
	}
	if cl.CommitTimeout.Duration < 100*time.Millisecond {
		add(key("commit_timeout"), -1, "expected at least 100ms, got %s", cl.CommitTimeout)
	}
}

func (s Serve) validateSSH(add addFunc) {
	ssh := s.SSH
	if ssh == nil {
		return
	}
	key := func(k string) []string { return []string{"serve", "ssh", k} }
	if err := checkPort(ssh.Listen); err != nil {
		add(key("listen"), -1, "expected host:port with a port from 0 to 65535, got %q", ssh.Listen)
	}
	if ssh.AuthorizedKeys == "" {
		add(key("authorized_keys"), -1, "[serve.ssh] needs an authorized_keys file (OpenSSH format; each key's comment is the responder's name)")
	}
	if ssh.IdleTimeout.Duration < 0 {
		add(key("idle_timeout"), -1, "cannot be negative (0 never ends an idle session), got %s", ssh.IdleTimeout)
	}
	if ssh.MaxTimeout.Duration < 0 {
		add(key("max_timeout"), -1, "cannot be negative (0 is no limit), got %s", ssh.MaxTimeout)
	}
}

func (s Serve) validateChecks(add addFunc) {
	names := map[string]bool{}
	for i, ch := range s.Checks {
		key := func(k string) []string { return []string{"serve", "checks", k} }
		if ch.Name == "" {
			add(key("name"), i, "check %d needs a name", i+1)
		} else if names[ch.Name] {
			add(key("name"), i, "check name %q used twice", ch.Name)
		}
		names[ch.Name] = true
		ch.validateTarget(func(k string, format string, args ...any) { add(key(k), i, format, args...) })
		if ch.Every.Duration < 0 || ch.Timeout.Duration < 0 || ch.Rise < 0 || ch.Fall < 0 {
			add(key("every"), i, "every, timeout, rise and fall cannot be negative")
		}
	}
}

func (ch Check) validateTarget(add func(key string, format string, args ...any)) {
	switch ch.Type {
	case "tcp":
		if err := checkPort(ch.Target); err != nil {
			add("target", "a tcp check needs host:port, got %q", ch.Target)
		}
	case "http":
		if u, err := url.Parse(ch.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			add("target", "an http check needs an http:// or https:// URL, got %q", ch.Target)
		}
	case "process", "command":
		if strings.TrimSpace(ch.Target) == "" {
			add("target", "a %s check needs a target", ch.Type)
		}
	case "tls", "domain", "dns": // validateDeadlineChecks says
	default:
		add("type", "expected tcp, http, process, command, tls, domain or dns, got %q", ch.Type)
	}
}

func (c *Config) validateRunbooks(add addFunc) {
	book := incident.Defaults()
	step := 0 // [[runbooks.steps]] elements are counted across runbooks
	for i, rb := range c.Runbooks {
		first := step
		step += len(rb.Steps)
		if bad := rb.stepLimits(func(key string, j int, err error) {
			add([]string{"runbooks", "steps", key}, first+j, "runbook %q: %v", rb.Kind, err)
		}); bad {
			continue
		}
		if rb.Kind == "" {
			add([]string{"runbooks", "kind"}, i, "runbook %d needs a kind", i+1)
			continue
		}
		if err := book.Merge(rb.Kind, rb.steps(), rb.Replace); err != nil {
			add([]string{"runbooks", "steps"}, i, "%v", err)
		}
		for j, st := range rb.Steps {
			if err := checkTemplate(st, c.Serve.Site("").Components); err != nil {
				add([]string{"runbooks", "steps", "template"}, first+j, "runbook %q: %v", rb.Kind, err)
			}
		}
	}
}
