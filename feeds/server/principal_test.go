package server

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// vouching serves h on a loopback listener whose every connection the
// front end vouches for as p, the way the SSH server's in-process listener
// does.
func vouching(t *testing.T, h *Hub, p Principal) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h.Mux("/feed"), ConnContext: func(ctx context.Context, _ net.Conn) context.Context { return WithPrincipal(ctx, p) }}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "ws://" + ln.Addr().String() + "/feed"
}

// A vouched connection acts as its principal whatever actor its commands
// claim and without a token; a read-only one is refused with a message
// that says why, and nothing is journaled.
func TestPrincipalActsAsItselfAndReadOnlyIsRefused(t *testing.T) {
	r := startServer(t, t.TempDir(), "", Options{Tokens: []string{"s3cret"}, RequireToken: true})
	alice := connect(t, vouching(t, r.hub, Principal{Actor: "alice", Via: protocol.ViaSSH}), "")
	eventually(t, "alice synced without a token", alice.synced)
	if ans, ok := alice.send(t, protocol.Command{Op: protocol.OpDeclare, Actor: "mallory", Title: "Mail down", Severity: "SEV2", Kind: "outage"}).(client.AckEvent); !ok {
		t.Fatalf("declare: %+v", ans)
	}
	done := true
	if ans, ok := alice.send(t, protocol.Command{Op: protocol.OpCheck, Actor: "mallory", Incident: "INC-1", Item: "ack", Done: &done}).(client.AckEvent); !ok {
		t.Fatalf("check: %+v", ans)
	}
	inc := r.hub.Incidents()[0]
	if by := inc.Checklist[0].DoneBy; inc.Commander != "alice" || by == nil || *by != "alice" {
		t.Fatalf("commander %q, ack done by %v: want alice for both", inc.Commander, by)
	}

	seq := r.hub.Seq()
	bob := connect(t, vouching(t, r.hub, Principal{Actor: "bob", ReadOnly: true, Via: protocol.ViaSSH}), "")
	eventually(t, "bob synced", bob.synced)
	undo := false
	ans, ok := bob.send(t, protocol.Command{Op: protocol.OpCheck, Actor: "bob", Incident: "INC-1", Item: "ack", Done: &undo}).(client.NackEvent)
	if !ok || ans.Code != protocol.CodeForbidden || !strings.Contains(ans.Error, "read-only") {
		t.Fatalf("read-only check answered %+v", ans)
	}
	if r.hub.Seq() != seq {
		t.Fatalf("a read-only command was journaled: seq %d -> %d", seq, r.hub.Seq())
	}
}

// A vouched connection is in the presence as its principal, whatever its
// subscribe claims.
func TestPrincipalPresenceCannotBeSpoofed(t *testing.T) {
	r := startServer(t, t.TempDir(), "", Options{})
	url := vouching(t, r.hub, Principal{Actor: "alice", Via: protocol.ViaSSH})
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := conn.ReadMessage(); err != nil { // hello
		t.Fatal(err)
	}
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{Actor: "mallory", Via: protocol.ViaTTY}))
	for i := 0; i < 100; i++ {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		m, err := protocol.Decode(data)
		if err != nil {
			continue
		}
		if p, ok := m.(*protocol.Presence); ok {
			if len(p.Watchers) != 1 || p.Watchers[0].Actor != "alice" || p.Watchers[0].Via != protocol.ViaSSH {
				t.Fatalf("presence %+v, want alice via ssh only", p.Watchers)
			}
			return
		}
	}
	t.Fatal("no presence frame")
}
