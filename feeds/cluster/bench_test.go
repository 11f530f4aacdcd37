package cluster

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// BenchmarkClusterCommands: 8 responders, each pipelining notes over its
// own WebSocket, through a three-hub cluster on loopback; "spread" puts
// them on all three hubs (their appends race for the stream), "one-hub"
// on one. Reports acknowledged commands per second.
func BenchmarkClusterCommands(b *testing.B) {
	for _, spread := range []bool{false, true} {
		name := "one-hub"
		if spread {
			name = "spread"
		}
		b.Run(name, func(b *testing.B) {
			c := newTestCluster(b, 3, Options{})
			cl := &wsClient{urls: c.urls()[0:1]}
			if ans, _, err := cl.send(declare("c-declare")); err != nil || ans == nil {
				b.Fatal(err)
			}
			cl.close()
			const clients = 8
			per := max(1, b.N/clients)
			var wg sync.WaitGroup
			var mu sync.Mutex
			acked, refused := 0, 0
			b.ResetTimer()
			start := time.Now()
			for k := range clients {
				url := c.urls()[0]
				if spread {
					url = c.urls()[k%3]
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
					if err != nil {
						b.Error(err)
						return
					}
					defer conn.Close()
					conn.ReadMessage()
					conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{}))
					go func() {
						for i := range per {
							conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Command{
								ID: fmt.Sprintf("b-%s-%d-%d-%d", name, b.N, k, i), Actor: "bench", Op: protocol.OpNote, Incident: "INC-1", Text: "bench"}))
						}
					}()
					for got := 0; got < per; {
						conn.SetReadDeadline(time.Now().Add(60 * time.Second))
						_, data, err := conn.ReadMessage()
						if err != nil {
							b.Error(err)
							return
						}
						m, _ := protocol.Decode(data)
						switch m := m.(type) {
						case *protocol.Ack:
							got++
							mu.Lock()
							acked++
							mu.Unlock()
						case *protocol.Nack:
							got++
							mu.Lock()
							refused++
							if refused == 1 || refused == 500 {
								b.Logf("refused: %s", m.Error)
							}
							mu.Unlock()
						}
					}
				}()
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(acked)/el.Seconds(), "acked/s")
			b.ReportMetric(float64(refused), "refused")
		})
	}
}
