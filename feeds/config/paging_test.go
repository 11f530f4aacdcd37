package config

import (
	"strings"
	"testing"
	"time"
)

const pagingBase = `
[[serve.channels]]
name = "pager-mail"
type = "email"
smtp = "127.0.0.1:2525"
tls = "none"
from = "pager@example.com"

[[serve.channels]]
name = "bob-phone"
type = "webhook"
url = "https://ntfy.example/bob"
format = "ntfy"

[[serve.people]]
name = "alice"
email = "alice@example.com"

[[serve.people]]
name = "bob"
webhook = "bob-phone"
`

func TestPagingConfig(t *testing.T) {
	src := pagingBase + `
[serve.paging]
email = "pager-mail"
url = "https://hub.example.net:7070"

[[serve.paging.rules]]
on = ["down"]
escalation = "default"

[[serve.paging.rules]]
on = ["warn"]
escalation = "default"
urgency = "low"
group = "0s"

[[serve.rotations]]
name = "primary"
people = ["alice", "bob"]
start = "2026-12-07T09:00:00+01:00"
shift = "168h"
time_zone = "Europe/Berlin"

[[serve.escalations]]
name = "default"
levels = [ { notify = ["rotation:primary"], wait = "5m" }, { notify = ["person:bob"], wait = "10m" } ]
repeat = 2
ack_timeout = "30m"
`
	cfg, err := Parse("p.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	pc := cfg.Serve.PagingConfig()
	if !pc.Email || len(pc.Rules) != 2 || pc.Rules[0].Name != "default" || pc.Rules[1].Name != "default-2" || pc.Rules[0].Group != DefaultGroup || pc.Rules[1].Group != 0 || pc.Rules[0].Urgency != "high" {
		t.Fatalf("rules %+v", pc.Rules)
	}
	esc := pc.Escalations["default"]
	if len(esc.Levels) != 2 || esc.Levels[1].Wait != 10*time.Minute || esc.Repeat != 2 || esc.AckTimeout != 30*time.Minute {
		t.Fatalf("escalation %+v", esc)
	}
	if r := pc.Rotations["primary"]; r.Location == nil || r.Shift != 168*time.Hour || r.Start.IsZero() {
		t.Fatalf("rotation %+v", r)
	}
	if cfg.Serve.Paging.HeartbeatInterval() != time.Minute {
		t.Fatal("heartbeat default")
	}
}

func TestPagingConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name, src, want string
	}{
		{"unknown email channel", "[serve.paging]\nemail = \"nope\"\nurl = \"https://h\"\n", `p.toml:24: serve.paging.email: no email channel "nope"`},
		{"url missing", "[serve.paging]\nemail = \"pager-mail\"\n", `p.toml:23: serve.paging.url: expected the hub's public`},
		{"unknown escalation", "[serve.paging]\nurl = \"https://h\"\n[[serve.paging.rules]]\non = [\"down\"]\nescalation = \"nope\"\n", `p.toml:27: serve.paging.rules.escalation: rule 1: no escalation "nope"`},
		{"unknown event", "[serve.paging]\nurl = \"https://h\"\n[[serve.paging.rules]]\non = [\"boom\"]\n", `p.toml:26: serve.paging.rules.on: rule 1: expected one of`},
		{"bad glob", "[serve.paging]\nurl = \"https://h\"\n[[serve.paging.rules]]\non = [\"down\"]\nhosts = [\"[x\"]\n", `p.toml:27: serve.paging.rules.hosts: rule 1: "[x" is not a glob`},
		{"bad urgency", "[serve.paging]\nurl = \"https://h\"\n[[serve.paging.rules]]\non = [\"down\"]\nurgency = \"meh\"\n", `serve.paging.rules.urgency: rule 1: expected high or low`},
		{"unknown person in rotation", "[[serve.rotations]]\nname = \"r\"\npeople = [\"zed\"]\nstart = \"2026-12-07T09:00:00Z\"\nshift = \"24h\"\n", `p.toml:25: serve.rotations.people: rotation "r": no person "zed"`},
		{"bad start", "[[serve.rotations]]\nname = \"r\"\npeople = [\"bob\"]\nstart = \"monday\"\nshift = \"24h\"\n", `p.toml:26: serve.rotations.start: rotation "r": expected the first handoff`},
		{"bad zone", "[[serve.rotations]]\nname = \"r\"\npeople = [\"bob\"]\nstart = \"2026-12-07T09:00:00Z\"\nshift = \"24h\"\ntime_zone = \"Mars/Olympus\"\n", `p.toml:28: serve.rotations.time_zone: rotation "r": unknown time zone`},
		{"unknown rotation in level", "[[serve.escalations]]\nname = \"e\"\nlevels = [ { notify = [\"rotation:night\"], wait = \"5m\" } ]\n", `p.toml:25: serve.escalations.levels.notify: escalation "e" level 1: no rotation "night"`},
		{"level 2 of the second escalation, on its own line", "[[serve.escalations]]\nname = \"a\"\nlevels = [ { notify = [\"person:bob\"], wait = \"5m\" } ]\n[[serve.escalations]]\nname = \"e\"\nlevels = [ { notify = [\"person:bob\"], wait = \"5m\" },\n           { notify = [\"person:zed\"], wait = \"5m\" } ]\n",
			`p.toml:29: serve.escalations.levels.notify: escalation "e" level 2: no person "zed"`},
		{"unknown person in level", "[[serve.escalations]]\nname = \"e\"\nlevels = [ { notify = [\"person:zed\"], wait = \"5m\" } ]\n", `escalation "e" level 1: no person "zed"`},
		{"bad target", "[[serve.escalations]]\nname = \"e\"\nlevels = [ { notify = [\"zed\"], wait = \"5m\" } ]\n", `expected person:NAME or rotation:NAME, got "zed"`},
		{"no wait", "[[serve.escalations]]\nname = \"e\"\nlevels = [ { notify = [\"person:bob\"] } ]\n", `level 1: expected a positive wait`},
		{"unknown webhook", "[[serve.people]]\nname = \"carol\"\nwebhook = \"carol-phone\"\n", `p.toml:25: serve.people.webhook: person "carol": no webhook channel "carol-phone"`},
		{"person twice", "[[serve.people]]\nname = \"bob\"\nemail = \"b@example.com\"\n", `person "bob" listed twice`},
		{"component glob", "[[serve.components]]\nid = \"web\"\nname = \"Web\"\nhosts = [\"[\"]\n", `serve.components.hosts: component "web": "[" is not a glob`},
		{"unknown key", "[[serve.people]]\nname = \"carol\"\nemail = \"c@example.com\"\npager = \"x\"\n", `p.toml:26: serve.people.pager: unknown key`},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(pagingBase, `from = "pager@example.com"`, `from = "pager@example.com"`+"\nto = [\"ops@example.com\"]", 1)
			_, err := Parse("p.toml", src+c.src)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}
