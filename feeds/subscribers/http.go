package subscribers

import (
	"context"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Mail sends one message to one address.
type Mail func(ctx context.Context, to, subject, body, messageID string) error

// Handler serves sign-up, confirmation and unsubscribe beside /status.
// Confirmation mail goes out from Run's goroutine, so the answer to a
// sign-up takes as long whether or not a mail follows: nobody learns
// from it whether an address is subscribed.
type Handler struct {
	Store      *Store
	BaseURL    string // the page's public URL without /status; "" uses the request's host
	SiteName   string
	Components []protocol.Component
	Mail       Mail
	Now        func() time.Time
	Log        *slog.Logger
	// PerClient sign-ups are allowed each Window from one address.
	PerClient int
	Window    time.Duration

	once    sync.Once
	outbox  chan confirmation
	limitMu sync.Mutex
	seen    map[string][]time.Time
}

type confirmation struct {
	to, link, id string
}

// Rate limit defaults: five sign-ups per client each ten minutes.
const (
	DefaultPerClient = 5
	DefaultWindow    = 10 * time.Minute
	outboxSize       = 256
)

func (h *Handler) init() {
	h.once.Do(func() {
		h.outbox = make(chan confirmation, outboxSize)
		h.seen = map[string][]time.Time{}
		if h.Now == nil {
			h.Now = time.Now
		}
		if h.Log == nil {
			h.Log = slog.New(slog.DiscardHandler)
		}
		if h.PerClient <= 0 {
			h.PerClient = DefaultPerClient
		}
		if h.Window <= 0 {
			h.Window = DefaultWindow
		}
	})
}

// Routes is the handler's patterns, for the hub's mux.
func (h *Handler) Routes() map[string]http.Handler {
	h.init()
	return map[string]http.Handler{
		"POST /status/subscribe":           http.HandlerFunc(h.subscribe),
		"GET /status/confirm/{token}":      http.HandlerFunc(h.confirm),
		"GET /status/unsubscribe/{token}":  http.HandlerFunc(h.unsubscribePage),
		"POST /status/unsubscribe/{token}": http.HandlerFunc(h.unsubscribe),
	}
}

// Run sends confirmation mail until ctx ends, and forgets expired
// sign-ups every hour.
func (h *Handler) Run(ctx context.Context) {
	h.init()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := h.Store.Expire(); err != nil {
				h.Log.Error("subscribers: forgetting expired sign-ups", "err", err)
			}
		case c := <-h.outbox:
			mctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := h.Mail(mctx, c.to, h.SiteName+": confirm your subscription",
				"Someone, probably you, asked for updates from "+h.SiteName+"'s status page at this address.\n\n"+
					"To confirm, open:\n"+c.link+"\n\nIf it was not you, ignore this mail: the address is forgotten in 7 days.\n",
				"vigil.confirm."+c.id)
			cancel()
			if err != nil {
				// The address stays out of the log: it is personal data.
				h.Log.Warn("subscribers: confirmation mail not sent", "err", err)
			}
		}
	}
}

// allow reports whether a client may sign up again now.
func (h *Handler) allow(client string) bool {
	h.limitMu.Lock()
	defer h.limitMu.Unlock()
	now := h.Now()
	recent := slices.DeleteFunc(h.seen[client], func(t time.Time) bool { return now.Sub(t) >= h.Window })
	if len(recent) >= h.PerClient {
		h.seen[client] = recent
		return false
	}
	h.seen[client] = append(recent, now)
	if len(h.seen) > 10_000 { // forget the quiet ones rather than grow
		for k, v := range h.seen {
			if len(v) == 0 || now.Sub(v[len(v)-1]) >= h.Window {
				delete(h.seen, k)
			}
		}
	}
	return true
}

func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (h *Handler) base(r *http.Request) string {
	if h.BaseURL != "" {
		return strings.TrimRight(h.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// UnsubscribeURL is the one-click link of a subscriber.
func (h *Handler) UnsubscribeURL(id string) string {
	return strings.TrimRight(h.BaseURL, "/") + "/status/unsubscribe/" + h.Store.UnsubscribeToken(id)
}

func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request) {
	if !h.allow(clientOf(r)) {
		w.Header().Set("Retry-After", "600")
		h.page(w, http.StatusTooManyRequests, "Too many sign-ups", "Too many sign-ups from your address; try again in a few minutes.", "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.page(w, http.StatusBadRequest, "Not understood", "The form could not be read.", "")
		return
	}
	var comps []string
	for _, c := range r.PostForm["components"] {
		if slices.ContainsFunc(h.Components, func(k protocol.Component) bool { return k.ID == c }) && !slices.Contains(comps, c) {
			comps = append(comps, c)
		}
	}
	email, err := Normalize(r.PostFormValue("email"))
	if err != nil {
		h.page(w, http.StatusBadRequest, "Not an email address", "That does not look like an email address.", "")
		return
	}
	tok, err := h.Store.SignUp(email, comps)
	if err != nil {
		h.Log.Error("subscribers: sign-up not stored", "err", err)
	} else if tok != "" {
		id := hash(tok)[:16]
		select {
		case h.outbox <- confirmation{to: email, link: h.base(r) + "/status/confirm/" + tok, id: id}:
		default:
			h.Log.Warn("subscribers: confirmation outbox full; sign-up stays pending")
		}
	}
	h.page(w, http.StatusAccepted, "Check your mail",
		"If the address can be subscribed, a link to confirm is on its way. Nothing is sent until it is confirmed.", "")
}

func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) {
	ok, err := h.Store.Confirm(r.PathValue("token"))
	switch {
	case err != nil:
		h.Log.Error("subscribers: confirmation not stored", "err", err)
		h.page(w, http.StatusInternalServerError, "Not confirmed", "The confirmation could not be stored; try the link again later.", "")
	case !ok:
		h.page(w, http.StatusNotFound, "Unknown link", "This link is unknown or has expired (sign-ups wait 7 days); sign up again on the status page.", "")
	default:
		h.page(w, http.StatusOK, "Confirmed", "You will get an email when "+h.SiteName+" posts an update. Every email has a link to unsubscribe.", "")
	}
}

func (h *Handler) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	h.page(w, http.StatusOK, "Unsubscribe", "Stop the emails and erase your address from "+h.SiteName+"'s status page?", "/status/unsubscribe/"+r.PathValue("token"))
}

// unsubscribe is RFC 8058's one-click POST: no confirmation step.
func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	ok, err := h.Store.Unsubscribe(r.PathValue("token"))
	switch {
	case err != nil:
		h.Log.Error("subscribers: erasure not stored", "err", err)
		h.page(w, http.StatusInternalServerError, "Not unsubscribed", "The erasure could not be stored; try again later.", "")
	case !ok:
		h.page(w, http.StatusNotFound, "Unknown link", "This link is unknown: the address may already be erased.", "")
	default:
		h.page(w, http.StatusOK, "Unsubscribed", "Your address is erased; no more emails will be sent to it.", "")
	}
}

var pageTmpl = template.Must(template.New("p").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}button{font:inherit;padding:.5rem 1rem}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Text}}</p>
{{if .Action}}<form method="post" action="{{.Action}}"><button type="submit">Unsubscribe</button></form>{{end}}
<p><a href="/status">Back to the status page</a></p></body></html>
`))

func (h *Handler) page(w http.ResponseWriter, code int, title, text, action string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	pageTmpl.Execute(w, struct{ Title, Text, Action string }{title, text, action})
}
