package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDeadlineCheckErrorsNameFileLineKey(t *testing.T) {
	check := func(lines ...string) string {
		return "[[serve.checks]]\nname = \"x\"\n" + strings.Join(lines, "\n") + "\n"
	}
	tests := []struct {
		name, src, want string
	}{
		{"tls target", check(`type = "tls"`, `target = "shop.example.com"`), `c.toml:4: serve.checks.target: a tls check needs host:port ("shop.example.com:443"), got "shop.example.com"`},
		{"crit not below warn", check(`type = "tls"`, `target = "a:443"`, `warn_days = 7`, `crit_days = 7`), "c.toml:6: serve.checks.crit_days: expected 0 <= crit_days < warn_days"},
		{"crit past domain default warn", check(`type = "domain"`, `target = "example.com"`, `crit_days = 30`), "c.toml:5: serve.checks.crit_days: expected 0 <= crit_days < warn_days (days before expiry), got crit_days 30, warn_days 30"},
		{"ca_file missing", check(`type = "tls"`, `target = "a:443"`, `ca_file = "/nonexistent/ca.pem"`), "c.toml:5: serve.checks.ca_file: cannot read"},
		{"domain target", check(`type = "domain"`, `target = "https://example.com/"`), "c.toml:4: serve.checks.target: a domain check needs a registered domain"},
		{"domain tld only", check(`type = "domain"`, `target = "com"`), "serve.checks.target: a domain check needs a registered domain"},
		{"rdap url", check(`type = "domain"`, `target = "example.com"`, `rdap = "rdap.example"`), "c.toml:5: serve.checks.rdap: expected the registry's RDAP base URL"},
		{"dns record", check(`type = "dns"`, `target = "shop.example.com"`, `record = "SRV"`), `c.toml:5: serve.checks.record: expected A, AAAA, CNAME, MX, TXT or NS, got "SRV"`},
		{"dns record missing", check(`type = "dns"`, `target = "shop.example.com"`), `c.toml:1: serve.checks.record: expected A, AAAA, CNAME, MX, TXT or NS, got ""`},
		{"dns server", check(`type = "dns"`, `target = "a.example"`, `record = "A"`, `server = "127.0.0.1"`), "c.toml:6: serve.checks.server: expected the DNS server as host:port"},
		{"dns answer", check(`type = "dns"`, `target = "a.example"`, `record = "A"`, `answer = ["203.0.113.7", "::1"]`), `c.toml:6: serve.checks.answer: "::1" is not an IPv4 address`},
		{"mx answer", check(`type = "dns"`, `target = "a.example"`, `record = "MX"`, `answer = ["mx.example.com"]`), `serve.checks.answer: "mx.example.com" is not a preference and a name`},
		{"record on http", check(`type = "http"`, `target = "http://a/"`, `record = "A"`), "c.toml:5: serve.checks.record: only a dns check takes record"},
		{"expect_body on tls", check(`type = "tls"`, `target = "a:443"`, `expect_body = "ok"`), "c.toml:5: serve.checks.expect_body: only a http check takes expect_body"},
		{"bad body regexp", check(`type = "http"`, `target = "http://a/"`, `expect_body = "/(ok/"`), "c.toml:5: serve.checks.expect_body: a /regexp/ that does not compile"},
		{"bootstrap", "[serve]\nrdap_bootstrap = \"data.iana.org\"\n", "c.toml:2: serve.rdap_bootstrap: expected an http:// or https:// URL"},
		{"typo", check(`type = "tls"`, `target = "a:443"`, `warn_day = 3`), "c.toml:5: serve.checks.warn_day: unknown key"},
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

func TestDeadlineChecksDecodeWithDefaults(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	// validation asks only for a PEM certificate; this is an old self-signed one
	if err := os.WriteFile(ca, []byte(testPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
[serve]
rdap_bootstrap = "http://127.0.0.1:8080/dns.json"
[[serve.checks]]
name = "cert"
type = "tls"
target = "127.0.0.1:8443"
server_name = "shop.test"
ca_file = "` + ca + `"
[[serve.checks]]
name = "reg"
type = "domain"
target = "shop.test"
rdap = "http://127.0.0.1:8080/rdap/"
warn_days = 40
[[serve.checks]]
name = "mx"
type = "dns"
target = "shop.test"
record = "mx"
server = "127.0.0.1:5353"
answer = ["10 mail.shop.test."]
[[serve.checks]]
name = "web"
type = "http"
target = "https://127.0.0.1:8443/"
expect_body = "/order (ok|done)/"
`
	cfg, err := Parse("c.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	boot := cfg.Serve.Bootstrap()
	if boot.URL != "http://127.0.0.1:8080/dns.json" {
		t.Errorf("bootstrap %q", boot.URL)
	}
	cert, reg, mx, web := cfg.Serve.Checks[0].ProbeWith(boot), cfg.Serve.Checks[1].ProbeWith(boot), cfg.Serve.Checks[2].ProbeWith(boot), cfg.Serve.Checks[3].ProbeWith(boot)
	if cert.WarnDays != 21 || cert.CritDays != 7 || cert.ServerName != "shop.test" || cert.CAFile != ca || cert.Every != 10*time.Second || cert.Fall != 3 {
		t.Errorf("tls: %+v", cert)
	}
	if reg.WarnDays != 40 || reg.CritDays != 7 || reg.Every != time.Hour || reg.Rise != 1 || reg.Fall != 1 || reg.RDAP != "http://127.0.0.1:8080/rdap/" || reg.Bootstrap != boot {
		t.Errorf("domain: %+v", reg)
	}
	if mx.Record != "MX" || mx.Server != "127.0.0.1:5353" || !slices.Equal(mx.Answer, []string{"10 mail.shop.test."}) {
		t.Errorf("dns: %+v", mx)
	}
	if web.ExpectBody != "/order (ok|done)/" || web.WarnDays != 21 {
		t.Errorf("http: %+v", web)
	}
}

const testPEM = `-----BEGIN CERTIFICATE-----
MIIBhTCCASugAwIBAgIQIRi6zePL6mKjOipn+dNuaTAKBggqhkjOPQQDAjASMRAw
DgYDVQQKEwdBY21lIENvMB4XDTE3MTAyMDE5NDMwNloXDTE4MTAyMDE5NDMwNlow
EjEQMA4GA1UEChMHQWNtZSBDbzBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABD0d
7VNhbWvZLWPuj/RtHFjvtJBEwOkhbN/BnnE8rnZR8+sbwnc/KhCk3FhnpHZnQz7B
5aETbbIgmuvewdjvSBSjYzBhMA4GA1UdDwEB/wQEAwICpDATBgNVHSUEDDAKBggr
BgEFBQcDATAPBgNVHRMBAf8EBTADAQH/MCkGA1UdEQQiMCCCDmxvY2FsaG9zdDo1
NDUzgg4xMjcuMC4wLjE6NTQ1MzAKBggqhkjOPQQDAgNIADBFAiEA2zpJEPQyz6/l
Wf86aX6PepsntZv2GYlA5UpabfT2EZICICpJ5h/iI+i341gBmLiAFQOyTDT+/wQc
6MF9+Yw1Yy0t
-----END CERTIFICATE-----
`

func TestExpiryChecks(t *testing.T) {
	cfg, err := Parse("c.toml", `
[[serve.checks]]
name = "cert"
type = "tls"
target = "127.0.0.1:8443"
[[serve.checks]]
name = "reg"
type = "domain"
target = "shop.test"
[[serve.checks]]
name = "site"
type = "http"
target = "HTTPS://127.0.0.1:8443/"
warn_days = 10
crit_days = 2
[[serve.checks]]
name = "plain"
type = "http"
target = "http://127.0.0.1/"
[[serve.checks]]
name = "mx"
type = "dns"
target = "shop.test"
record = "MX"
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []ExpiryCheck{{"cert", "certificate", 21, 7}, {"reg", "domain", 30, 7}, {"site", "certificate", 10, 2}}
	if got := cfg.Serve.ExpiryChecks(); !slices.Equal(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
