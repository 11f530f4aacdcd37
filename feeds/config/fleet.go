package config

import (
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// validateFleet checks [serve.report], [[serve.agents]], [[serve.scrape]]
// and [serve.alertmanager]; add records each error at its key.
func (c *Config) validateFleet(add func(key []string, index int, format string, args ...any)) {
	s := c.Serve
	envName := func(key []string, index int, v string, required bool) {
		switch {
		case v == "" && required:
			add(key, index, "expected the name of the environment variable holding the token")
		case strings.ContainsAny(v, "= $"):
			add(key, index, "expected the name of an environment variable (the token itself never goes in this file), got %q", v)
		}
	}
	if r := s.Report; r != nil {
		for _, u := range r.URLs {
			if !feedURL(u) {
				add([]string{"serve", "report", "urls"}, -1, "expected ws:// or wss:// URLs of the hub, got %q", u)
			}
		}
		envName([]string{"serve", "report", "token_env"}, -1, r.TokenEnv, len(r.URLs) > 0)
	}
	if s.Host != "" {
		if err := protocol.CheckID("host", s.Host); err != nil {
			add([]string{"serve", "host"}, -1, "%v", err)
		}
	}
	s.validateAgents(add, envName)
	s.validateScrape(add)
	if am := s.Alertmanager; am != nil {
		envName([]string{"serve", "alertmanager", "token_env"}, -1, am.TokenEnv, false)
	}
}

func (s Serve) validateScrape(add addFunc) {
	hosts := map[string]bool{}
	for i, sc := range s.Scrape {
		if err := protocol.CheckID("host", sc.Host); err != nil {
			add([]string{"serve", "scrape", "host"}, i, "%v", err)
		} else if hosts[sc.Host] {
			add([]string{"serve", "scrape", "host"}, i, "host %q scraped twice", sc.Host)
		}
		hosts[sc.Host] = true
		if u, err := url.Parse(sc.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add([]string{"serve", "scrape", "url"}, i, "expected node_exporter's http:// or https:// metrics URL, got %q", sc.URL)
		}
		if sc.Every.Duration != 0 && sc.Every.Duration < time.Second {
			add([]string{"serve", "scrape", "every"}, i, "expected at least 1s, got %s", sc.Every)
		}
	}
}

func (s Serve) validateAgents(add addFunc, envName func(key []string, index int, v string, required bool)) {
	for i, g := range s.Agents {
		envName([]string{"serve", "agents", "token_env"}, i, g.TokenEnv, true)
		if len(g.Hosts) == 0 {
			add([]string{"serve", "agents", "hosts"}, i, "expected the hosts (globs like \"web-*\") this token may report for")
		}
		for _, h := range g.Hosts {
			if _, err := path.Match(h, ""); err != nil || h == "" {
				add([]string{"serve", "agents", "hosts"}, i, "expected a glob like \"web-*\", got %q", h)
			}
		}
	}
}
