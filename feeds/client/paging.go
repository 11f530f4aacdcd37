package client

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// OncallEvent is a feed's newest oncall frame: who is on call, what is
// silenced.
type OncallEvent struct {
	Feed   string
	Oncall protocol.Oncall
}

func (e OncallEvent) feed() string { return e.Feed }

// ErrNoPaging says a hub sent no oncall frame: it has no [serve.paging].
var ErrNoPaging = fmt.Errorf("the hub sent no oncall frame: it has no [serve.paging]")

// FetchOncall reads a hub's oncall frame: it subscribes from the newest
// seq (no replay) and takes the oncall frame of the snapshot.
func FetchOncall(ctx context.Context, url, token string) (protocol.Oncall, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	header := http.Header{}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	d := websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}, Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.DialContext(ctx, url, header)
	if err != nil {
		if resp != nil {
			return protocol.Oncall{}, fmt.Errorf("%s: HTTP %d %s", url, resp.StatusCode, http.StatusText(resp.StatusCode))
		}
		return protocol.Oncall{}, fmt.Errorf("%s: %w", url, err)
	}
	defer conn.Close()
	conn.SetReadLimit(protocol.MaxFrameSize)
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	}
	for {
		_, frame, err := conn.ReadMessage()
		if err != nil {
			return protocol.Oncall{}, fmt.Errorf("%s: %w", url, err)
		}
		m, err := protocol.Decode(frame)
		if err != nil {
			continue
		}
		switch v := m.(type) {
		case *protocol.Hello:
			if v.Protocol > protocol.Version {
				return protocol.Oncall{}, fmt.Errorf("%s speaks protocol %d; this vigil speaks %d", url, v.Protocol, protocol.Version)
			}
			sub := protocol.Subscribe{Since: v.Seq, Journal: v.Journal}
			if err := conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&sub)); err != nil {
				return protocol.Oncall{}, err
			}
		case *protocol.Oncall:
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "oncall read"), time.Now().Add(time.Second))
			return *v, nil
		case *protocol.Synced:
			return protocol.Oncall{}, ErrNoPaging
		}
	}
}
