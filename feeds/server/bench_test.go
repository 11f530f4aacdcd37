package server

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func rawSubscriber(b testing.TB, url string) *websocket.Conn {
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	conn.ReadMessage() // hello
	conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","since":0,"journal":""}`))
	for { // through synced
		_, data, err := conn.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		if m, _ := protocol.Decode(data); m != nil && protocol.TypeOf(m) == protocol.TypeSynced {
			return conn
		}
	}
}

// BenchmarkCommandRoundTrip: send a note, wait for its ack (which the
// server sends only after fsync). Reports p50 and p99.
func BenchmarkCommandRoundTrip(b *testing.B) {
	srv := startServer(&testing.T{}, b.TempDir(), "", Options{})
	defer srv.stop()
	srv.hub.Apply(protocol.Command{ID: "d", Actor: "a", Op: "declare", Title: "x", Severity: "SEV3", Kind: "outage"}, true, nil)
	conn := rawSubscriber(b, srv.url)
	defer conn.Close()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("c-%d", i)
		start := time.Now()
		conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Command{ID: id, Actor: "a", Op: "note", Incident: "INC-1", Text: "n"}))
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				b.Fatal(err)
			}
			if m, _ := protocol.Decode(data); m != nil {
				if a, ok := m.(*protocol.Ack); ok && a.ID == id {
					break
				}
			}
		}
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFanOut200: 200 subscribers, 1,000 load messages a second for
// one second per iteration, each sent as it comes (no pacing). Reports
// process CPU per delivered message (server and the 200 readers
// together: an upper bound for the server).
func BenchmarkFanOut200(b *testing.B) {
	const subs, rate = 200, 1000
	srv := startServer(&testing.T{}, b.TempDir(), "", Options{LoadPace: -1})
	defer srv.stop()
	var delivered atomic.Int64
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, subs)
	for i := range conns {
		conns[i] = rawSubscriber(b, srv.url)
		wg.Add(1)
		go func(c *websocket.Conn) {
			defer wg.Done()
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
				delivered.Add(1)
			}
		}(conns[i])
	}
	var cpu time.Duration
	var sent int64
	for b.Loop() {
		delivered.Store(0)
		start := cpuTime()
		tick := time.NewTicker(time.Second / rate)
		for i := 0; i < rate; i++ {
			<-tick.C
			srv.hub.PublishLoad(protocol.Load{Host: fmt.Sprintf("h-%d", i%20), At: protocol.At(time.Now()), Interval: protocol.Duration(time.Second), Load1: 0.2, CPUs: 4})
		}
		tick.Stop()
		for delivered.Load() < rate*subs && srv.hub.Subscribers() == subs {
			time.Sleep(time.Millisecond)
		}
		cpu += cpuTime() - start
		sent += rate
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(sent*subs), "cpu-ns/delivered")
	b.ReportMetric(float64(srv.hub.Subscribers()), "subscribers-left")
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
}
