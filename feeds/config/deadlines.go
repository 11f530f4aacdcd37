package config

import (
	"net"
	"os"
	"regexp"
	"slices"
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
	if s.RDAPBootstrap != "" && !httpURL(s.RDAPBootstrap) {
		add([]string{"serve", "rdap_bootstrap"}, -1, "expected an http:// or https:// URL, got %q", s.RDAPBootstrap)
	}
	for i, ch := range s.Checks {
		at := add.at(i, "serve", "checks")
		ch.validateDeadlineKeyTypes(at)
		switch ch.Type {
		case "tls":
			ch.validateTLSTarget(at)
		case "domain":
			ch.validateDomain(at)
		case "dns":
			ch.validateDNS(at)
		}
		ch.validateExpiryDays(at)
		ch.validateCAFile(at)
		ch.validateExpectBody(at)
	}
}

// deadlineKeyTypes are the check types that take each deadline key, in the
// order a check's misplaced keys are reported.
var deadlineKeyTypes = []struct {
	key   string
	set   func(DeadlineKeys) bool
	types []string
}{
	{"server_name", func(k DeadlineKeys) bool { return k.ServerName != "" }, []string{"tls", "http"}},
	{"ca_file", func(k DeadlineKeys) bool { return k.CAFile != "" }, []string{"tls", "http"}},
	{"warn_days", func(k DeadlineKeys) bool { return k.WarnDays != 0 }, []string{"tls", "http", "domain"}},
	{"crit_days", func(k DeadlineKeys) bool { return k.CritDays != 0 }, []string{"tls", "http", "domain"}},
	{"rdap", func(k DeadlineKeys) bool { return k.RDAP != "" }, []string{"domain"}},
	{"record", func(k DeadlineKeys) bool { return k.Record != "" }, []string{"dns"}},
	{"server", func(k DeadlineKeys) bool { return k.Server != "" }, []string{"dns"}},
	{"answer", func(k DeadlineKeys) bool { return len(k.Answer) > 0 }, []string{"dns"}},
	{"expect_body", func(k DeadlineKeys) bool { return k.ExpectBody != "" }, []string{"http"}},
}

func (ch Check) validateDeadlineKeyTypes(at addAt) {
	for _, k := range deadlineKeyTypes {
		if k.set(ch.DeadlineKeys) && !slices.Contains(k.types, ch.Type) {
			at(k.key, "only a %s check takes %s", strings.Join(k.types, " or "), k.key)
		}
	}
}

func (ch Check) validateTLSTarget(at addAt) {
	if host, port, err := net.SplitHostPort(ch.Target); err != nil || host == "" || port == "" {
		at("target", "a tls check needs host:port (\"shop.example.com:443\"), got %q", ch.Target)
	}
}

func (ch Check) validateDomain(at addAt) {
	if !domainName(ch.Target) || !strings.Contains(ch.Target, ".") {
		at("target", "a domain check needs a registered domain (\"example.com\"), got %q", ch.Target)
	}
	if ch.RDAP != "" && !httpURL(ch.RDAP) {
		at("rdap", "expected the registry's RDAP base URL (https://rdap.example/), got %q", ch.RDAP)
	}
}

func (ch Check) validateDNS(at addAt) {
	if !domainName(ch.Target) {
		at("target", "a dns check needs a name (\"shop.example.com\"), got %q", ch.Target)
	}
	if _, ok := probe.DNSRecords[strings.ToUpper(ch.Record)]; !ok {
		at("record", "expected A, AAAA, CNAME, MX, TXT or NS, got %q", ch.Record)
	}
	if ch.Server != "" {
		if _, _, err := net.SplitHostPort(ch.Server); err != nil {
			at("server", "expected the DNS server as host:port (\"127.0.0.1:53\"), got %q", ch.Server)
		}
	}
	for _, a := range ch.Answer {
		if bad := badAnswer(strings.ToUpper(ch.Record), a); bad != "" {
			at("answer", "%q is not %s", a, bad)
		}
	}
}

// validateExpiryDays checks the thresholds of a check that watches an
// expiry, its defaults filled in.
func (ch Check) validateExpiryDays(at addAt) {
	if ch.Type != "tls" && ch.Type != "http" && ch.Type != "domain" {
		return
	}
	c := ch.deadlineDefaults()
	if c.WarnDays < 0 || c.CritDays < 0 || c.CritDays >= c.WarnDays {
		at("crit_days", "expected 0 <= crit_days < warn_days (days before expiry), got crit_days %d, warn_days %d", c.CritDays, c.WarnDays)
	}
}

func (ch Check) validateCAFile(at addAt) {
	if ch.CAFile == "" {
		return
	}
	if pem, err := os.ReadFile(ch.CAFile); err != nil {
		at("ca_file", "cannot read: %v", err)
	} else if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		at("ca_file", "%s holds no PEM certificate", ch.CAFile)
	}
}

// validateExpectBody compiles an expect_body written as /regexp/; any
// other is a plain substring.
func (ch Check) validateExpectBody(at addAt) {
	if re, ok := strings.CutPrefix(ch.ExpectBody, "/"); ok && len(re) > 0 && strings.HasSuffix(re, "/") {
		if _, err := regexp.Compile(strings.TrimSuffix(re, "/")); err != nil {
			at("expect_body", "a /regexp/ that does not compile: %v", err)
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
