// Package export turns an incident's journal into a post-mortem draft
// (Markdown) or a JSON record for tools: summary, key times, the
// communication log with what was late or never done, the full timeline,
// service changes and load peaks, and the headed sections the team fills
// in. Generated wording is blameless: it says what happened, not who
// failed.
package export

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// Source is a journal read from a file or a feed.
type Source struct {
	Origin   string
	Messages []protocol.Message // *protocol.IncidentMsg and *protocol.Entry, in seq order
	Loads    []server.LoadPeak  // per-minute peaks, when the load log is at hand
	Torn     journal.Recovery
}

// FromJournal reads a journal (its data directory, a segment in it, or a
// format-1 file) and, beside it, the load log if any.
func FromJournal(path string) (Source, error) {
	msgs, rec, err := journal.ReadFile(path)
	if err != nil {
		return Source{}, err
	}
	src := Source{Origin: path, Torn: rec}
	for _, m := range msgs {
		src.Messages = append(src.Messages, m.Msg)
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		dir = path
	}
	f, err := os.Open(filepath.Join(dir, server.LoadLogName))
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var p server.LoadPeak
			if json.Unmarshal(sc.Bytes(), &p) == nil && p.Host != "" {
				src.Loads = append(src.Loads, p)
			}
		}
	}
	return src, nil
}

// FromFeed subscribes to a feed from seq 0 and reads until synced.
func FromFeed(ctx context.Context, url, token string) (Source, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
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
	src := Source{Origin: url}
	subscribed := false
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return Source{}, fmt.Errorf("%s: reading the journal: %w", url, err)
		}
		m, err := protocol.Decode(data)
		if err != nil {
			continue
		}
		switch v := m.(type) {
		case *protocol.Hello:
			if v.Protocol > protocol.Version {
				return Source{}, fmt.Errorf("%s speaks protocol %d; this vigil speaks %d", url, v.Protocol, protocol.Version)
			}
			if !subscribed {
				subscribed = true
				if err := conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{Since: 0})); err != nil {
					return Source{}, err
				}
			}
		case *protocol.IncidentMsg, *protocol.Entry:
			src.Messages = append(src.Messages, m)
		case *protocol.Synced:
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "export done"), time.Now().Add(time.Second))
			return src, nil
		}
	}
}

// ErrUnknownIncident is returned (wrapped) when the journal has no such incident.
var ErrUnknownIncident = errors.New("no such incident")
