// Package export turns an incident's journal into a post-mortem draft
// (Markdown) or a JSON record for tools: summary, key times, the
// communication log with what was late or never done, the full timeline,
// service changes and load peaks, the evidence hosts captured (what was
// running, beside the crossing it explains), and the headed sections the
// team fills in. Generated wording is blameless: it says what happened, not who
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
	"slices"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/history"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// Source is a journal read from a file or a feed.
type Source struct {
	Origin   string
	Messages []protocol.Message // *protocol.IncidentMsg and *protocol.Entry, in seq order
	Loads    []server.LoadPeak  // per-minute peaks, when the load log is at hand
	// History, where the hub keeps one, answers the hosts' load over the
	// incident's window: the sparklines' source before the load log's.
	History LoadHistory
	Torn    journal.Recovery
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
	if st, err := os.Stat(filepath.Join(dir, history.Dir)); err == nil && st.IsDir() {
		if store, err := history.Open(dir, nil); err == nil {
			src.History = storeHistory{store}
		}
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

// FromFeed subscribes to a feed from seq 0 and reads until synced. Where
// the feed compacted that replay (a hub with a long journal), it pages in
// the rest of the incident's history and the fleet entries from a little
// before it was declared, by history requests.
func FromFeed(ctx context.Context, url, token, incident string) (Source, error) {
	var loads []server.LoadPeak
	src, err := readFeed(ctx, url, token, func(f *feedReader, synced *protocol.Synced) error {
		if synced.Compacted { // else all of it was replayed
			if err := f.pageIn(incident, synced.Seq); err != nil {
				return err
			}
		}
		loads = f.loadHistory(incident)
		return nil
	})
	src.Loads = loads
	return src, err
}

func readFeed(ctx context.Context, url, token string, pageIn func(f *feedReader, synced *protocol.Synced) error) (Source, error) {
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
	f := &feedReader{conn: conn, url: url, held: map[uint64]protocol.Message{}}
	synced, err := f.replay()
	if err != nil {
		return Source{}, err
	}
	if err := pageIn(f, synced); err != nil {
		return Source{}, err
	}
	conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "export done"), time.Now().Add(time.Second))
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

// feedReader is one export's connection: the journal messages it holds,
// by seq, whether from the replay, live, or history pages.
type feedReader struct {
	conn *websocket.Conn
	url  string
	held map[uint64]protocol.Message
	// hosts are those the hub reported load for: whose history to ask.
	hosts map[string]bool
	n     int // history requests sent
}

// read reads one frame, keeping any journal message in it.
func (f *feedReader) read() (protocol.Message, error) {
	_, data, err := f.conn.ReadMessage()
	if err != nil {
		return nil, fmt.Errorf("%s: reading the journal: %w", f.url, err)
	}
	m, err := protocol.Decode(data)
	if err != nil {
		return nil, nil
	}
	f.keep(m)
	return m, nil
}

func (f *feedReader) keep(m protocol.Message) {
	switch v := m.(type) {
	case *protocol.Load:
		if f.hosts == nil {
			f.hosts = map[string]bool{}
		}
		f.hosts[v.Host] = true
	case *protocol.IncidentMsg:
		f.held[v.Seq] = m
	case *protocol.Entry:
		f.held[v.Seq] = m
	}
}

func (f *feedReader) replay() (*protocol.Synced, error) {
	subscribed := false
	for {
		m, err := f.read()
		if err != nil {
			return nil, err
		}
		switch v := m.(type) {
		case *protocol.Hello:
			if v.Protocol > protocol.Version {
				return nil, fmt.Errorf("%s speaks protocol %d; this vigil speaks %d", f.url, v.Protocol, protocol.Version)
			}
			if !subscribed {
				subscribed = true
				if err := f.conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{Since: 0})); err != nil {
					return nil, err
				}
			}
		case *protocol.Synced:
			return v, nil
		}
	}
}

// history asks for one page and returns it once answered.
func (f *feedReader) history(before uint64, incident string) (*protocol.History, error) {
	f.n++
	id := fmt.Sprintf("export-%d", f.n)
	if err := f.conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.History{ID: id, Before: before, Limit: historyPage, Incident: incident})); err != nil {
		return nil, err
	}
	for {
		m, err := f.read()
		if err != nil {
			return nil, err
		}
		switch v := m.(type) {
		case *protocol.History:
			if v.ID != id {
				continue
			}
			for _, raw := range v.Messages {
				if m, err := protocol.Decode(raw); err == nil {
					f.keep(m)
				}
			}
			return v, nil
		case *protocol.Nack:
			if v.ID == id {
				return nil, fmt.Errorf("%s: history: %s", f.url, v.Error)
			}
		}
	}
}

