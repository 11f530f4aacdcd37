// Package config reads vigil's TOML configuration: the dashboard, its
// feeds, the feed server and runbooks. Every error names the file, the line
// and the key, and what was expected.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/level"
	"github.com/vigil-oncall/vigil/feeds/probe"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Duration is a Go duration written as a string: "5s", "1h30m".
type Duration struct{ time.Duration }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("expected a duration like \"5s\" or \"1h30m\", got %q", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText writes the short form a person would: "10m", not "10m0s".
func (d Duration) MarshalText() ([]byte, error) {
	s := d.String()
	s = strings.TrimSuffix(s, "m0s")
	if s != d.String() {
		s += "m"
	}
	if t := strings.TrimSuffix(s, "h0m"); t != s {
		s = t + "h"
	}
	return []byte(s), nil
}

// Config is the whole file.
type Config struct {
	Dashboard  Dashboard  `toml:"dashboard"`
	Thresholds Thresholds `toml:"thresholds"`
	Feeds      []Feed     `toml:"feeds"`
	Serve      Serve      `toml:"serve"`
	Runbooks   []Runbook  `toml:"runbooks"`

	// Path is the file this came from; empty for defaults.
	Path string `toml:"-"`
	// loc finds a key's line in Path, for errors found after Parse.
	loc *locator
	// serves says the file has a [serve] table: check-config then checks
	// what vigil serve would.
	serves bool
}

// Dashboard configures the vigil dashboard.
type Dashboard struct {
	Actor    string `toml:"actor"`
	Bell     bool   `toml:"bell"`
	TimeZone string `toml:"time_zone"` // "local" or "utc"
	Support  string `toml:"support"`   // how customers reach support, for drafts
	StateDir string `toml:"state_dir"`
	Mouse    bool   `toml:"mouse"` // wheel and clicks; off leaves the mouse to the terminal
}

// Thresholds are load-per-CPU levels.
type Thresholds struct {
	LoadWarnPerCPU float64 `toml:"load_warn_per_cpu"`
	LoadCritPerCPU float64 `toml:"load_crit_per_cpu"`
}

// Level returns the thresholds as the one rule hub and dashboard share.
func (t Thresholds) Level() level.Thresholds {
	return level.Thresholds{WarnPerCPU: t.LoadWarnPerCPU, CritPerCPU: t.LoadCritPerCPU}
}

// Feed is one feed the dashboard subscribes to.
type Feed struct {
	Name string `toml:"name"`
	URL  string `toml:"url"`
	// URLs are the hubs of one cluster, tried in turn (after URL, if set).
	URLs     []string `toml:"urls,omitempty"`
	TokenEnv string   `toml:"token_env"`
	CAFile   string   `toml:"ca_file"`
}

// Serve configures vigil serve.
type Serve struct {
	Name         string   `toml:"name"`
	Host         string   `toml:"host"`
	Listen       string   `toml:"listen"`
	Path         string   `toml:"path"`
	DataDir      string   `toml:"data_dir"`
	Interval     Duration `toml:"interval"`
	ProbeLoad    bool     `toml:"probe_load"`
	TokenEnv     []string `toml:"token_env"`
	RequireToken bool     `toml:"require_token"`
	TLSCert      string   `toml:"tls_cert"`
	TLSKey       string   `toml:"tls_key"`
	Checks       []Check  `toml:"checks"`
	Evidence     Evidence `toml:"evidence"`
	SSH          *SSH     `toml:"ssh"`
	// ReplayWindow: a fresh subscriber gets every entry this far back,
	// before it only open incidents' entries and each incident's newest
	// frame (older ones on request, by history).
	ReplayWindow Duration `toml:"replay_window"`
	// JournalSegmentMiB: the journal starts a new segment file past this
	// size.
	JournalSegmentMiB int64 `toml:"journal_segment_mib"`
	// LoadPace: each subscriber is sent the load samples that came in
	// meanwhile (the newest per host) this often, on the clock's turn; 0
	// sends each sample as it comes.
	LoadPace Duration `toml:"load_pace"`
	// RDAPBootstrap: where domain checks learn a TLD's RDAP server.
	RDAPBootstrap string `toml:"rdap_bootstrap"`

	// Telling customers: the status page, its public components, and the
	// channels a publish goes to.
	Status     Status      `toml:"status"`
	Components []Component `toml:"components"`
	Channels   []Channel   `toml:"channels"`
	// Customers and SLA: who the customers are and what their plans
	// promise.
	Customers Customers `toml:"customers"`
	SLA       []SLA     `toml:"sla"`

	// The fleet: Report makes this server an agent of a hub; Agents,
	// Scrape and Alertmanager are what a hub takes reports from.
	Report       *Report       `toml:"report"`
	Agents       []AgentGrant  `toml:"agents"`
	Scrape       []Scrape      `toml:"scrape"`
	Alertmanager *Alertmanager `toml:"alertmanager"`
	// History: where load history comes from ([serve.history]).
	History *History `toml:"history"`
	// Cluster, with a name, makes this hub one of a cluster holding one
	// journal (a replicated JetStream stream) instead of a file.
	Cluster Cluster `toml:"cluster"`

	// Paging: who is woken for what (paging.go).
	Paging      *Paging      `toml:"paging"`
	People      []Person     `toml:"people"`
	Rotations   []Rotation   `toml:"rotations"`
	Escalations []Escalation `toml:"escalations"`
}

// Cluster is [serve.cluster]: this hub's embedded nats-server and its
// peers.
type Cluster struct {
	Name   string   `toml:"name"`
	Listen string   `toml:"listen"` // this hub's route address
	Peers  []string `toml:"peers"`  // the other hubs' route addresses
	// CommitTimeout: how long a command waits for a majority before it
	// is refused (nack unavailable).
	CommitTimeout Duration `toml:"commit_timeout"`
	// TLSCert, TLSKey and TLSCA make the routes between hubs mutual TLS
	// under one CA (RouteTLS).
	TLSCert string `toml:"tls_cert"`
	TLSKey  string `toml:"tls_key"`
	TLSCA   string `toml:"tls_ca"`
	// Lease: how long a hub owns work it does for all (a scrape target)
	// without renewing; its loss moves the work within it.
	Lease Duration `toml:"lease"`
}

// Report sends this host's load and checks to a hub instead of serving
// them: the agent role. Several URLs are one cluster's hubs, tried in turn.
type Report struct {
	URLs     []string `toml:"urls"`
	TokenEnv string   `toml:"token_env"`
	CAFile   string   `toml:"ca_file"`
}

// Reporting reports whether the server is an agent.
func (s Serve) Reporting() bool { return s.Report != nil && len(s.Report.URLs) > 0 }

// AgentGrant lets the holder of a token report for hosts matching globs.
type AgentGrant struct {
	TokenEnv string   `toml:"token_env"`
	Hosts    []string `toml:"hosts"`
}

// Scrape is one Prometheus node_exporter a hub reads a host's load from.
type Scrape struct {
	Host  string   `toml:"host"`
	URL   string   `toml:"url"`
	Every Duration `toml:"every"`
}

// WithDefaults returns the scrape with its interval filled in.
func (sc Scrape) WithDefaults() Scrape {
	if sc.Every.Duration == 0 {
		sc.Every.Duration = 15 * time.Second
	}
	return sc
}

// Alertmanager, when present, makes a hub take Alertmanager's webhook at
// POST /alertmanager, with a bearer token if TokenEnv names one.
type Alertmanager struct {
	TokenEnv string `toml:"token_env"`
}

// SSH configures the dashboard the hub serves over SSH, [serve.ssh]; nil
// (no such table) serves none.
type SSH struct {
	Listen         string   `toml:"listen"`
	HostKey        string   `toml:"host_key"`        // created (ed25519) if missing
	AuthorizedKeys string   `toml:"authorized_keys"` // OpenSSH format; the comment is the responder's name
	ReadOnlyKeys   string   `toml:"read_only_keys"`  // keys that may watch but not act
	IdleTimeout    Duration `toml:"idle_timeout"`    // no keypress this long ends a session; 0: never
	MaxTimeout     Duration `toml:"max_timeout"`     // a session's longest life; 0: no limit
}

// SSH defaults, for the keys a [serve.ssh] table leaves out.
const (
	DefaultSSHListen      = "0.0.0.0:2222"
	DefaultSSHIdleTimeout = 30 * time.Minute
	SSHHostKeyName        = "ssh_host_ed25519_key" // in data_dir unless host_key says
)

func (c *Config) sshDefaults(md toml.MetaData) {
	s := c.Serve.SSH
	if s == nil {
		return
	}
	if !md.IsDefined("serve", "ssh", "listen") {
		s.Listen = DefaultSSHListen
	}
	if !md.IsDefined("serve", "ssh", "idle_timeout") {
		s.IdleTimeout.Duration = DefaultSSHIdleTimeout
	}
	if s.HostKey == "" {
		s.HostKey = filepath.Join(c.Serve.DataDir, SSHHostKeyName)
	}
}

// Check is one service check of vigil serve.
type Check struct {
	Name    string   `toml:"name"`
	Type    string   `toml:"type"`
	Target  string   `toml:"target"`
	Expect  int      `toml:"expect,omitzero"` // http: the status wanted, default 200
	Every   Duration `toml:"every"`
	Timeout Duration `toml:"timeout"`
	Rise    int      `toml:"rise"`
	Fall    int      `toml:"fall"`
	DeadlineKeys
}

// Runbook replaces or extends a runbook.
type Runbook struct {
	Kind    string `toml:"kind"`
	Replace bool   `toml:"replace"`
	Steps   []Step `toml:"steps"`
}

// Step is one runbook step.
type Step struct {
	ID       string    `toml:"id"`
	Title    string    `toml:"title"`
	Hint     string    `toml:"hint"`
	Due      *Duration `toml:"due"`
	Every    *Duration `toml:"every"`
	After    string    `toml:"after"`
	Template string    `toml:"template"`
}

// Default returns the configuration used when there is no file.
func Default() Config {
	return Config{
		Dashboard:  Dashboard{Bell: true, TimeZone: "local", Mouse: true},
		Thresholds: Thresholds{LoadWarnPerCPU: level.Defaults().WarnPerCPU, LoadCritPerCPU: level.Defaults().CritPerCPU},
		Serve: Serve{
			Listen: "127.0.0.1:7070", Path: "/feed", DataDir: "/var/lib/vigil",
			Interval: Duration{5 * time.Second}, ProbeLoad: true,
			ReplayWindow: Duration{24 * time.Hour}, JournalSegmentMiB: 64, LoadPace: Duration{time.Second},
			Evidence: Evidence{Processes: probe.DefaultEvidenceProcesses},
			Status:   Status{History: Duration{DefaultStatusHistory}, Uptime: DefaultUptime()},
			Cluster:  Cluster{CommitTimeout: Duration{5 * time.Second}, Lease: Duration{10 * time.Second}},
		},
	}
}

// Error is a configuration error at a place in a file.
type Error struct {
	File string
	Line int // 0 when unknown
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// Errors is every error found in one file.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Locate finds the file to read: --config, then $VIGIL_CONFIG, then
// $XDG_CONFIG_HOME/vigil/config.toml (default ~/.config/vigil/config.toml).
// explicit says the user named it, so its absence is an error.
func Locate(flagPath string, getenv func(string) string) (path string, explicit bool) {
	if flagPath != "" {
		return flagPath, true
	}
	if p := getenv("VIGIL_CONFIG"); p != "" {
		return p, true
	}
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			return "", false
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "vigil", "config.toml"), false
}

// Load reads the configuration at path. A missing file that was not asked
// for explicitly yields the defaults and found=false.
func Load(path string, explicit bool) (cfg Config, found bool, err error) {
	cfg = Default()
	if path == "" {
		return cfg, false, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return cfg, false, nil
	}
	if err != nil {
		return cfg, false, &Error{File: path, Msg: err.Error()}
	}
	cfg, err = Parse(path, string(data))
	return cfg, true, err
}

// decodeErr is the shape of BurntSushi/toml's type errors, which carry
// their line and key only in the text.
var decodeErr = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]+)"\): (.*)$`)

