package publish

import (
	"net/url"
	"strings"
)

// PageURL is the status page's public address, as [serve.status] url
// says it: "https://hub.example.com:7070/status" is the page itself, and
// its feed and updates lie under it. A bare origin
// ("https://status.example.com") means the page the hub serves there,
// its /status. Empty when no url is set.
func PageURL(site string) string {
	site = strings.TrimRight(strings.TrimSpace(site), "/")
	if site == "" {
		return ""
	}
	if u, err := url.Parse(site); err == nil && u.Host != "" && u.Path == "" && u.RawQuery == "" && u.Fragment == "" {
		return site + "/status"
	}
	return site
}
