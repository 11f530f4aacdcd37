package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// lockedBuffer is a log sink the hub's goroutines may write at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// An operator whose dashboard has no token finds why in the hub's log:
// the refused subscribe (401) and the first refused command of a
// read-only connection, never the token itself.
func TestRefusalsAreLogged(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	strict := startServer(t, t.TempDir(), "", Options{Tokens: []string{"s3cret"}, RequireToken: true, Logger: log})
	header := http.Header{"Authorization": []string{"Bearer wrong-guess"}}
	if _, resp, err := websocket.DefaultDialer.Dial(strict.url, header); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("subscribe with a wrong token: %v %v", err, resp)
	}
	if got := logs.String(); !strings.Contains(got, "refused a subscriber: HTTP 401") || !strings.Contains(got, "token=wrong") || strings.Contains(got, "wrong-guess") {
		t.Fatalf("the 401 is not logged as it should be:\n%s", got)
	}

	open := startServer(t, t.TempDir(), "", Options{Tokens: []string{"s3cret"}, Logger: log})
	anon := connect(t, open.url, "")
	eventually(t, "read-only subscriber synced", anon.synced)
	for range 3 {
		if nk, ok := anon.send(t, protocol.Command{Op: "declare", Title: "x", Severity: "SEV2", Kind: "outage"}).(client.NackEvent); !ok || nk.Code != protocol.CodeForbidden {
			t.Fatalf("anonymous command answered %+v", nk)
		}
	}
	if n := strings.Count(logs.String(), "refused a command: the subscriber sent no valid bearer token"); n != 1 {
		t.Fatalf("refused commands logged %d times, want once a connection:\n%s", n, logs.String())
	}
}
