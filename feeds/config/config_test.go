package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/publish"
)

func TestExampleDecodes(t *testing.T) {
	cfg, found, err := Load("../../config.toml.example", true)
	if err != nil || !found {
		t.Fatalf("config.toml.example: %v", err)
	}
	if len(cfg.Feeds) != 1 || cfg.Feeds[0].URL != "ws://127.0.0.1:7070/feed" {
		t.Fatalf("feeds = %+v", cfg.Feeds)
	}
	if cfg.Serve.Interval.Duration != 5*time.Second || len(cfg.Serve.Checks) != 4 {
		t.Fatalf("serve = %+v", cfg.Serve)
	}
	if ssh := cfg.Serve.SSH; ssh == nil || ssh.Listen != DefaultSSHListen || ssh.IdleTimeout.Duration != DefaultSSHIdleTimeout || ssh.HostKey != filepath.Join(cfg.Serve.DataDir, SSHHostKeyName) {
		t.Fatalf("serve.ssh = %+v, want the defaults", ssh)
	}
	book := cfg.Book()
	steps := book["outage"].Steps
	if steps[len(steps)-1].ID != "war-room" || *steps[len(steps)-1].Due != 10*time.Minute {
		t.Fatalf("runbook not merged: %+v", steps[len(steps)-1])
	}
}

// The example's values are the defaults: a file that sets nothing means
// the same as the example's [dashboard], [thresholds] and [serve].
func TestExampleShowsTheDefaults(t *testing.T) {
	cfg, _, _ := Load("../../config.toml.example", true)
	def := Default()
	if cfg.Dashboard != def.Dashboard || cfg.Thresholds != def.Thresholds {
		t.Fatalf("example %+v %+v differs from defaults %+v %+v", cfg.Dashboard, cfg.Thresholds, def.Dashboard, def.Thresholds)
	}
	s := cfg.Serve
	if s.Listen != def.Serve.Listen || s.Path != def.Serve.Path || s.DataDir != def.Serve.DataDir || s.Interval != def.Serve.Interval || s.ProbeLoad != def.Serve.ProbeLoad {
		t.Fatalf("example serve %+v differs from defaults", s)
	}
	ch := cfg.Serve.Checks[0]
	if !reflect.DeepEqual(ch.WithDefaults(), ch) {
		t.Fatalf("example check %+v is not the defaults %+v", ch, ch.WithDefaults())
	}
}

