package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"
)

// validateClusterTLS checks [serve.cluster] tls_cert, tls_key and tls_ca:
// all three or none, and readable as serve would read them.
func (c *Config) validateClusterTLS(add func(key []string, index int, format string, args ...any)) {
	cl := c.Serve.Cluster
	if cl.Lease.Duration < time.Second || cl.Lease.Duration > 10*time.Minute {
		add([]string{"serve", "cluster", "lease"}, -1, "expected 1s to 10m, got %s", cl.Lease)
	}
	if cl.TLSCert == "" && cl.TLSKey == "" && cl.TLSCA == "" {
		return
	}
	key := func(k string) []string { return []string{"serve", "cluster", k} }
	for _, k := range []struct{ name, v string }{{"tls_cert", cl.TLSCert}, {"tls_key", cl.TLSKey}, {"tls_ca", cl.TLSCA}} {
		if k.v == "" {
			add(key(k.name), -1, "tls_cert, tls_key and tls_ca go together: routes between hubs are mutual TLS under the cluster's CA")
			return
		}
	}
	if _, err := cl.RouteTLS(); err != nil {
		var ke *clusterTLSError
		if errors.As(err, &ke) {
			add(key(ke.key), -1, "%v", ke.err)
		}
	}
}

type clusterTLSError struct {
	key string
	err error
}

func (e *clusterTLSError) Error() string { return e.key + ": " + e.err.Error() }

// RouteTLS is the TLS of the routes between hubs, nil without tls_cert:
// each hub presents its certificate and accepts a peer (dialling or
// dialled) only with a certificate signed by tls_ca. A process without
// one is refused before it can route a message.
func (cl Cluster) RouteTLS() (*tls.Config, error) {
	if cl.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cl.TLSCert, cl.TLSKey)
	if err != nil {
		return nil, &clusterTLSError{"tls_cert", fmt.Errorf("loading %s and %s: %w", cl.TLSCert, cl.TLSKey, err)}
	}
	pem, err := os.ReadFile(cl.TLSCA)
	if err != nil {
		return nil, &clusterTLSError{"tls_ca", err}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, &clusterTLSError{"tls_ca", fmt.Errorf("%s holds no PEM certificate", cl.TLSCA)}
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	}, nil
}
