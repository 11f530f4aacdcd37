package config

import (
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
)

// Status configures the hub's public status page.
type Status struct {
	Name    string   `toml:"name"`    // default: [serve] name
	URL     string   `toml:"url"`     // public base URL: links in emails, Atom ids
	History Duration `toml:"history"` // how long resolved incidents stay listed
	// Subscriptions offers email sign-up on the page and makes channel
	// "subscribers"; Email names the email channel whose relay and from
	// it uses (default: the first email channel).
	Subscriptions bool   `toml:"subscriptions"`
	Email         string `toml:"email"`
	// Uptime says how component states count in the uptime bars.
	Uptime Uptime `toml:"uptime"`
}

// DefaultStatusHistory is 90 days.
const DefaultStatusHistory = 90 * 24 * time.Hour

// Component is a public component of the status page.
type Component struct {
	ID       string   `toml:"id"`
	Name     string   `toml:"name"`
	Hosts    []string `toml:"hosts"`
	Services []string `toml:"services"`
	// Auto sets the component degraded or partially out from its hosts
	// and services (globs) while no incident a responder declared names it.
	Auto bool `toml:"auto"`
}

// Channel is where a publish goes besides the status page: email or a
// webhook. Secrets are read from the named environment variables only.
type Channel struct {
	Name string `toml:"name"`
	Type string `toml:"type"` // email | webhook

	// email
	SMTP        string   `toml:"smtp"` // host:port
	TLS         string   `toml:"tls"`  // starttls | tls | none
	UsernameEnv string   `toml:"username_env"`
	PasswordEnv string   `toml:"password_env"`
	From        string   `toml:"from"`
	To          []string `toml:"to"`

	// webhook
	URL       string `toml:"url"`
	Format    string `toml:"format"` // slack | json
	SecretEnv string `toml:"secret_env"`

	// customers: the email channel whose relay and from it uses, and how
	// many messages a second it sends.
	Email     string  `toml:"email"`
	PerSecond float64 `toml:"per_second"`
}

// WithDefaults fills in the defaults of a channel: tls starttls, format
// slack.
func (ch Channel) WithDefaults() Channel {
	if ch.Type == "email" && ch.TLS == "" {
		ch.TLS = "starttls"
	}
	if ch.Type == "webhook" && ch.Format == "" {
		ch.Format = "slack"
	}
	return ch
}

func envName(s string) bool {
	return s == "" || !strings.ContainsAny(s, "= $\t")
}

func (c *Config) validatePublish(add func(key []string, index int, format string, args ...any)) {
	s := c.Serve
	if u := s.Status.URL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			add([]string{"serve", "status", "url"}, -1, "expected the page's public http:// or https:// URL, got %q", u)
		}
	}
	if s.Status.History.Duration <= 0 {
		add([]string{"serve", "status", "history"}, -1, "expected a positive duration like \"2160h\" (90 days), got %s", s.Status.History)
	}
	ids := map[string]bool{}
	for i, comp := range s.Components {
		key := func(k string) []string { return []string{"serve", "components", k} }
		if err := protocol.CheckID("id", comp.ID); err != nil {
			add(key("id"), i, "component %d: %v", i+1, err)
		} else if ids[comp.ID] {
			add(key("id"), i, "component id %q used twice", comp.ID)
		}
		ids[comp.ID] = true
		if strings.TrimSpace(comp.Name) == "" {
			add(key("name"), i, "component %q needs a name customers know it by", comp.ID)
		}
	}
	names := map[string]bool{}
	for i, ch := range s.Channels {
		ch = ch.WithDefaults()
		key := func(k string) []string { return []string{"serve", "channels", k} }
		switch err := protocol.CheckID("name", ch.Name); {
		case err != nil:
			add(key("name"), i, "channel %d: %v", i+1, err)
		case ch.Name == protocol.ChannelPage:
			add(key("name"), i, "%q is the status page's own channel; choose another name", ch.Name)
		case names[ch.Name]:
			add(key("name"), i, "channel name %q used twice", ch.Name)
		}
		names[ch.Name] = true
		pagerMail := s.Paging != nil && s.Paging.Email == ch.Name && len(ch.To) == 0
		ch.validate(func(k string, format string, args ...any) {
			if pagerMail && k == "to" {
				return // the paging relay sends each page to the person's own address
			}
			add(key(k), i, format, args...)
		})
	}
}