// Parse decodes and validates a configuration held in src.
func Parse(path, src string) (Config, error) {
	cfg := Default()
	cfg.Path = path
	md, err := toml.Decode(src, &cfg)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return cfg, Errors{{File: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}}
		}
		if m := decodeErr.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return cfg, Errors{{File: path, Line: line, Key: m[2], Msg: m[3]}}
		}
		return cfg, Errors{{File: path, Msg: err.Error()}}
	}
	cfg.sshDefaults(md)
	loc := newLocator(src)
	cfg.loc = loc
	cfg.serves = md.IsDefined("serve")
	var errs Errors
	for _, k := range md.Undecoded() {
		errs = append(errs, &Error{File: path, Line: loc.line(k), Key: k.String(), Msg: "unknown key (see config.toml.example for every key)"})
	}
	errs = append(errs, cfg.validate(loc)...)
	if len(errs) > 0 {
		return cfg, errs
	}
	return cfg, nil
}

// feedURL reports whether s is a URL a dashboard can subscribe to.
func feedURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "ws" || u.Scheme == "wss") && u.Host != ""
}

// stepLimits reports each step field past the protocol's limits (an
// incident declared from the runbook must fit them), with the step's
// index in the runbook; it says whether there was any.
func (rb Runbook) stepLimits(report func(key string, index int, err error)) bool {
	bad := false
	for j, s := range rb.Steps {
		for _, c := range []struct {
			key string
			err error
		}{
			{"id", protocol.CheckID("step id", s.ID)},
			{"title", protocol.CheckText("title", s.Title, protocol.MaxTitleBytes)},
			{"hint", protocol.CheckText("hint", s.Hint, protocol.MaxTextBytes)},
			{"template", protocol.CheckText("template", s.Template, protocol.MaxTextBytes)},
		} {
			if c.err != nil && !(c.key == "id" && s.ID == "") { // a missing id is Merge's to say
				report(c.key, j, c.err)
				bad = true
			}
		}
	}
	return bad
}

