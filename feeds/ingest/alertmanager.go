package ingest

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Webhook is Alertmanager's webhook payload, version 4.
type Webhook struct {
	Version  string  `json:"version"`
	Status   string  `json:"status"`
	Receiver string  `json:"receiver"`
	Alerts   []Alert `json:"alerts"`
}

// Alert is one alert of a webhook.
type Alert struct {
	Status      string            `json:"status"` // firing | resolved
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    string            `json:"startsAt"`
	EndsAt      string            `json:"endsAt"`
	Fingerprint string            `json:"fingerprint"`
}

// WebhookVersion is the only payload version read.
const WebhookVersion = "4"

// maxAlerts bounds one payload; Alertmanager's own max_alerts is unbounded
// by default, but a group of thousands is a flood, not news.
const maxAlerts = 1000

// DecodeWebhook reads a webhook payload. Times are read leniently (an
// unreadable one is absent); a wrong version or shape is an error.
func DecodeWebhook(data []byte) (Webhook, error) {
	var w Webhook
	if err := json.Unmarshal(data, &w); err != nil {
		return Webhook{}, fmt.Errorf("alertmanager webhook: %w", err)
	}
	if w.Version != WebhookVersion {
		return Webhook{}, fmt.Errorf("alertmanager webhook: version %q; this hub reads version %s", w.Version, WebhookVersion)
	}
	if len(w.Alerts) > maxAlerts {
		return Webhook{}, fmt.Errorf("alertmanager webhook: %d alerts; at most %d in one payload", len(w.Alerts), maxAlerts)
	}
	return w, nil
}

// maxDetailBytes bounds a service's detail taken from an annotation.
const maxDetailBytes = 4 << 10

// Service is the alert as a service state on a host: host from the host
// label, else instance without its port; service from alertname; state
// from severity (critical or page: down; anything else: warn), ok once
// resolved; detail from the summary or description annotation while
// firing, and once resolved "resolved" (or a resolved_summary annotation).
func (a Alert) Service(now time.Time) (protocol.Service, error) {
	host := a.Labels["host"]
	if host == "" {
		host = a.Labels["instance"]
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	if host == "" {
		return protocol.Service{}, errors.New("alert has neither a host nor an instance label")
	}
	name := a.Labels["alertname"]
	if err := protocol.CheckID("host", host); err != nil {
		return protocol.Service{}, fmt.Errorf("alert %s: %w", name, err)
	}
	if err := protocol.CheckID("alertname", name); err != nil {
		return protocol.Service{}, fmt.Errorf("alert on %s: %w", host, err)
	}
	state := protocol.StateWarn
	switch strings.ToLower(a.Labels["severity"]) {
	case "critical", "page":
		state = protocol.StateDown
	}
	since := alertTime(a.StartsAt)
	if a.Status == "resolved" {
		state, since = protocol.StateOK, alertTime(a.EndsAt)
	}
	if since.IsZero() || since.After(now) {
		since = now
	}
	detail := a.Annotations["summary"]
	if detail == "" {
		detail = a.Annotations["description"]
	}
	if a.Status == "resolved" {
		// The summary says what was wrong ("mysqld not answering"); beside
		// "ok" it reads as if it still were.
		detail = "resolved"
		if r := a.Annotations["resolved_summary"]; r != "" {
			detail = r
		}
	}
	return protocol.Service{Host: host, Service: name, State: state, Detail: clip(detail, maxDetailBytes),
		Since: protocol.At(since), At: protocol.At(now)}, nil
}

// alertTime reads an RFC 3339 time; Alertmanager writes the zero time
// (0001-01-01T00:00:00Z) for "none".
func alertTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 || !protocol.InRange(t) {
		return time.Time{}
	}
	return t
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ServicePublisher takes services: the hub, which journals their changes.
type ServicePublisher interface {
	PublishService(protocol.Service)
}

// OnceServicePublisher journals a change of state at most once per
// identity however many hubs of a cluster are told it: an Alertmanager
// cluster posts each notification to every hub it knows.
type OnceServicePublisher interface {
	PublishServiceOnce(s protocol.Service, id string)
}

// Identity names one transition of one alert, the same from every
// Alertmanager of a cluster: its fingerprint, its status and when that
// status began (startsAt firing, endsAt resolved). A notification repeated
// later has the same identity; the alert firing again has another.
func (a Alert) Identity() string {
	at := a.StartsAt
	if a.Status == "resolved" {
		at = a.EndsAt
	}
	if t := alertTime(at); !t.IsZero() {
		at = strconv.FormatInt(t.UnixMilli(), 10)
	}
	return "am-" + a.Fingerprint + "-" + a.Status + "-" + at
}

// Alertmanager serves POST /alertmanager.
type Alertmanager struct {
	Token string // required as a bearer token if set
	Sink  ServicePublisher
	Log   *slog.Logger
	Now   func() time.Time
}

// maxWebhookBytes bounds a payload.
const maxWebhookBytes = 4 << 20

func (am *Alertmanager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST Alertmanager's webhook here", http.StatusMethodNotAllowed)
		return
	}
	if am.Token != "" {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(am.Token)) != 1 {
			if am.Log != nil {
				am.Log.Warn("refused an Alertmanager webhook: HTTP 401, no valid bearer token", "remote", r.RemoteAddr)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigil"`)
			http.Error(w, "a valid bearer token is required (http_config: authorization: credentials)", http.StatusUnauthorized)
			return
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("payload larger than %d bytes", maxWebhookBytes), http.StatusRequestEntityTooLarge)
			return
		}
		// The server's read deadline passed (or the client went away).
		am.log().Warn("alertmanager webhook: the body did not arrive", "err", err, "remote", r.RemoteAddr)
		w.Header().Set("Connection", "close")
		http.Error(w, "the request body did not arrive in time", http.StatusRequestTimeout)
		return
	}
	hook, err := DecodeWebhook(data)
	if err != nil {
		am.log().Warn("alertmanager webhook refused", "err", err, "remote", r.RemoteAddr)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now
	if am.Now != nil {
		now = am.Now
	}
	taken, skipped := 0, 0
	for _, a := range hook.Alerts {
		s, err := a.Service(now())
		if err != nil {
			skipped++
			am.log().Warn("alertmanager alert skipped", "err", err, "fingerprint", a.Fingerprint)
			continue
		}
		if once, ok := am.Sink.(OnceServicePublisher); ok && a.Fingerprint != "" {
			once.PublishServiceOnce(s, a.Identity())
		} else {
			am.Sink.PublishService(s)
		}
		taken++
	}
	fmt.Fprintf(w, "took %d alerts, skipped %d\n", taken, skipped)
}

func (am *Alertmanager) log() *slog.Logger {
	if am.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return am.Log
}