// validate checks one channel's keys but its name; add records each error
// at its key.
func (ch Channel) validate(add func(key string, format string, args ...any)) {
	for _, env := range []struct{ k, v string }{{"username_env", ch.UsernameEnv}, {"password_env", ch.PasswordEnv}, {"secret_env", ch.SecretEnv}} {
		if !envName(env.v) {
			add(env.k, "expected the name of an environment variable (secrets never go in this file), got %q", env.v)
		}
	}
	switch ch.Type {
	case "email":
		ch.validateEmail(add)
	case "webhook":
		if p, err := url.Parse(ch.URL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			add("url", "a webhook channel needs an http:// or https:// URL, got %q", ch.URL)
		}
		if ch.Format != "slack" && ch.Format != "json" && ch.Format != "ntfy" {
			add("format", "expected slack, json or ntfy, got %q", ch.Format)
		}
		if ch.SMTP != "" || ch.From != "" || len(ch.To) > 0 || ch.TLS != "" || ch.UsernameEnv != "" {
			add("smtp", "smtp, tls, from, to and username_env are for email channels")
		}
	case ChannelCustomers: // validateCustomers
	default:
		add("type", "expected email, webhook or customers, got %q", ch.Type)
	}
}

func (ch Channel) validateEmail(add func(key string, format string, args ...any)) {
	if _, _, err := net.SplitHostPort(ch.SMTP); err != nil {
		add("smtp", "an email channel needs smtp = \"host:port\", got %q", ch.SMTP)
	}
	if ch.TLS != "starttls" && ch.TLS != "tls" && ch.TLS != "none" {
		add("tls", "expected starttls, tls or none, got %q", ch.TLS)
	}
	if _, err := mail.ParseAddress(ch.From); err != nil {
		add("from", "expected a sender address, got %q", ch.From)
	}
	if len(ch.To) == 0 {
		add("to", "an email channel needs at least one recipient")
	}
	for _, to := range ch.To {
		if _, err := mail.ParseAddress(to); err != nil {
			add("to", "expected a recipient address, got %q", to)
		}
	}
	if (ch.UsernameEnv == "") != (ch.PasswordEnv == "") {
		add("password_env", "username_env and password_env go together")
	}
	if ch.URL != "" || ch.SecretEnv != "" || ch.Format != "" {
		add("url", "url, format and secret_env are for webhook channels")
	}
}

// Site is the status page as configured; name defaults to fallback (the
// server's name).
func (s Serve) Site(fallback string) publish.Site {
	site := publish.Site{Name: s.Status.Name, URL: s.Status.URL, History: s.Status.History.Duration}
	if site.Name == "" {
		site.Name = fallback
	}
	for _, c := range s.Components {
		site.Components = append(site.Components, protocol.Component{ID: c.ID, Name: c.Name})
	}
	return site
}

// Senders builds each configured channel's sender, reading its secrets
// from the environment by the one rule, Secret.
func (c *Config) Senders(getenv func(string) string) (map[string]publish.Sender, error) {
	out := map[string]publish.Sender{}
	var errs Errors
	secret := func(i int, key, env string) string {
		v, err := c.Secret(getenv, []string{"serve", "channels", key}, i, env)
		if err != nil {
			errs = append(errs, err.(*Error))
		}
		return v
	}
	for i, ch := range c.Serve.Channels {
		ch = ch.WithDefaults()
		switch ch.Type {
		case "email":
			out[ch.Name] = &publish.Email{Name: ch.Name, Addr: ch.SMTP, TLS: ch.TLS,
				Username: secret(i, "username_env", ch.UsernameEnv), Password: secret(i, "password_env", ch.PasswordEnv),
				From: ch.From, To: append([]string(nil), ch.To...)}
		case "webhook":
			out[ch.Name] = &publish.Webhook{Name: ch.Name, URL: ch.URL, Format: ch.Format, Secret: secret(i, "secret_env", ch.SecretEnv)}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}
