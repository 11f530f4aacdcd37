package server

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
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/probe"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// expiringServer serves a real TLS handshake on loopback with a certificate
// for name that expires at notAfter; it returns the address and a CA file
// that trusts it.
func expiringServer(t *testing.T, name string, notAfter time.Time) (addr, caFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: notAfter.Add(-90 * 24 * time.Hour), NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); c.SetDeadline(time.Now().Add(5 * time.Second)); c.(*tls.Conn).Handshake() }()
		}
	}()
	return ln.Addr().String(), caFile
}

// A certificate inside warn_days is journaled once as it crosses, with
// its date, however often it is checked and across a restart of the hub.
func TestExpiryCrossingJournaledOnce(t *testing.T) {
	expires := time.Now().Add(14 * 24 * time.Hour)
	addr, ca := expiringServer(t, "shop.test", expires)
	check := probe.Check{Name: "shop-cert", Type: "tls", Target: addr, Every: 5 * time.Millisecond, Timeout: 5 * time.Second, Rise: 1, Fall: 1,
		Expiry: probe.Expiry{WarnDays: 21, CritDays: 7}, TLS: probe.TLS{ServerName: "shop.test", CAFile: ca}}
	runCheck := func(h *Hub, checks int) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		wg.Add(1)
		counted := &countingSink{Hub: h, stopAt: checks, stop: cancel}
		go func() { defer wg.Done(); probe.RunCheck(ctx, "web-1", check, "", counted) }()
		wg.Wait()
	}
	dir := t.TempDir()
	srv := startServer(t, dir, "", Options{})
	runCheck(srv.hub, 5)
	want := "shop-cert on web-1 new → warn: expires " + expires.UTC().Format(time.DateOnly) + " (14 days), issuer shop.test"
	eventually(t, "the warn transition", func() bool { return len(transitions(srv.hub)) == 1 })
	addr2 := srv.addr
	srv.stop()
	srv2 := startServer(t, dir, addr2, Options{})
	runCheck(srv2.hub, 5)
	got := transitions(srv2.hub)
	if len(got) != 1 || got[0] != want {
		t.Fatalf("transitions %q, want once %q", got, want)
	}
}

// countingSink passes a check's reports to the hub and ends the check
// after stopAt of them.
type countingSink struct {
	*Hub
	n, stopAt int
	stop      func()
}

func (c *countingSink) PublishService(s protocol.Service) {
	c.Hub.PublishService(s)
	if c.n++; c.n >= c.stopAt {
		c.stop()
	}
}
