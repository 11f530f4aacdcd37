package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Expiry says how near a certificate's or a domain's expiry warns: inside
// WarnDays the service is warn, inside CritDays down.
type Expiry struct {
	WarnDays int
	CritDays int
}

// TLS says whom a tls or https check trusts: the system roots, or only
// the certificates in CAFile; ServerName is the name the certificate must
// carry (default: the target's host).
type TLS struct {
	ServerName string
	CAFile     string
}

func (c *Check) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// ExpiryState classifies an expiry at notAfter seen at now.
func (e Expiry) ExpiryState(notAfter, now time.Time) string {
	left := notAfter.Sub(now)
	switch {
	case left <= 0 || left < days(e.CritDays):
		return protocol.StateDown
	case left < days(e.WarnDays):
		return protocol.StateWarn
	}
	return protocol.StateOK
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// DaysLeft is the whole days from now to t, rounded: a certificate made
// to last five days says 5 until its last half day.
func DaysLeft(t, now time.Time) int {
	return int(math.Round(t.Sub(now).Hours() / 24))
}

// ExpiryDetail is the detail line of an expiry: "expires 2026-12-20 (14
// days), issuer R3", or "expired 2026-12-01 (6 days ago)".
func ExpiryDetail(notAfter, now time.Time, issuer string) string {
	n := DaysLeft(notAfter, now)
	var b strings.Builder
	if notAfter.After(now) {
		fmt.Fprintf(&b, "expires %s (%s)", notAfter.UTC().Format(time.DateOnly), plural(n, "day"))
	} else {
		fmt.Fprintf(&b, "expired %s (%s ago)", notAfter.UTC().Format(time.DateOnly), plural(-n, "day"))
	}
	if issuer != "" {
		b.WriteString(", issuer " + issuer)
	}
	return b.String()
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

func issuerName(cert *x509.Certificate) string {
	if cn := cert.Issuer.CommonName; cn != "" {
		return cn
	}
	if len(cert.Issuer.Organization) > 0 {
		return cert.Issuer.Organization[0]
	}
	return cert.Issuer.String()
}

// tlsConfig is the client side of a tls or https check.
func (c *Check) tlsConfig(host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, Time: c.now, MinVersion: tls.VersionTLS12}
	if c.ServerName != "" {
		cfg.ServerName = c.ServerName
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", c.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

func (c *Check) runTLS(ctx context.Context) Result {
	host, _, err := net.SplitHostPort(c.Target)
	if err != nil {
		return Result{protocol.StateUnknown, "target: " + err.Error()}
	}
	cfg, err := c.tlsConfig(host)
	if err != nil {
		return Result{protocol.StateUnknown, err.Error()}
	}
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", c.Target)
	if err != nil {
		return Result{protocol.StateDown, c.handshakeFailure(err)}
	}
	defer conn.Close()
	certs := conn.(*tls.Conn).ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return Result{protocol.StateDown, "handshake with " + c.Target + ": no certificate"}
	}
	return c.certResult(certs[0])
}

// certResult is the expiry of a verified leaf certificate.
func (c *Check) certResult(leaf *x509.Certificate) Result {
	now := c.now()
	return Result{c.Expiry.ExpiryState(leaf.NotAfter, now), ExpiryDetail(leaf.NotAfter, now, issuerName(leaf))}
}

// handshakeFailure says why a certificate was refused in the words of
// the one who must renew it.
func (c *Check) handshakeFailure(err error) string {
	var inv x509.CertificateInvalidError
	var host x509.HostnameError
	var auth x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		return "certificate " + ExpiryDetail(inv.Cert.NotAfter, c.now(), issuerName(inv.Cert))
	case errors.As(err, &host):
		names := host.Certificate.DNSNames
		if len(names) == 0 {
			names = []string{host.Certificate.Subject.CommonName}
		}
		return fmt.Sprintf("wrong name: certificate is for %s, not %s", strings.Join(names, ", "), host.Host)
	case errors.As(err, &auth):
		issuer := ""
		if auth.Cert != nil {
			issuer = issuerName(auth.Cert)
		}
		return "chain does not verify: certificate issued by " + issuer + ", not a trusted authority"
	case errors.As(err, &verify):
		return "chain does not verify: " + verify.Err.Error()
	}
	return "handshake with " + c.Target + ": " + shortErr(err)
}

// maxBody bounds how much of a page expect_body searches.
const maxBody = 1 << 20

func (c *Check) runHTTP(req *http.Request) Result {
	client := http.DefaultClient
	if req.URL.Scheme == "https" {
		cfg, err := c.tlsConfig(req.URL.Hostname())
		if err != nil {
			return Result{protocol.StateUnknown, err.Error()}
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig, tr.DisableKeepAlives = cfg, true
		client = &http.Client{Transport: tr}
	}
	resp, err := client.Do(req)
	if err != nil {
		var inv x509.CertificateInvalidError
		var host x509.HostnameError
		var auth x509.UnknownAuthorityError
		if errors.As(err, &inv) || errors.As(err, &host) || errors.As(err, &auth) {
			return Result{protocol.StateDown, "GET " + c.Target + ": " + c.handshakeFailure(err)}
		}
		return Result{protocol.StateDown, "GET " + c.Target + ": " + shortErr(err)}
	}
	defer resp.Body.Close()
	want := c.Expect
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return Result{protocol.StateDown, fmt.Sprintf("GET %s: HTTP %d, want %d", c.Target, resp.StatusCode, want)}
	}
	if c.ExpectBody != "" {
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if err != nil {
			return Result{protocol.StateDown, "GET " + c.Target + ": reading the body: " + shortErr(err)}
		}
		found, err := BodyHas(body, c.ExpectBody)
		if err != nil {
			return Result{protocol.StateUnknown, "expect_body: " + err.Error()}
		}
		if !found {
			return Result{protocol.StateDown, fmt.Sprintf("GET %s: HTTP %d but the body lacks %s", c.Target, resp.StatusCode, c.ExpectBody)}
		}
	}
	r := Result{protocol.StateOK, fmt.Sprintf("HTTP %d", resp.StatusCode)}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		cert := c.certResult(resp.TLS.PeerCertificates[0])
		r.State, r.Detail = cert.State, r.Detail+", certificate "+cert.Detail
	}
	return r
}

// BodyHas reports whether body holds want: a substring, or a regexp
// written between slashes ("/order (ok|done)/").
func BodyHas(body []byte, want string) (bool, error) {
	if re, ok := strings.CutPrefix(want, "/"); ok && len(re) > 0 && strings.HasSuffix(re, "/") {
		rx, err := regexp.Compile(strings.TrimSuffix(re, "/"))
		if err != nil {
			return false, err
		}
		return rx.Match(body), nil
	}
	return strings.Contains(string(body), want), nil
}
