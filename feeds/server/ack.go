package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// PagingSecretName is the acknowledge links' key file in the data
// directory.
const PagingSecretName = "paging.key"

// LoadPagingSecret reads the acknowledge links' key from dir, making one
// (32 random bytes, readable by the hub's user only) the first time. It
// lives beside the journal so links stay valid across restarts.
func LoadPagingSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, PagingSecretName)
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	rand.Read(b)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return b, nil
}

var b64 = base64.RawURLEncoding.Strict() // one spelling per token

func ackMAC(secret []byte, payload string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("vigil ack\x00" + payload))
	return m.Sum(nil)[:18]
}

// ackToken is the token of person's acknowledge link for page: the page
// and person, and an HMAC over both.
func ackToken(secret []byte, page, person string) string {
	payload := page + "\x00" + person
	return b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(ackMAC(secret, payload))
}

// readAckToken checks a token and returns its page and person.
func readAckToken(secret []byte, token string) (page, person string, ok bool) {
	// The decoder skips line breaks; a token is only what ackToken writes.
	if strings.ContainsFunc(token, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) {
		return "", "", false
	}
	p, m, found := strings.Cut(token, ".")
	if !found {
		return "", "", false
	}
	payload, err1 := b64.DecodeString(p)
	mac, err2 := b64.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, ackMAC(secret, string(payload))) {
		return "", "", false
	}
	page, person, found = strings.Cut(string(payload), "\x00")
	return page, person, found
}

// pagingRoutes serves the acknowledge links and /metrics.
func (h *Hub) pagingRoutes(mux *http.ServeMux) {
	mux.Handle("GET /metrics", h.metricsHandler())
	if h.pager == nil {
		return
	}
	mux.HandleFunc("GET /ack/{token}", h.serveAck)
	mux.HandleFunc("POST /ack/{token}", h.serveAck)
}

// serveAck answers an acknowledge link: GET shows the page and a button
// (mail scanners follow links, so it never acknowledges), POST
// acknowledges as the person the link was made for.
func (h *Hub) serveAck(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	page, person, ok := h.pager.readAck(token)
	if !ok {
		ackPage(w, http.StatusNotFound, "Not a valid link", "This acknowledge link was altered or was not made by this hub. Nothing was changed.", "")
		return
	}
	h.pager.mu.Lock()
	pg, known := h.pager.eng.Page(page)
	h.pager.mu.Unlock()
	switch {
	case !known:
		ackPage(w, http.StatusNotFound, "Unknown page", fmt.Sprintf("This hub has no page %s. Nothing was changed.", page), "")
		return
	case !pg.Open():
		ackPage(w, http.StatusConflict, pg.ID+" is resolved", fmt.Sprintf("%s (%s) was resolved at %s: there is nothing to acknowledge. Nothing was changed.", pg.ID, pg.Title, pg.ResolvedAt), "")
		return
	}
	if r.Method == http.MethodGet {
		state := "Nobody has acknowledged it yet."
		if pg.AckedBy != nil {
			state = "Acknowledged by " + *pg.AckedBy + "."
		}
		ackPage(w, http.StatusOK, pg.ID+": "+pg.Title, fmt.Sprintf("Opened %s, level %d. %s Acknowledge as %s?", pg.OpenedAt, pg.Level, state, person), r.URL.Path)
		return
	}
	id := "ack-link-" + page + "-" + person + "-" + strconv.Itoa(pg.Round)
	if len(id) > protocol.MaxIDBytes || protocol.CheckID("id", id) != nil {
		id = "ack-link-" + b64.EncodeToString(ackMAC(h.pager.secret(), id))
	}
	res := h.Apply(protocol.Command{ID: id, Actor: person, Op: protocol.OpAck, Page: page}, true, nil)
	switch res.Code {
	case "":
		ackPage(w, http.StatusOK, "Acknowledged", fmt.Sprintf("%s is yours, %s: escalation stopped. (%s)", pg.ID, person, pg.Title), "")
	case protocol.CodeConflict:
		ackPage(w, http.StatusOK, "Already acknowledged", fmt.Sprintf("%s was already acknowledged by you; nothing changed.", pg.ID), "")
	default:
		ackPage(w, http.StatusServiceUnavailable, "Not acknowledged", "The hub could not record the acknowledgement ("+res.Code+"); use the dashboard or try again.", "")
	}
}

// ackPage writes a small HTML page, readable on a phone, with a button
// that POSTs to action when set.
func ackPage(w http.ResponseWriter, status int, title, text, action string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="color-scheme" content="light dark"><title>%s</title>
<style>body{font:1.1rem system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem}button{font-size:1.2rem;padding:.8rem 1.6rem}</style></head>
<body><h1>%s</h1><p>%s</p>`, html.EscapeString(clean(title)), html.EscapeString(clean(title)), html.EscapeString(clean(text)))
	if action != "" {
		fmt.Fprintf(w, `<form method="post" action="%s"><button type="submit">Acknowledge</button></form>`, html.EscapeString(action))
	}
	fmt.Fprint(w, "</body></html>\n")
}
