package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCustomersConfig(t *testing.T) {
	cfg, _, err := Load("../../config.toml.example", true)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Serve.Plans()["shared"]
	if p.Target != 99.9 || len(p.Credits) != 3 || p.Credits[2].Below != 95 || p.Credits[2].Percent != 50 || !p.ExcludeMaintenance {
		t.Fatalf("plan %+v", p)
	}
	if got := cfg.CustomersFile(); got != filepath.Join("..", "..", "docs", "customers.example.csv") {
		t.Fatalf("customers file %q", got)
	}

	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("id,name,email,hosts,components,plan,monthly_fee\nc1,A,a@example.com,h1,,shared,5\n"), 0o600)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("id,name,email,hosts,components,plan,monthly_fee\nc1,A,a@example.com,h1,,shared,5\nc2,B,b@example.com,h1,,gold,5\n"), 0o600)
	const mail = "[[serve.channels]]\nname = \"m\"\ntype = \"email\"\nsmtp = \"m:25\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\n"
	const sla = "[[serve.sla]]\nplan = \"shared\"\ntarget = 99.9\ncredits = [ { below = 99.9, percent = 10 } ]\n"
	for _, tc := range []struct{ name, src, want string }{
		{"good", "[serve.customers]\nfile = " + q(good) + "\n" + sla + mail + "[[serve.channels]]\nname = \"affected\"\ntype = \"customers\"\nemail = \"m\"\n", ""},
		{"a refused row names the csv's line", "[serve.customers]\nfile = " + q(bad) + "\n" + sla, `c.toml:2: serve.customers.file: line 3 of ` + bad + `: customer "c2": unknown plan "gold"`},
		{"missing file", "[serve.customers]\nfile = \"/nonexistent/c.csv\"\n", `c.toml:2: serve.customers.file: /nonexistent/c.csv: open`},
		{"target", "[[serve.sla]]\nplan = \"p\"\ntarget = 120.0\n", `c.toml:3: serve.sla.target: plan "p": target is a percent`},
		{"credit tier", "[[serve.sla]]\nplan = \"p\"\ntarget = 99.0\ncredits = [ { below = 99.0, percent = 0 } ]\n", `c.toml:4: serve.sla.credits: plan "p": each credit is`},
		{"two slas for one plan", "[[serve.sla]]\nplan = \"p\"\ntarget = 99.0\n[[serve.sla]]\nplan = \"p\"\ntarget = 99.0\n", `c.toml:5: serve.sla.plan: plan "p" has two`},
		{"email names no email channel", "[serve.customers]\nfile = " + q(good) + "\n" + "[[serve.channels]]\nname = \"affected\"\ntype = \"customers\"\nemail = \"nope\"\n", `c.toml:6: serve.channels.email: channel "affected": email must name an email channel`},
		{"no customers file", mail + "[[serve.channels]]\nname = \"affected\"\ntype = \"customers\"\nemail = \"m\"\n", `c.toml:9: serve.channels.type: channel "affected" writes to customers but [serve.customers] has no file`},
		{"rate", "[serve.customers]\nfile = " + q(good) + "\n" + mail + "[[serve.channels]]\nname = \"affected\"\ntype = \"customers\"\nemail = \"m\"\nper_second = -1\n", `c.toml:13: serve.channels.per_second: expected messages per second`},
		{"email on an email channel", "[[serve.channels]]\nname = \"m\"\ntype = \"email\"\nsmtp = \"m:25\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\nemail = \"x\"\n", `c.toml:7: serve.channels.email: email and per_second are for customers channels`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.toml", tc.src)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %s", err, tc.want)
			}
		})
	}
}

func q(s string) string { return `"` + s + `"` }