func TestErrorsNameFileLineKey(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown key", "[dashboard]\nactor = \"a\"\nbel = true\n", "c.toml:3: dashboard.bel: unknown key"},
		{"unknown table", "[dashbord]\nactor = \"a\"\n", "c.toml:2: dashbord.actor: unknown key"},
		{"bad duration", "[serve]\ninterval = \"soon\"\n", "c.toml:2: serve.interval: expected a duration"},
		{"load pace", "[serve]\nload_pace = \"1ms\"\n", "c.toml:2: serve.load_pace: expected 0 (each sample at once) or 10ms to 1m, got 1ms"},
		{"wrong type", "[dashboard]\nbell = \"yes\"\n", "c.toml:2: dashboard.bell: incompatible types"},
		{"syntax", "[dashboard\n", "c.toml:2: expected '.' or ']'"},
		{"bad url", "[[feeds]]\nname = \"a\"\nurl = \"ws://ok/feed\"\n[[feeds]]\nname = \"b\"\nurl = \"http://x\"\n", "c.toml:6: feeds.url: expected a ws:// or wss:// URL"},
		{"bad cluster url", "[[feeds]]\nname = \"a\"\nurls = [\"ws://h1/feed\", \"http://h2\"]\n", "c.toml:3: feeds.urls: expected ws:// or wss:// URLs, got \"http://h2\""},
		{"no url", "[[feeds]]\nname = \"a\"\n", "c.toml:1: feeds.url: feed 1 needs url (one hub) or urls"},
		{"dup feed", "[[feeds]]\nname = \"a\"\nurl = \"ws://h/\"\n[[feeds]]\nname = \"a\"\nurl = \"ws://h/\"\n", "c.toml:5: feeds.name: feed name \"a\" used twice"},
		{"thresholds", "[thresholds]\nload_warn_per_cpu = 2.0\nload_crit_per_cpu = 1.0\n", "c.toml:3: thresholds.load_crit_per_cpu: expected more than"},
		{"cluster peers", "[serve.cluster]\nname = \"c\"\nlisten = \"10.0.0.5:6222\"\npeers = [\"10.0.0.6:6222\"]\n", "c.toml:4: serve.cluster.peers: expected the route addresses of the other hubs, at least 2"},
		{"cluster name", "[serve.cluster]\nlisten = \"10.0.0.5:6222\"\npeers = [\"10.0.0.6:6222\", \"10.0.0.7:6222\"]\n", "serve.cluster.name: a cluster needs a name"},
		{"cluster listen", "[serve.cluster]\nname = \"c\"\nlisten = \"6222\"\npeers = [\"10.0.0.6:6222\", \"10.0.0.7:6222\"]\n", "c.toml:3: serve.cluster.listen: expected this hub's route address as host:port"},
		{"check type", "[[serve.checks]]\nname = \"x\"\ntype = \"ping\"\ntarget = \"a\"\n", "c.toml:3: serve.checks.type: expected tcp, http, process, command, tls, domain or dns"},
		{"runbook after", "[[runbooks]]\nkind = \"db\"\n[[runbooks.steps]]\nid = \"a\"\nafter = \"lunch\"\n", "runbooks.steps: runbook \"db\" step \"a\": after must be"},
		{"time zone", "[dashboard]\ntime_zone = \"mars\"\n", "c.toml:2: dashboard.time_zone: expected \"local\" or \"utc\""},
		{"runbook step id", "[[runbooks]]\nkind = \"db\"\n[[runbooks.steps]]\nid = \"call the dba\"\n", "c.toml:4: runbooks.steps.id: runbook \"db\": step id \"call the dba\" holds a space"},
		{"runbook too long", "[[runbooks]]\nkind = \"big\"\n" + manySteps(201), "c.toml:1: runbooks.steps: runbook \"big\" has 201 steps; a checklist holds at most 200"},
		{"ssh listen", "[serve.ssh]\nauthorized_keys = \"/k\"\nlisten = \"2222\"\n", "c.toml:3: serve.ssh.listen: expected host:port"},
		{"ssh without keys", "[serve]\ndata_dir = \"/d\"\n[serve.ssh]\nlisten = \":2222\"\n", "c.toml:3: serve.ssh.authorized_keys: [serve.ssh] needs an authorized_keys file"},
		{"ssh idle", "[serve.ssh]\nauthorized_keys = \"/k\"\nidle_timeout = \"-1m\"\n", "c.toml:3: serve.ssh.idle_timeout: cannot be negative"},
		{"ssh unknown key", "[serve.ssh]\nauthorized_keys = \"/k\"\nport = 22\n", "c.toml:3: serve.ssh.port: unknown key"},
		{"token in token_env", "[[feeds]]\nname = \"a\"\nurl = \"ws://h/\"\ntoken_env = \"TOKEN=abc\"\n", "c.toml:4: feeds.token_env: expected the name of an environment variable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.toml", tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// [serve.ssh] turns the SSH dashboard on; the keys it leaves out take
// their defaults, and an explicit 0s idle_timeout stays 0 (never).
func TestSSHTableAndDefaults(t *testing.T) {
	tests := []struct {
		name, src string
		want      *SSH
	}{
		{"absent", "[serve]\nlisten = \"127.0.0.1:7070\"\n", nil},
		{"defaults", "[serve]\ndata_dir = \"/srv/v\"\n[serve.ssh]\nauthorized_keys = \"/etc/vigil/authorized_keys\"\n",
			&SSH{Listen: DefaultSSHListen, HostKey: "/srv/v/" + SSHHostKeyName, AuthorizedKeys: "/etc/vigil/authorized_keys", IdleTimeout: Duration{DefaultSSHIdleTimeout}}},
		{"set", "[serve.ssh]\nlisten = \"127.0.0.1:2200\"\nhost_key = \"/k/host\"\nauthorized_keys = \"/a\"\nread_only_keys = \"/r\"\nidle_timeout = \"0s\"\nmax_timeout = \"12h\"\n",
			&SSH{Listen: "127.0.0.1:2200", HostKey: "/k/host", AuthorizedKeys: "/a", ReadOnlyKeys: "/r", MaxTimeout: Duration{12 * time.Hour}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("c.toml", tt.src)
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Serve.SSH
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("serve.ssh = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLocate(t *testing.T) {
	env := map[string]string{"HOME": "/home/a"}
	get := func(k string) string { return env[k] }
	if p, explicit := Locate("x.toml", get); p != "x.toml" || !explicit {
		t.Fatal("flag first")
	}
	if p, explicit := Locate("", get); p != "/home/a/.config/vigil/config.toml" || explicit {
		t.Fatalf("default %s", p)
	}
	env["XDG_CONFIG_HOME"] = "/xdg"
	if p, _ := Locate("", get); p != "/xdg/vigil/config.toml" {
		t.Fatalf("xdg %s", p)
	}
	env["VIGIL_CONFIG"] = "/etc/v.toml"
	if p, explicit := Locate("", get); p != "/etc/v.toml" || !explicit {
		t.Fatalf("env %s", p)
	}
}

func TestMissingFile(t *testing.T) {
	if _, found, err := Load("/nonexistent/vigil.toml", false); err != nil || found {
		t.Fatalf("implicit missing file: found=%v err=%v", found, err)
	}
	_, _, err := Load("/nonexistent/vigil.toml", true)
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "/nonexistent/vigil.toml") {
		t.Fatalf("explicit missing file: %v", err)
	}
	_ = os.ErrNotExist
}

func FuzzParse(f *testing.F) {
	example, _ := os.ReadFile("../../config.toml.example")
	f.Add(string(example))
	f.Add("[dashboard]\nbel = true\n")
	f.Add("[[feeds]]\nname = \"a\"\nurl = \"ws://h/\"\n[[feeds]]\n")
	f.Fuzz(func(t *testing.T, src string) {
		_, err := Parse("f.toml", src)
		if err == nil {
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error is not a list of located errors: %T %v", err, err)
		}
		for _, e := range es {
			if e.File != "f.toml" {
				t.Fatalf("error does not name the file: %v", e)
			}
		}
	})
}

func TestResolvedAppliesTheDefaultsUsed(t *testing.T) {
	cfg, err := Parse("c.toml", "[[serve.checks]]\nname = \"web\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:80\"\n[[serve.checks]]\nname = \"db\"\ntype = \"tcp\"\ntarget = \"127.0.0.1:5432\"\nevery = \"2s\"\nrise = 1\n")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"USER": "alice", "XDG_STATE_HOME": "/st"}
	r := cfg.Resolved(func(k string) string { return env[k] }, "web-3")
	web, db := r.Serve.Checks[0], r.Serve.Checks[1]
	if web.Every.Duration != 10*time.Second || web.Timeout.Duration != 5*time.Second || web.Rise != 2 || web.Fall != 3 {
		t.Fatalf("web check not defaulted: %+v", web)
	}
	if db.Every.Duration != 2*time.Second || db.Timeout.Duration != 2*time.Second || db.Rise != 1 || db.Fall != 3 {
		t.Fatalf("db check lost what it set: %+v", db)
	}
	if r.Dashboard.Actor != "alice" || r.Dashboard.StateDir != "/st/vigil" {
		t.Fatalf("dashboard not resolved: %+v", r.Dashboard)
	}
	if r.Serve.Name != "web-3" || r.Serve.Host != "web-3" {
		t.Fatalf("serve name and host not the host name: %+v", r.Serve)
	}
	if cfg.Serve.Checks[0].Every.Duration != 0 {
		t.Fatal("Resolved changed the configuration it was given")
	}
	scrape, err := Parse("c.toml", "[[serve.scrape]]\nhost = \"a\"\nurl = \"http://127.0.0.1:9100/metrics\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := scrape.Resolved(func(string) string { return "" }, "h").Serve.Scrape[0].Every.Duration; got != 15*time.Second {
		t.Fatalf("scrape every resolved to %v", got)
	}
}

func TestDurationWritesTheShortForm(t *testing.T) {
	for d, want := range map[time.Duration]string{
		10 * time.Second: "10s", 10 * time.Minute: "10m", 90 * time.Minute: "1h30m", 72 * time.Hour: "72h",
		-168 * time.Hour: "-168h", 1500 * time.Millisecond: "1.5s", 0: "0s", time.Hour + time.Second: "1h0m1s",
	} {
		got, _ := Duration{d}.MarshalText()
		if string(got) != want {
			t.Errorf("%v written %q, want %q", d, got, want)
		}
		var back Duration
		if err := back.UnmarshalText(got); err != nil || back.Duration != d {
			t.Errorf("%q reads back as %v (%v)", got, back.Duration, err)
		}
	}
}

func manySteps(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "[[runbooks.steps]]\nid = \"s%d\"\n", i)
	}
	return b.String()
}

func TestFleetSections(t *testing.T) {
	cfg, _, err := Load("../../config.toml.example", true)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Serve
	if s.Reporting() || s.Report == nil || s.Report.TokenEnv != "VIGIL_AGENT_TOKEN" {
		t.Fatalf("example report = %+v: keys shown, not reporting", s.Report)
	}
	if len(s.Agents) != 1 || strings.Join(s.Agents[0].Hosts, ",") != "web-*,db-*" {
		t.Fatalf("agents = %+v", s.Agents)
	}
	if len(s.Scrape) != 1 || s.Scrape[0].WithDefaults().Every.Duration != 15*time.Second || s.Alertmanager == nil {
		t.Fatalf("scrape = %+v, alertmanager = %+v", s.Scrape, s.Alertmanager)
	}
	agent, err := Parse("a.toml", "[serve]\nhost = \"web-3\"\n[serve.report]\nurls = [\"wss://hub:7070/feed\", \"wss://hub2:7070/feed\"]\ntoken_env = \"T\"\n")
	if err != nil || !agent.Serve.Reporting() || agent.Serve.Host != "web-3" {
		t.Fatalf("agent config: %v %+v", err, agent.Serve.Report)
	}
	tests := []struct{ name, src, want string }{
		{"report url", "[serve.report]\nurls = [\"http://hub/\"]\ntoken_env = \"T\"\n", "c.toml:2: serve.report.urls: expected ws:// or wss://"},
		{"report token", "[serve.report]\nurls = [\"ws://hub/feed\"]\n", "c.toml:1: serve.report.token_env: expected the name"},
		{"agent glob", "[[serve.agents]]\ntoken_env = \"T\"\nhosts = [\"web-[\"]\n", "c.toml:3: serve.agents.hosts: expected a glob"},
		{"agent hosts", "[[serve.agents]]\ntoken_env = \"T\"\n", "c.toml:1: serve.agents.hosts: expected the hosts"},
		{"agent token", "[[serve.agents]]\ntoken_env = \"T=x\"\nhosts = [\"*\"]\n", "c.toml:2: serve.agents.token_env: expected the name of an environment variable"},
		{"scrape url", "[[serve.scrape]]\nhost = \"a\"\nurl = \"ftp://x\"\n", "c.toml:3: serve.scrape.url: expected node_exporter's"},
		{"scrape host", "[[serve.scrape]]\nhost = \"a b\"\nurl = \"http://x/metrics\"\n", "c.toml:2: serve.scrape.host: host \"a b\" holds a space"},
		{"scrape twice", "[[serve.scrape]]\nhost = \"a\"\nurl = \"http://x/m\"\n[[serve.scrape]]\nhost = \"a\"\nurl = \"http://y/m\"\n", "c.toml:5: serve.scrape.host: host \"a\" scraped twice"},
		{"scrape every", "[[serve.scrape]]\nhost = \"a\"\nurl = \"http://x/m\"\nevery = \"10ms\"\n", "c.toml:4: serve.scrape.every: expected at least 1s"},
		{"host", "[serve]\nhost = \"my host\"\n", "c.toml:2: serve.host: host \"my host\" holds a space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.toml", tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPublishingConfig(t *testing.T) {
	cfg, _, err := Load("../../config.toml.example", true)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Serve
	if s.Status.History.Duration != DefaultStatusHistory || Default().Serve.Status.History != s.Status.History {
		t.Fatalf("history %v", s.Status.History)
	}
	if len(s.Components) != 1 || s.Components[0].ID != "mail" || s.Components[0].Name != "Mail" {
		t.Fatalf("components %+v", s.Components)
	}
	if len(s.Channels) < 3 || s.Channels[0].TLS != "starttls" || len(s.Channels[0].To) != 1 || s.Channels[1].Format != "slack" || s.Channels[1].SecretEnv != "VIGIL_HOOK_SECRET" {
		t.Fatalf("channels %+v", s.Channels)
	}
	tests := []struct {
		name, src, want string
	}{
		{"page is taken", "[[serve.channels]]\nname = \"page\"\ntype = \"webhook\"\nurl = \"https://h/\"\n", `c.toml:2: serve.channels.name: "page" is the status page's own channel`},
		{"dup channel", "[[serve.channels]]\nname = \"a\"\ntype = \"webhook\"\nurl = \"https://h/\"\n[[serve.channels]]\nname = \"a\"\ntype = \"webhook\"\nurl = \"https://h/\"\n", `c.toml:6: serve.channels.name: channel name "a" used twice`},
		{"channel type", "[[serve.channels]]\nname = \"a\"\ntype = \"pigeon\"\n", `c.toml:3: serve.channels.type: expected email, webhook or customers, got "pigeon"`},
		{"smtp", "[[serve.channels]]\nname = \"a\"\ntype = \"email\"\nsmtp = \"mail\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\n", `c.toml:4: serve.channels.smtp: an email channel needs smtp = "host:port"`},
		{"tls", "[[serve.channels]]\nname = \"a\"\ntype = \"email\"\nsmtp = \"m:25\"\ntls = \"maybe\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\n", `c.toml:5: serve.channels.tls: expected starttls, tls or none`},
		{"no recipients", "[[serve.channels]]\nname = \"a\"\ntype = \"email\"\nsmtp = \"m:25\"\nfrom = \"a@b.c\"\n", `c.toml:1: serve.channels.to: an email channel needs at least one recipient`},
		{"bad recipient", "[[serve.channels]]\nname = \"a\"\ntype = \"email\"\nsmtp = \"m:25\"\nfrom = \"a@b.c\"\nto = [\"nobody\"]\n", `c.toml:6: serve.channels.to: expected a recipient address, got "nobody"`},
		{"password in the file", "[[serve.channels]]\nname = \"a\"\ntype = \"email\"\nsmtp = \"m:25\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\nusername_env = \"U\"\npassword_env = \"hunter2 x\"\n", `c.toml:8: serve.channels.password_env: expected the name of an environment variable`},
		{"secret in the file", "[[serve.channels]]\nname = \"a\"\ntype = \"webhook\"\nurl = \"https://h/\"\nsecret_env = \"s3cret=1\"\n", `c.toml:5: serve.channels.secret_env: expected the name of an environment variable`},
		{"webhook url", "[[serve.channels]]\nname = \"a\"\ntype = \"webhook\"\nurl = \"ftp://h/\"\n", `c.toml:4: serve.channels.url: a webhook channel needs an http:// or https:// URL`},
		{"format", "[[serve.channels]]\nname = \"a\"\ntype = \"webhook\"\nurl = \"https://h/\"\nformat = \"xml\"\n", `c.toml:5: serve.channels.format: expected slack, json or ntfy`},
		{"email key on a webhook", "[[serve.channels]]\nname = \"a\"\ntype = \"webhook\"\nurl = \"https://h/\"\nsmtp = \"m:25\"\n", `c.toml:5: serve.channels.smtp: smtp, tls, from, to and username_env are for email channels`},
		{"component id", "[[serve.components]]\nid = \"web mail\"\nname = \"Web\"\n", `c.toml:2: serve.components.id: component 1: id "web mail" holds a space`},
		{"dup component", "[[serve.components]]\nid = \"web\"\nname = \"Web\"\n[[serve.components]]\nid = \"web\"\nname = \"W\"\n", `c.toml:5: serve.components.id: component id "web" used twice`},
		{"component name", "[[serve.components]]\nid = \"web\"\n", `c.toml:1: serve.components.name: component "web" needs a name`},
		{"status url", "[serve.status]\nurl = \"status.example.com\"\n", `c.toml:2: serve.status.url: expected the page's public http:// or https:// URL`},
		{"history", "[serve.status]\nhistory = \"0s\"\n", `c.toml:2: serve.status.history: expected a positive duration`},
		{"unknown key", "[serve.status]\ncolour = \"red\"\n", `c.toml:2: serve.status.colour: unknown key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.toml", tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestSendersReadSecretsFromTheEnvironment(t *testing.T) {
	cfg, _, err := Load("../../config.toml.example", true)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"VIGIL_SMTP_USER": "status", "VIGIL_SMTP_PASSWORD": "pw", "VIGIL_HOOK_SECRET": "s3cret"}
	senders, err := cfg.Senders(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	email, ok := senders["customers"].(*publish.Email)
	hook, ok2 := senders["ops-chat"].(*publish.Webhook)
	if !ok || !ok2 || email.Password != "pw" || email.TLS != "starttls" || hook.Secret != "s3cret" || hook.Format != "slack" {
		t.Fatalf("senders %+v %+v", senders["customers"], senders["ops-chat"])
	}
	delete(env, "VIGIL_HOOK_SECRET")
	_, err = cfg.Senders(func(k string) string { return env[k] })
	if err == nil || !regexp.MustCompile(`config\.toml\.example:\d+: serve\.channels\.secret_env: \$VIGIL_HOOK_SECRET is unset or empty`).MatchString(err.Error()) {
		t.Fatalf("error %v", err)
	}
	site := cfg.Serve.Site("hub-1")
	if site.Name != "hub-1" || len(site.Components) != 1 || site.History != DefaultStatusHistory {
		t.Fatalf("site %+v", site)
	}
}
