package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// DefaultBootstrapURL is IANA's registry of RDAP servers by TLD (RFC 9224).
const DefaultBootstrapURL = "https://data.iana.org/rdap/dns.json"

// maxRDAP bounds an RDAP or bootstrap document; IANA's is about 100 KiB.
const maxRDAP = 4 << 20

// Bootstrap finds a TLD's RDAP server in IANA's registry, fetched once and
// again after TTL; every domain check of a server shares one.
type Bootstrap struct {
	URL string        // DefaultBootstrapURL when empty
	TTL time.Duration // 24h when zero

	mu      sync.Mutex
	fetched time.Time
	servers map[string][]string
}

// ErrNoExpiration is an RDAP answer without an expiration event.
var ErrNoExpiration = errors.New("RDAP answer has no expiration event")

// rdapDoc is the part of an RFC 9083 domain object a check reads.
type rdapDoc struct {
	ObjectClassName string `json:"objectClassName"`
	LDHName         string `json:"ldhName"`
	Events          []struct {
		Action string `json:"eventAction"`
		Date   string `json:"eventDate"`
	} `json:"events"`
	ErrorCode   int      `json:"errorCode"`
	Title       string   `json:"title"`
	Description []string `json:"description"`
}

// ParseRDAPExpiry reads the expiration event of an RDAP domain object.
func ParseRDAPExpiry(data []byte) (time.Time, error) {
	var doc rdapDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return time.Time{}, fmt.Errorf("RDAP answer is not an RFC 9083 object: %w", err)
	}
	if doc.ErrorCode != 0 {
		return time.Time{}, fmt.Errorf("RDAP error %d: %s", doc.ErrorCode, doc.Title)
	}
	for _, e := range doc.Events {
		if e.Action != "expiration" {
			continue
		}
		t, err := time.Parse(time.RFC3339, e.Date)
		if err != nil {
			return time.Time{}, fmt.Errorf("RDAP expiration date %q is not RFC 3339", e.Date)
		}
		return t, nil
	}
	return time.Time{}, ErrNoExpiration
}

// ParseBootstrap reads an RFC 9224 bootstrap file: TLD to RDAP base URLs.
func ParseBootstrap(data []byte) (map[string][]string, error) {
	var doc struct {
		Services [][][]string `json:"services"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("RDAP bootstrap file: %w", err)
	}
	out := map[string][]string{}
	for _, svc := range doc.Services {
		if len(svc) != 2 {
			continue
		}
		for _, tld := range svc[0] {
			out[strings.ToLower(tld)] = svc[1]
		}
	}
	if len(out) == 0 {
		return nil, errors.New("RDAP bootstrap file lists no servers")
	}
	return out, nil
}

// Server returns the RDAP base URL for domain, fetching the registry when
// it is not held or older than TTL (a failed refresh keeps the old one).
func (b *Bootstrap) Server(ctx context.Context, domain string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ttl := b.TTL
	if ttl == 0 {
		ttl = 24 * time.Hour
	}
	if b.servers == nil || time.Since(b.fetched) > ttl {
		servers, err := b.fetch(ctx)
		if err != nil && b.servers == nil {
			return "", err
		}
		if err == nil {
			b.servers, b.fetched = servers, time.Now()
		}
	}
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(domain, ".")), ".")
	for i := range labels { // the longest entry that matches wins
		if urls := b.servers[strings.Join(labels[i:], ".")]; len(urls) > 0 {
			for _, u := range urls {
				if strings.HasPrefix(u, "https://") {
					return u, nil
				}
			}
			return urls[0], nil
		}
	}
	return "", fmt.Errorf("no RDAP server for .%s in the bootstrap registry; set rdap", labels[len(labels)-1])
}

func (b *Bootstrap) fetch(ctx context.Context) (map[string][]string, error) {
	u := b.URL
	if u == "" {
		u = DefaultBootstrapURL
	}
	data, status, err := getJSON(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("RDAP bootstrap %s unreachable: %s", u, shortErr(err))
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("RDAP bootstrap %s: HTTP %d", u, status)
	}
	return ParseBootstrap(data)
}

func getJSON(ctx context.Context, u string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/rdap+json, application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRDAP))
	return data, resp.StatusCode, err
}

// runDomain asks the registry when the domain's registration expires. A
// registry that cannot be asked is unknown: never ok.
func (c *Check) runDomain(ctx context.Context) Result {
	base := c.RDAP
	if base == "" {
		if c.Bootstrap == nil {
			c.Bootstrap = &Bootstrap{}
		}
		var err error
		if base, err = c.Bootstrap.Server(ctx, c.Target); err != nil {
			return Result{protocol.StateUnknown, err.Error()}
		}
	}
	u := strings.TrimSuffix(base, "/") + "/domain/" + url.PathEscape(c.Target)
	data, status, err := getJSON(ctx, u)
	host := base
	if pu, perr := url.Parse(base); perr == nil && pu.Host != "" {
		host = pu.Host
	}
	switch {
	case err != nil:
		return Result{protocol.StateUnknown, "RDAP " + host + " unreachable: " + shortErr(err)}
	case status == http.StatusNotFound:
		return Result{protocol.StateDown, c.Target + " not found at RDAP " + host + " (not registered, or lapsed)"}
	case status != http.StatusOK:
		return Result{protocol.StateUnknown, fmt.Sprintf("RDAP %s: HTTP %d", host, status)}
	}
	expires, err := ParseRDAPExpiry(data)
	if err != nil {
		return Result{protocol.StateUnknown, err.Error() + " (RDAP " + host + ")"}
	}
	now := c.now()
	return Result{c.Expiry.ExpiryState(expires, now), ExpiryDetail(expires, now, "") + ", RDAP " + host}
}
