package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// [serve.cluster]'s TLS keys go together and must load as serve loads
// them; each error names the file, the line and the key.
func TestClusterTLSConfig(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	head := "[serve.cluster]\nname = \"c\"\nlisten = \"10.0.0.5:6222\"\npeers = [\"10.0.0.6:6222\", \"10.0.0.7:6222\"]\n"
	tests := []struct{ name, src, want string }{
		{"cert without ca", head + "tls_cert = \"/c.pem\"\ntls_key = \"/k.pem\"\n", "c.toml:1: serve.cluster.tls_ca: tls_cert, tls_key and tls_ca go together"},
		{"ca alone", head + "tls_ca = \"/ca.pem\"\n", "c.toml:1: serve.cluster.tls_cert: tls_cert, tls_key and tls_ca go together"},
		{"lease", head + "lease = \"100ms\"\n", "c.toml:5: serve.cluster.lease: expected 1s to 10m, got 100ms"},
		{"unreadable pair", head + "tls_cert = \"" + missing + "\"\ntls_key = \"" + missing + "\"\ntls_ca = \"" + notPEM + "\"\n", "c.toml:5: serve.cluster.tls_cert: loading " + missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.toml", tt.src)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
	cl := Cluster{}
	if tlsCfg, err := cl.RouteTLS(); tlsCfg != nil || err != nil {
		t.Fatalf("no tls_cert: got %v, %v; want plain routes", tlsCfg, err)
	}
}
