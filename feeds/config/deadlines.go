package config

import (
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"crypto/x509"

	"github.com/vigil-oncall/vigil/feeds/probe"
)

// DeadlineKeys are the keys of the checks that watch what expires (tls,
// domain, and https for http) and what DNS answers.
type DeadlineKeys struct {
	ServerName string   `toml:"server_name,omitempty"`
	CAFile     string   `toml:"ca_file,omitempty"`
	WarnDays   int      `toml:"warn_days,omitzero"`
	CritDays   int      `toml:"crit_days,omitzero"`
	RDAP       string   `toml:"rdap,omitempty"`
	Record     string   `toml:"record,omitempty"`
	Server     string   `toml:"server,omitempty"`
	Answer     []string `toml:"answer,omitempty"`
	ExpectBody string   `toml:"expect_body,omitempty"`
}

// Defaults of the deadline checks. A registration changes seldom and its
// registry is someone else's server: asked hourly, believed at once.
const (
	DefaultCertWarnDays   = 21
	DefaultCertCritDays   = 7
	DefaultDomainWarnDays = 30
	DefaultDomainCritDays = 7
	DefaultDomainEvery    = time.Hour
)

func (ch Check) deadlineDefaults() Check {
	warn, crit := DefaultCertWarnDays, DefaultCertCritDays
	switch ch.Type {
	case "domain":
		warn, crit = DefaultDomainWarnDays, DefaultDomainCritDays
		if ch.Every.Duration == 0 {
			ch.Every.Duration = DefaultDomainEvery
		}
		if ch.Rise == 0 {
			ch.Rise = 1
		}
		if ch.Fall == 0 {
			ch.Fall = 1
		}
		if ch.Timeout.Duration == 0 {
			ch.Timeout.Duration = 15 * time.Second
		}
	case "tls", "http":
	default:
		return ch
	}
	if ch.WarnDays == 0 {
		ch.WarnDays = warn
	}
	if ch.CritDays == 0 {
		ch.CritDays = crit
	}
	return ch
}

// ProbeWith returns the check as the probe runs it, its defaults filled
// in; boot is the RDAP registry every domain check of a server shares.
func (ch Check) ProbeWith(boot *probe.Bootstrap) probe.Check {
	ch = ch.WithDefaults()
	return probe.Check{
		Name: ch.Name, Type: ch.Type, Target: ch.Target, Expect: ch.Expect,
		Every: ch.Every.Duration, Timeout: ch.Timeout.Duration, Rise: ch.Rise, Fall: ch.Fall,
		Expiry:     probe.Expiry{WarnDays: ch.WarnDays, CritDays: ch.CritDays},
		TLS:        probe.TLS{ServerName: ch.ServerName, CAFile: ch.CAFile},
		DNS:        probe.DNS{Record: strings.ToUpper(ch.Record), Server: ch.Server, Answer: ch.Answer},
		ExpectBody: ch.ExpectBody, RDAP: ch.RDAP, Bootstrap: boot,
	}
}

// Bootstrap is the RDAP registry lookup of this server's domain checks.
func (s Serve) Bootstrap() *probe.Bootstrap {
	return &probe.Bootstrap{URL: s.RDAPBootstrap}
}