// historyPage is how many messages one history request asks for;
// maxPages bounds an export's requests.
const (
	historyPage = 1000
	maxPages    = 100_000
)

// pageIn fetches what a compacted replay left out that the incident's
// report needs: all of its messages, and every message from a little
// before its declaration on (the fleet's entries around it).
func (f *feedReader) pageIn(incident string, top uint64) error {
	var opened time.Time
	for _, m := range f.held {
		if im, ok := m.(*protocol.IncidentMsg); ok && im.Incident.ID == incident {
			opened = im.Incident.OpenedAt.Time
		}
	}
	if opened.IsZero() {
		return nil // not in this journal: the report says so
	}
	first := top + 1 // the incident's first seq
	for before, pages := top+1, 0; pages < maxPages; pages++ {
		page, err := f.history(before, incident)
		if err != nil {
			return err
		}
		low, ok := lowest(page)
		if !ok {
			break
		}
		first, before = low, low
		if !page.More {
			break
		}
	}
	lead := opened.Add(-30 * time.Minute)
	for before, pages := top+1, 0; pages < maxPages; pages++ {
		page, err := f.history(before, "")
		if err != nil {
			return err
		}
		low, ok := lowest(page)
		if !ok || !page.More {
			break
		}
		before = low
		if e, isEntry := f.held[low].(*protocol.Entry); low < first && isEntry && e.At.Before(lead) {
			break
		}
	}
	return nil
}

// lowest is the lowest seq in a history page.
func lowest(page *protocol.History) (uint64, bool) {
	if len(page.Messages) == 0 {
		return 0, false
	}
	m, err := protocol.Decode(page.Messages[0])
	if err != nil {
		return 0, false
	}
	switch v := m.(type) {
	case *protocol.Entry:
		return v.Seq, true
	case *protocol.IncidentMsg:
		return v.Seq, true
	}
	return 0, false
}

// ErrUnknownIncident is returned (wrapped) when the journal has no such incident.
var ErrUnknownIncident = errors.New("no such incident")

// loadHistory asks the hub for each host's load over the incident's
// window (from a little before it was declared); a hub that keeps none
// says so, and the report has no load peaks, as before.
func (f *feedReader) loadHistory(incident string) []server.LoadPeak {
	var from, to time.Time
	for _, m := range f.held {
		if im, ok := m.(*protocol.IncidentMsg); ok && im.Incident.ID == incident {
			from = im.Incident.OpenedAt.Add(-30 * time.Minute)
			to = time.Now()
			if im.Incident.ResolvedAt != nil {
				to = im.Incident.ResolvedAt.Time
			}
		}
	}
	if from.IsZero() {
		return nil
	}
	hosts := make([]string, 0, len(f.hosts))
	for h := range f.hosts {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	var out []server.LoadPeak
	for _, host := range hosts {
		start := from
		for page := 0; page < 20; page++ {
			f.n++
			id := fmt.Sprintf("export-load-%d", f.n)
			req := &protocol.History{ID: id, Kind: protocol.HistoryLoad, Host: host, From: protocol.TimePtr(start), To: protocol.TimePtr(to)}
			if err := f.conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(req)); err != nil {
				return out
			}
			ans, ok := f.loadAnswer(id)
			if !ok {
				return out // no history on this hub
			}
			out = append(out, peaks(host, ans.Samples)...)
			if !ans.More || len(ans.Samples) == 0 {
				break
			}
			start = ans.Samples[len(ans.Samples)-1].At.Add(time.Millisecond)
		}
	}
	return out
}

func (f *feedReader) loadAnswer(id string) (*protocol.History, bool) {
	for {
		m, err := f.read()
		if err != nil {
			return nil, false
		}
		switch v := m.(type) {
		case *protocol.History:
			if v.ID == id {
				return v, true
			}
		case *protocol.Nack:
			if v.ID == id {
				return nil, false
			}
		}
	}
}