func (rb Runbook) steps() []incident.Step {
	out := make([]incident.Step, len(rb.Steps))
	for i, s := range rb.Steps {
		out[i] = incident.Step{ID: s.ID, Title: s.Title, Hint: s.Hint, After: s.After, Template: s.Template}
		if out[i].Title == "" {
			out[i].Title = s.ID
		}
		if s.Due != nil {
			v := s.Due.Duration
			out[i].Due = &v
		}
		if s.Every != nil {
			v := s.Every.Duration
			out[i].Every = &v
		}
	}
	return out
}

// Book returns the runbooks: the built-in ones with the configured ones
// applied.
func (c *Config) Book() incident.Book {
	b := incident.Defaults()
	for _, rb := range c.Runbooks {
		b.Merge(rb.Kind, rb.steps(), rb.Replace) // validated by Parse
	}
	return b
}

// Check returns a check with its defaults filled in.
func (ch Check) WithDefaults() Check {
	ch = ch.deadlineDefaults()
	if ch.Type == "http" && ch.Expect == 0 {
		ch.Expect = 200
	}
	if ch.Every.Duration == 0 {
		ch.Every.Duration = 10 * time.Second
	}
	if ch.Timeout.Duration == 0 {
		ch.Timeout.Duration = min(5*time.Second, ch.Every.Duration)
	}
	if ch.Rise == 0 {
		ch.Rise = 2
	}
	if ch.Fall == 0 {
		ch.Fall = 3
	}
	return ch
}