// validateDeadlineChecks checks the keys of tls, domain and dns checks,
// and the keys each other type must not carry.
func (s Serve) validateDeadlineChecks(add addFunc) {
	if s.RDAPBootstrap != "" {
		if u, err := url.Parse(s.RDAPBootstrap); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add([]string{"serve", "rdap_bootstrap"}, -1, "expected an http:// or https:// URL, got %q", s.RDAPBootstrap)
		}
	}
	for i, ch := range s.Checks {
		key := func(k string) []string { return []string{"serve", "checks", k} }
		k := ch.DeadlineKeys
		only := func(name string, set bool, types ...string) {
			for _, t := range types {
				if ch.Type == t {
					return
				}
			}
			if set {
				add(key(name), i, "only a %s check takes %s", strings.Join(types, " or "), name)
			}
		}
		only("server_name", k.ServerName != "", "tls", "http")
		only("ca_file", k.CAFile != "", "tls", "http")
		only("warn_days", k.WarnDays != 0, "tls", "http", "domain")
		only("crit_days", k.CritDays != 0, "tls", "http", "domain")
		only("rdap", k.RDAP != "", "domain")
		only("record", k.Record != "", "dns")
		only("server", k.Server != "", "dns")
		only("answer", len(k.Answer) > 0, "dns")
		only("expect_body", k.ExpectBody != "", "http")
		switch ch.Type {
		case "tls":
			if host, port, err := net.SplitHostPort(ch.Target); err != nil || host == "" || port == "" {
				add(key("target"), i, "a tls check needs host:port (\"shop.example.com:443\"), got %q", ch.Target)
			}
		case "domain":
			if !domainName(ch.Target) || !strings.Contains(ch.Target, ".") {
				add(key("target"), i, "a domain check needs a registered domain (\"example.com\"), got %q", ch.Target)
			}
			if k.RDAP != "" {
				if u, err := url.Parse(k.RDAP); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					add(key("rdap"), i, "expected the registry's RDAP base URL (https://rdap.example/), got %q", k.RDAP)
				}
			}
		case "dns":
			if !domainName(ch.Target) {
				add(key("target"), i, "a dns check needs a name (\"shop.example.com\"), got %q", ch.Target)
			}
			if _, ok := probe.DNSRecords[strings.ToUpper(k.Record)]; !ok {
				add(key("record"), i, "expected A, AAAA, CNAME, MX, TXT or NS, got %q", k.Record)
			}
			if k.Server != "" {
				if _, _, err := net.SplitHostPort(k.Server); err != nil {
					add(key("server"), i, "expected the DNS server as host:port (\"127.0.0.1:53\"), got %q", k.Server)
				}
			}
			for _, a := range k.Answer {
				if bad := badAnswer(strings.ToUpper(k.Record), a); bad != "" {
					add(key("answer"), i, "%q is not %s", a, bad)
				}
			}
		}
		if ch.Type == "tls" || ch.Type == "http" || ch.Type == "domain" {
			c := ch.deadlineDefaults()
			if c.WarnDays < 0 || c.CritDays < 0 || c.CritDays >= c.WarnDays {
				add(key("crit_days"), i, "expected 0 <= crit_days < warn_days (days before expiry), got crit_days %d, warn_days %d", c.CritDays, c.WarnDays)
			}
		}
		if k.CAFile != "" {
			if pem, err := os.ReadFile(k.CAFile); err != nil {
				add(key("ca_file"), i, "cannot read: %v", err)
			} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
				add(key("ca_file"), i, "%s holds no PEM certificate", k.CAFile)
			}
		}
		if re, ok := strings.CutPrefix(k.ExpectBody, "/"); ok && len(re) > 0 && strings.HasSuffix(re, "/") {
			if _, err := regexp.Compile(strings.TrimSuffix(re, "/")); err != nil {
				add(key("expect_body"), i, "a /regexp/ that does not compile: %v", err)
			}
		}
	}
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$`)

// domainName reports whether s is a DNS name of letters, digits and
// hyphens (an internationalised name is written in its xn-- form).
func domainName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !labelRE.MatchString(l) {
			return false
		}
	}
	return true
}

// badAnswer says what an expected answer of record type rec should be,
// or "" when it is one.
func badAnswer(rec, a string) string {
	a = strings.TrimSpace(a)
	switch rec {
	case "A":
		if ip := net.ParseIP(a); ip == nil || ip.To4() == nil {
			return "an IPv4 address"
		}
	case "AAAA":
		if ip := net.ParseIP(a); ip == nil || ip.To4() != nil {
			return "an IPv6 address"
		}
	case "CNAME", "NS":
		if !domainName(a) {
			return "a name"
		}
	case "MX":
		pref, host, ok := strings.Cut(a, " ")
		if !ok || !regexp.MustCompile(`^\d{1,5}$`).MatchString(pref) || !domainName(strings.TrimSpace(host)) {
			return "a preference and a name (\"10 mx.example.com\")"
		}
	}
	return ""
}

// ExpiryCheck is a check that watches an expiry, as the deadlines view
// lists it: the check's name, what expires, and its thresholds.
type ExpiryCheck struct {
	Service            string
	Kind               string // "certificate" or "domain"
	WarnDays, CritDays int
}

// ExpiryChecks are the checks of this server that watch an expiry: tls,
// domain, and http of an https URL. A service frame carries no date nor
// check type, so a dashboard learns them from here.
func (s Serve) ExpiryChecks() []ExpiryCheck {
	var out []ExpiryCheck
	for _, ch := range s.Checks {
		ch = ch.WithDefaults()
		kind := ""
		switch {
		case ch.Type == "tls", ch.Type == "http" && strings.HasPrefix(strings.ToLower(ch.Target), "https://"):
			kind = "certificate"
		case ch.Type == "domain":
			kind = "domain"
		default:
			continue
		}
		out = append(out, ExpiryCheck{Service: ch.Name, Kind: kind, WarnDays: ch.WarnDays, CritDays: ch.CritDays})
	}
	return out
}
