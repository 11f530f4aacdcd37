package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// rdapDomain is an RFC 9083 domain object as registries serve it.
func rdapDomain(name string, expires time.Time) string {
	return fmt.Sprintf(`{"rdapConformance":["rdap_level_0"],"objectClassName":"domain","handle":"D1-VIGIL","ldhName":%q,
 "status":["active"],
 "events":[{"eventAction":"registration","eventDate":"2019-03-01T10:00:00Z"},
           {"eventAction":"expiration","eventDate":%q},
           {"eventAction":"last update of RDAP database","eventDate":"2026-12-06T23:00:00Z"}],
 "entities":[{"objectClassName":"entity","roles":["registrar"],"vcardArray":["vcard",[["fn",{},"text","Example Registrar"]]]}]}`,
		name, expires.UTC().Format(time.RFC3339))
}

// rdapRegistry is a real HTTP server on loopback answering RDAP domain
// queries and the IANA bootstrap file that points at itself.
func rdapRegistry(t *testing.T, now time.Time) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var bootstraps atomic.Int32
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("/dns.json", func(w http.ResponseWriter, r *http.Request) {
		bootstraps.Add(1)
		fmt.Fprintf(w, `{"version":"1.0","publication":"2026-12-01T00:00:00Z","services":[
 [["test","example"],[%q]],
 [["co.uk"],["%s/uk/"]]]}`, srv.URL+"/rdap/", srv.URL)
	})
	answers := map[string]string{
		"shop.test":    rdapDomain("shop.test", now.Add(20*24*time.Hour)),
		"far.test":     rdapDomain("far.test", now.Add(200*24*time.Hour)),
		"soon.test":    rdapDomain("soon.test", now.Add(3*24*time.Hour)),
		"lapsed.test":  rdapDomain("lapsed.test", now.Add(-24*time.Hour)),
		"noexp.test":   `{"objectClassName":"domain","ldhName":"noexp.test","events":[{"eventAction":"registration","eventDate":"2019-03-01T10:00:00Z"}]}`,
		"garbage.test": `<html>maintenance</html>`,
		"baddate.test": `{"objectClassName":"domain","events":[{"eventAction":"expiration","eventDate":"next tuesday"}]}`,
	}
	mux.HandleFunc("/rdap/domain/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if name == "broken.test" {
			http.Error(w, "upstream", http.StatusBadGateway)
			return
		}
		doc, ok := answers[name]
		if !ok {
			w.Header().Set("Content-Type", "application/rdap+json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errorCode":404,"title":"Not Found"}`)
			return
		}
		w.Header().Set("Content-Type", "application/rdap+json")
		fmt.Fprint(w, doc)
	})
	mux.HandleFunc("/uk/domain/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, rdapDomain(r.PathValue("name"), now.Add(100*24*time.Hour)))
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &bootstraps
}

func TestDomainCheckAgainstRDAP(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	srv, bootstraps := rdapRegistry(t, now)
	boot := &Bootstrap{URL: srv.URL + "/dns.json"}
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		target, rdap, state, detail string
	}{
		{"shop.test", "", protocol.StateWarn, "expires 2026-12-27 (20 days), RDAP " + host},
		{"far.test", "", protocol.StateOK, "(200 days)"},
		{"soon.test", "", protocol.StateDown, "(3 days)"},
		{"lapsed.test", "", protocol.StateDown, "expired 2026-12-06 (1 day ago)"},
		{"noexp.test", "", protocol.StateUnknown, "RDAP answer has no expiration event"},
		{"garbage.test", "", protocol.StateUnknown, "not an RFC 9083 object"},
		{"baddate.test", "", protocol.StateUnknown, `"next tuesday" is not RFC 3339`},
		{"gone.test", "", protocol.StateDown, "gone.test not found at RDAP " + host},
		{"broken.test", "", protocol.StateUnknown, "HTTP 502"},
		{"shop.co.uk", "", protocol.StateOK, "(100 days)"},
		{"shop.nowhere", "", protocol.StateUnknown, "no RDAP server for .nowhere"},
		{"shop.test", srv.URL + "/rdap/", protocol.StateWarn, "(20 days)"},
		{"shop.test", "http://127.0.0.1:1/rdap/", protocol.StateUnknown, "RDAP 127.0.0.1:1 unreachable"},
	}
	for _, tc := range tests {
		c := Check{Type: "domain", Target: tc.target, RDAP: tc.rdap, Bootstrap: boot, Timeout: 5 * time.Second,
			Expiry: Expiry{WarnDays: 30, CritDays: 7}, Now: func() time.Time { return now }}
		r := c.Run(context.Background(), "")
		if r.State != tc.state || !strings.Contains(r.Detail, tc.detail) {
			t.Errorf("%s (rdap %q): got %s %q, want %s with %q", tc.target, tc.rdap, r.State, r.Detail, tc.state, tc.detail)
		}
	}
	if n := bootstraps.Load(); n != 1 {
		t.Errorf("bootstrap fetched %d times, want once (cached)", n)
	}
}

func TestDomainCheckBootstrapUnreachable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens there any more
	c := Check{Type: "domain", Target: "shop.test", Bootstrap: &Bootstrap{URL: srv.URL + "/dns.json"}, Timeout: 2 * time.Second, Expiry: Expiry{30, 7}}
	if r := c.Run(context.Background(), ""); r.State != protocol.StateUnknown || !strings.Contains(r.Detail, "RDAP bootstrap") {
		t.Fatalf("got %+v", r)
	}
}

func TestParseBootstrap(t *testing.T) {
	m, err := ParseBootstrap([]byte(`{"services":[[["com","NET"],["https://rdap.verisign.com/com/v1/"]],[["bad"]]]}`))
	if err != nil || m["net"][0] != "https://rdap.verisign.com/com/v1/" || len(m) != 2 {
		t.Fatalf("got %v %v", m, err)
	}
	for _, bad := range []string{``, `{}`, `{"services":[]}`, `[1]`} {
		if _, err := ParseBootstrap([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParseRDAPExpiry(f *testing.F) {
	f.Add([]byte(rdapDomain("shop.test", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))))
	f.Add([]byte(`{"events":[{"eventAction":"expiration","eventDate":"2027-01-01T00:00:00.5+02:00"}]}`))
	f.Add([]byte(`{"errorCode":404,"title":"Not Found"}`))
	f.Add([]byte(`{"events":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		exp, err := ParseRDAPExpiry(data)
		if err == nil && exp.IsZero() {
			t.Fatal("no error and no expiry")
		}
		c := Check{Expiry: Expiry{30, 7}}
		if err == nil {
			// whatever the date, a parsed expiry yields a known state
			if s := c.Expiry.ExpiryState(exp, time.Now()); s != protocol.StateOK && s != protocol.StateWarn && s != protocol.StateDown {
				t.Fatalf("state %q", s)
			}
		}
	})
}

func FuzzParseBootstrap(f *testing.F) {
	f.Add([]byte(`{"services":[[["com","net"],["https://rdap.verisign.com/com/v1/"]]]}`))
	f.Add([]byte(`{"services":[[[],[]],[["x"],[]]]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseBootstrap(data)
		if err == nil && len(m) == 0 {
			t.Fatal("no error and no servers")
		}
	})
}
