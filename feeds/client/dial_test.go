package client

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A feed with a Dial hook is reached through it whatever its URL's host
// says, and its subscribe carries who watches and how (presence).
func TestDialHookAndPresenceFields(t *testing.T) {
	tf := newTestFeed(t)
	addr := tf.srv.Listener.Addr().String()
	var dials atomic.Int32
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	cfg := FeedConfig{Name: "hub", URL: "ws://in-process.invalid/feed", Dial: dial, Actor: "alice", Via: protocol.ViaSSH}
	_, col, _ := start(t, []FeedConfig{cfg}, "", fastTimings())
	eventually(t, "synced through the hook", func() bool { return col.healthOf("hub").State == Synced })
	if dials.Load() == 0 {
		t.Fatal("the Dial hook was not used")
	}
	tf.mu.Lock()
	sub := tf.subs[0]
	tf.mu.Unlock()
	if sub.Actor != "alice" || sub.Via != protocol.ViaSSH {
		t.Fatalf("subscribe = %+v, want actor alice via ssh", sub)
	}
}