// Actor is who ticks and notes: the configured actor, else $USER.
func (c *Config) Actor(getenv func(string) string) string {
	if c.Dashboard.Actor != "" {
		return c.Dashboard.Actor
	}
	if u := getenv("USER"); u != "" {
		return u
	}
	return "responder"
}

// StateDir is where the dashboard keeps its outbox.
func (c *Config) StateDir(getenv func(string) string) string {
	if c.Dashboard.StateDir != "" {
		return c.Dashboard.StateDir
	}
	if x := getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "vigil")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "state", "vigil")
	}
	return filepath.Join(os.TempDir(), "vigil-state")
}

// Probe returns the check, its defaults filled in, as feeds/probe runs it.
// A domain check asks IANA's registry for its RDAP server by itself; a
// server's checks share one registry by ProbeWith.
func (ch Check) Probe() probe.Check { return ch.ProbeWith(nil) }

// HostName is the host this server reports for: [serve] host, else
// hostname.
func (s Serve) HostName(hostname string) string {
	if s.Host != "" {
		return s.Host
	}
	return hostname
}

// CheckFeedURL is feedURL's rule for a URL given outside the file, on the
// command line as --feed.
func CheckFeedURL(u string) error {
	if !feedURL(u) {
		return &Error{File: "--feed", Msg: fmt.Sprintf("expected a ws:// or wss:// URL, got %q", u)}
	}
	return nil
}
