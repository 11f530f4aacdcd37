package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleDecodes(t *testing.T) {
	cfg, found, err := Load("../../config.toml.example", true)
	if err != nil || !found {
		t.Fatalf("config.toml.example: %v", err)
	}
	if len(cfg.Feeds) != 1 || cfg.Feeds[0].URL != "ws://127.0.0.1:7070/feed" {
		t.Fatalf("feeds = %+v", cfg.Feeds)
	}
	if cfg.Serve.Interval.Duration != 5*time.Second || len(cfg.Serve.Checks) != 1 {
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
	if ch.WithDefaults() != ch {
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
		{"wrong type", "[dashboard]\nbell = \"yes\"\n", "c.toml:2: dashboard.bell: incompatible types"},
		{"syntax", "[dashboard\n", "c.toml:2: expected '.' or ']'"},
		{"bad url", "[[feeds]]\nname = \"a\"\nurl = \"ws://ok/feed\"\n[[feeds]]\nname = \"b\"\nurl = \"http://x\"\n", "c.toml:6: feeds.url: expected a ws:// or wss:// URL"},
		{"dup feed", "[[feeds]]\nname = \"a\"\nurl = \"ws://h/\"\n[[feeds]]\nname = \"a\"\nurl = \"ws://h/\"\n", "c.toml:5: feeds.name: feed name \"a\" used twice"},
		{"thresholds", "[thresholds]\nload_warn_per_cpu = 2.0\nload_crit_per_cpu = 1.0\n", "c.toml:3: thresholds.load_crit_per_cpu: expected more than"},
		{"check type", "[[serve.checks]]\nname = \"x\"\ntype = \"ping\"\ntarget = \"a\"\n", "c.toml:3: serve.checks.type: expected tcp, http, process or command"},
		{"runbook after", "[[runbooks]]\nkind = \"db\"\n[[runbooks.steps]]\nid = \"a\"\nafter = \"lunch\"\n", "runbooks.steps: runbook \"db\" step \"a\": after must be"},
		{"time zone", "[dashboard]\ntime_zone = \"mars\"\n", "c.toml:2: dashboard.time_zone: expected \"local\" or \"utc\""},
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
