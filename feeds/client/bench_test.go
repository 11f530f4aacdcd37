package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// streamServer sends hello, waits for subscribe, then n load frames over
// 1,000 hosts as fast as the socket takes them, then one synced marker.
func streamServer(b *testing.B, n int) *httptest.Server {
	frames := make([][]byte, 1000)
	for i := range frames {
		frames[i] = protocol.MustEncode(&protocol.Load{Host: fmt.Sprintf("host-%04d", i), At: protocol.At(time.Now()),
			Interval: protocol.Duration(time.Second), Load1: 1.25, Load5: 1.0, Load15: 0.75, CPUs: 8})
	}
	up := websocket.Upgrader{Subprotocols: []string{protocol.Subprotocol}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Hello{Protocol: 1, Journal: "j", Time: protocol.At(time.Now())}))
		if _, _, err := conn.ReadMessage(); err != nil {
			return
		}
		for i := 0; i < n; i++ {
			if conn.WriteMessage(websocket.TextMessage, frames[i%len(frames)]) != nil {
				return
			}
		}
		conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Synced{Seq: 0}))
		conn.ReadMessage()
	}))
	b.Cleanup(srv.Close)
	return srv
}

const ingestFrames = 200_000

// BenchmarkIngestRawGorilla is the baseline: a bare ReadMessage loop.
func BenchmarkIngestRawGorilla(b *testing.B) {
	srv := streamServer(b, ingestFrames)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	b.ResetTimer()
	for b.Loop() {
		conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
		if err != nil {
			b.Fatal(err)
		}
		conn.ReadMessage()
		conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","since":0}`))
		for i := 0; i <= ingestFrames; i++ {
			if _, _, err := conn.ReadMessage(); err != nil {
				b.Fatal(err)
			}
		}
		conn.Close()
	}
	b.ReportMetric(float64(ingestFrames*b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkIngestClient is the same stream through the real client: read,
// decode, coalesce into the store, drained as the dashboard would.
func BenchmarkIngestClient(b *testing.B) {
	srv := streamServer(b, ingestFrames)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	b.ResetTimer()
	for b.Loop() {
		c, err := New([]FeedConfig{{Name: "f", URL: url}}, "", DefaultTimings())
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { c.Run(ctx); close(done) }()
		var samples uint64
		hosts := map[string]uint64{}
	wait:
		for {
			<-c.Store().Notify()
			batch := c.Store().Drain()
			for _, l := range batch.Loads {
				hosts[l.Load.Host] = l.Samples
			}
			for _, e := range batch.Events {
				if s, ok := e.(StatusEvent); ok && s.State == Synced {
					break wait
				}
			}
		}
		for _, n := range hosts {
			samples += n
		}
		if samples != ingestFrames {
			b.Fatalf("ingested %d samples, want %d", samples, ingestFrames)
		}
		cancel()
		<-done
	}
	b.ReportMetric(float64(ingestFrames*b.N)/b.Elapsed().Seconds(), "frames/s")
}
