package config

import "net/url"

// History says where a hub's load history comes from: its own store in
// data_dir (the default), or a Prometheus that already scrapes the fleet.
type History struct {
	// Prometheus, where set, is the base URL of a Prometheus whose
	// query_range API answers load history instead of the hub's store.
	Prometheus string `toml:"prometheus"`
}

// validateHistory checks [serve.history]; add records each error at its
// key.
func (c *Config) validateHistory(add func(key []string, index int, format string, args ...any)) {
	h := c.Serve.History
	if h == nil || h.Prometheus == "" {
		return
	}
	if u, err := url.Parse(h.Prometheus); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add([]string{"serve", "history", "prometheus"}, -1, "expected Prometheus's http:// or https:// base URL, like \"http://prom:9090\", got %q", h.Prometheus)
	}
}
