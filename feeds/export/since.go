package export

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// FromFeedSince subscribes to a feed from seq 0 and reads until synced,
// then pages in, by history requests, every message back to the first
// appended before since: a month's credits need every host transition of
// the month, which a compacted replay leaves out.
func FromFeedSince(ctx context.Context, url, token string, since time.Time) (Source, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	header := http.Header{}
	if token != "" {
		header.Set("Authorization", "Bearer "+token)
	}
	d := websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}, Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.DialContext(ctx, url, header)
	if err != nil {
		if resp != nil {
			return Source{}, fmt.Errorf("%s: HTTP %d %s", url, resp.StatusCode, http.StatusText(resp.StatusCode))
		}
		return Source{}, fmt.Errorf("%s: %w", url, err)
	}
	defer conn.Close()
	conn.SetReadLimit(protocol.MaxFrameSize)
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	}
	f := &feedReader{conn: conn, url: url, held: map[uint64]protocol.Message{}}
	synced, err := f.replay()
	if err != nil {
		return Source{}, err
	}
	if synced.Compacted {
		for before, pages := synced.Seq+1, 0; pages < maxPages; pages++ {
			page, err := f.history(before, "")
			if err != nil {
				return Source{}, err
			}
			low, ok := lowest(page)
			if !ok || !page.More {
				break
			}
			before = low
			if e, isEntry := f.held[low].(*protocol.Entry); isEntry && e.At.Before(since) {
				break
			}
		}
	}
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "read done"), time.Now().Add(time.Second))
	src := Source{Origin: url}
	seqs := make([]uint64, 0, len(f.held))
	for seq := range f.held {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		src.Messages = append(src.Messages, f.held[seq])
	}
	return src, nil
}
