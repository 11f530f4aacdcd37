package config

// Resolved returns the configuration as it is used: every default that is
// applied later (a check's every, timeout, rise and fall; a scrape's
// every; the actor; the state directory; the server's name and host, from
// hostname) filled in, so check-config shows `every = "10s"` rather than
// the "0s" that means "the default".
func (c Config) Resolved(getenv func(string) string, hostname string) Config {
	out := c
	out.Dashboard.Actor = c.Actor(getenv)
	out.Dashboard.StateDir = c.StateDir(getenv)
	if out.Serve.Name == "" {
		out.Serve.Name = hostname
	}
	if out.Serve.Host == "" {
		out.Serve.Host = hostname
	}
	out.Serve.Checks = make([]Check, len(c.Serve.Checks))
	for i, ch := range c.Serve.Checks {
		out.Serve.Checks[i] = ch.WithDefaults()
	}
	if len(c.Serve.Checks) == 0 {
		out.Serve.Checks = nil
	}
	if len(c.Serve.Scrape) > 0 {
		out.Serve.Scrape = make([]Scrape, len(c.Serve.Scrape))
		for i, sc := range c.Serve.Scrape {
			out.Serve.Scrape[i] = sc.WithDefaults()
		}
	}
	return out
}
