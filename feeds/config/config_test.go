package config

import (
	"errors"
	"os"
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
		{"cluster peers", "[serve.cluster]\nname = \"c\"\nlisten = \"10.0.0.5:6222\"\npeers = [\"10.0.0.6:6222\"]\n", "c.toml:4: serve.cluster.peers: expected the route addresses of the other hubs, at least 2"},
		{"cluster name", "[serve.cluster]\nlisten = \"10.0.0.5:6222\"\npeers = [\"10.0.0.6:6222\", \"10.0.0.7:6222\"]\n", "serve.cluster.name: a cluster needs a name"},
		{"cluster listen", "[serve.cluster]\nname = \"c\"\nlisten = \"6222\"\npeers = [\"10.0.0.6:6222\", \"10.0.0.7:6222\"]\n", "c.toml:3: serve.cluster.listen: expected this hub's route address as host:port"},
		{"check type", "[[serve.checks]]\nname = \"x\"\ntype = \"ping\"\ntarget = \"a\"\n", "c.toml:3: serve.checks.type: expected tcp, http, process or command"},
		{"runbook after", "[[runbooks]]\nkind = \"db\"\n[[runbooks.steps]]\nid = \"a\"\nafter = \"lunch\"\n", "runbooks.steps: runbook \"db\" step \"a\": after must be"},
		{"time zone", "[dashboard]\ntime_zone = \"mars\"\n", "c.toml:2: dashboard.time_zone: expected \"local\" or \"utc\""},
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
