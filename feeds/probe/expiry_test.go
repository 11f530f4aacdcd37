package probe

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// testCA issues certificates for the tests' TLS servers.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // the CA certificate as PEM, for ca_file
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil test CA"},
		NotBefore: time.Now().Add(-365 * 24 * time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, file: file}
}

// leaf issues a certificate for name valid until notAfter.
func (ca *testCA) leaf(t *testing.T, name string, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: notAfter.Add(-90 * 24 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serveTLS runs a real TLS server on loopback that completes handshakes
// with cert, and returns its address.
func serveTLS(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				conn.(*tls.Conn).Handshake()
			}()
		}
	}()
	return ln.Addr().String()
}

func TestTLSCheckAgainstRealServer(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	now := time.Now()
	day := 24 * time.Hour
	expiry := Expiry{WarnDays: 21, CritDays: 7}
	tests := []struct {
		name       string
		cert       tls.Certificate
		serverName string
		caFile     string
		state      string
		detail     []string
	}{
		{"five days left is crit", ca.leaf(t, "shop.test", now.Add(5*day)), "shop.test", ca.file, protocol.StateDown,
			[]string{"expires " + now.Add(5*day).UTC().Format(time.DateOnly) + " (5 days), issuer vigil test CA"}},
		{"one day left is crit", ca.leaf(t, "shop.test", now.Add(day)), "shop.test", ca.file, protocol.StateDown, []string{"(1 day)"}},
		{"fourteen days left warns", ca.leaf(t, "shop.test", now.Add(14*day)), "shop.test", ca.file, protocol.StateWarn, []string{"(14 days)"}},
		{"ninety days left is ok", ca.leaf(t, "shop.test", now.Add(90*day)), "shop.test", ca.file, protocol.StateOK, []string{"(90 days)"}},
		{"expired", ca.leaf(t, "shop.test", now.Add(-2*day)), "shop.test", ca.file, protocol.StateDown,
			[]string{"certificate expired " + now.Add(-2*day).UTC().Format(time.DateOnly) + " (2 days ago)"}},
		{"wrong name", ca.leaf(t, "old.test", now.Add(90*day)), "shop.test", ca.file, protocol.StateDown,
			[]string{"wrong name: certificate is for old.test, not shop.test"}},
		{"chain does not verify", ca.leaf(t, "shop.test", now.Add(90*day)), "shop.test", "", protocol.StateDown,
			[]string{"chain does not verify", "vigil test CA"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := serveTLS(t, tc.cert)
			c := Check{Type: "tls", Target: addr, Timeout: 5 * time.Second, Expiry: expiry,
				TLS: TLS{ServerName: tc.serverName, CAFile: tc.caFile}, Now: func() time.Time { return now }}
			r := c.Run(context.Background(), "")
			if r.State != tc.state {
				t.Errorf("state = %s, want %s (%s)", r.State, tc.state, r.Detail)
			}
			for _, want := range tc.detail {
				if !strings.Contains(r.Detail, want) {
					t.Errorf("detail %q lacks %q", r.Detail, want)
				}
			}
		})
	}
}

func TestTLSCheckHandshakeRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() { // a server that speaks no TLS: it hangs up
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	defer ln.Close()
	c := Check{Type: "tls", Target: addr, Timeout: 2 * time.Second, Expiry: Expiry{21, 7}}
	if r := c.Run(context.Background(), ""); r.State != protocol.StateDown || !strings.Contains(r.Detail, "handshake with "+addr) {
		t.Fatalf("got %+v", r)
	}
}

func TestHTTPSCheckBodyAndExpiry(t *testing.T) {
	t.Parallel()
	ca := newTestCA(t)
	now := time.Now()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>Order status: ok, 42 in queue</html>"))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf(t, "shop.test", now.Add(10*24*time.Hour))}}
	srv.StartTLS()
	defer srv.Close()
	tests := []struct {
		expectBody, state, detail string
	}{
		{"Order status: ok", protocol.StateWarn, "HTTP 200, certificate expires " + now.Add(10*24*time.Hour).UTC().Format(time.DateOnly) + " (10 days)"},
		{`/\d+ in queue/`, protocol.StateWarn, "HTTP 200"},
		{"Order status: failed", protocol.StateDown, "body lacks Order status: failed"},
		{`/queue: \d+/`, protocol.StateDown, "body lacks"},
		{`/(unclosed/`, protocol.StateUnknown, "expect_body"},
	}
	for _, tc := range tests {
		c := Check{Type: "http", Target: srv.URL + "/orders", Timeout: 5 * time.Second, ExpectBody: tc.expectBody,
			Expiry: Expiry{21, 7}, TLS: TLS{ServerName: "shop.test", CAFile: ca.file}, Now: func() time.Time { return now }}
		r := c.Run(context.Background(), "")
		if r.State != tc.state || !strings.Contains(r.Detail, tc.detail) {
			t.Errorf("expect_body %q: got %+v, want %s with %q", tc.expectBody, r, tc.state, tc.detail)
		}
	}
	c := Check{Type: "http", Target: srv.URL, Timeout: 5 * time.Second, Expiry: Expiry{21, 7}, TLS: TLS{ServerName: "other.test", CAFile: ca.file}}
	if r := c.Run(context.Background(), ""); r.State != protocol.StateDown || !strings.Contains(r.Detail, "wrong name") {
		t.Errorf("wrong name over https: %+v", r)
	}
}

func TestExpiryState(t *testing.T) {
	now := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	e := Expiry{WarnDays: 21, CritDays: 7}
	for _, tc := range []struct {
		left  time.Duration
		state string
	}{
		{-time.Hour, protocol.StateDown}, {0, protocol.StateDown}, {6 * 24 * time.Hour, protocol.StateDown},
		{7 * 24 * time.Hour, protocol.StateWarn}, {20 * 24 * time.Hour, protocol.StateWarn},
		{21 * 24 * time.Hour, protocol.StateOK}, {400 * 24 * time.Hour, protocol.StateOK},
	} {
		if got := e.ExpiryState(now.Add(tc.left), now); got != tc.state {
			t.Errorf("%s left: %s, want %s", tc.left, got, tc.state)
		}
	}
	if got := ExpiryDetail(now.Add(14*24*time.Hour), now, "R3"); got != "expires 2026-12-21 (14 days), issuer R3" {
		t.Errorf("detail %q", got)
	}
}
