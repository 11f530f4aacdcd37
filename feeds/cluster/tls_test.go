package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/config"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a hub certificate for 127.0.0.1 (server and client: a
// route is dialled by either side) and its key into dir, and the CA's
// certificate beside them; it returns [serve.cluster]'s three paths.
func (ca *testCA) issue(t *testing.T, dir, name string) config.Cluster {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cl := config.Cluster{TLSCert: filepath.Join(dir, name+".crt"), TLSKey: filepath.Join(dir, name+".key"), TLSCA: filepath.Join(dir, name+"-ca.crt")}
	for path, data := range map[string][]byte{
		cl.TLSCert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		cl.TLSKey:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		cl.TLSCA:   ca.pem,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cl
}

// logLines is a slog handler that keeps what nats-server logged.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l *logLines) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.lines = append(l.lines, r.Message)
	l.mu.Unlock()
	return nil
}
func (l *logLines) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logLines) WithGroup(string) slog.Handler      { return l }

// count is how many lines hold s.
func (l *logLines) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}

// Routes made with the cluster's certificates form the cluster; a route
// from a process without one, or with one another CA signed, is refused
// in the TLS handshake.
func TestRoutesAreMutualTLS(t *testing.T) {
	clusterTest(t)
	dir := t.TempDir()
	ca := newTestCA(t, "vigil cluster CA")
	routes := freeAddrs(t, 4)
	logs := &logLines{}
	nodes := make([]*Node, 3)
	for i := range nodes {
		cl := ca.issue(t, dir, fmt.Sprintf("hub-%d", i))
		tlsCfg, err := cl.RouteTLS()
		if err != nil {
			t.Fatal(err)
		}
		var peers []string
		for k, r := range routes[:3] {
			if k != i {
				peers = append(peers, r)
			}
		}
		cfg := NodeConfig{Server: fmt.Sprintf("hub-%d", i), Cluster: "tls", Listen: routes[i], Peers: peers, DataDir: t.TempDir(), TLS: tlsCfg}
		if i == 0 {
			cfg.Logger = slog.New(logs)
		}
		if nodes[i], err = StartNode(cfg); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nodes[i].Shutdown)
	}
	defer func() {
		if t.Failed() {
			for _, l := range logs.lines {
				t.Log(l)
			}
		}
	}()
	waitFor(t, "the three hubs to route to each other over TLS", 30*time.Second, func() bool {
		return nodes[0].Routes() == 2 && nodes[1].Routes() == 2 && nodes[2].Routes() == 2
	})

	// A client that trusts the CA but has no certificate of its own.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", routes[0], &tls.Config{RootCAs: pool})
	if err == nil {
		// TLS 1.3 reports the server's refusal on the first read.
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("a route without a client certificate: got %v, want the handshake refused for it", err)
	}

	// A nats-server with a certificate from another CA asks to route
	// (hub-0 has logged the refusal above already: wait for another).
	refused := logs.count("certificate")
	other := newTestCA(t, "someone else's CA").issue(t, dir, "intruder")
	otherTLS, err := other.RouteTLS()
	if err != nil {
		t.Fatal(err)
	}
	otherTLS.RootCAs = pool // it trusts the hubs: only they can refuse it
	intruder, err := StartNode(NodeConfig{Server: "intruder", Cluster: "tls", Listen: routes[3], Peers: routes[:2], DataDir: t.TempDir(), TLS: otherTLS})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(intruder.Shutdown)
	waitFor(t, "hub-0 to refuse the intruder's route", 30*time.Second, func() bool { return logs.count("certificate") > refused })
	// The hubs' own routes are pooled connections, one of which may be
	// closed and made again (a duplicate) while the cluster settles:
	// hub-0 must be back to its two peers, and the intruder never routed.
	deadline := time.Now().Add(30 * time.Second)
	for {
		n, in := nodes[0].Routes(), intruder.Routes()
		if n == 2 && in == 0 {
			break
		}
		if in != 0 || time.Now().After(deadline) {
			t.Fatalf("after the intruder's route: hub-0 has %d routes (want 2), the intruder %d (want 0)", n, in)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
