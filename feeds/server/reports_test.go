package server

import (
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func TestCheckLoadValues(t *testing.T) {
	pct := func(v float64) *float64 { return &v }
	good := loadValues{host: "web-1", interval: 5 * time.Second, load1: 1, load5: 1, load15: 1, cpus: 4, memUsedPct: pct(50)}
	tests := []struct {
		name   string
		change func(*loadValues)
		why    string // "" accepted
	}{
		{"a sample", func(*loadValues) {}, ""},
		{"idle host", func(l *loadValues) { l.load1, l.load5, l.load15, l.memUsedPct = 0, 0, 0, nil }, ""},
		{"interval 0s", func(l *loadValues) { l.interval = 0 }, "interval 0s"},
		{"interval negative", func(l *loadValues) { l.interval = -time.Second }, "interval -1s"},
		{"interval a year", func(l *loadValues) { l.interval = 365 * 24 * time.Hour }, "interval 8760h"},
		{"load1 infinite", func(l *loadValues) { l.load1 = math.Inf(1) }, "load1 +Inf"},
		{"load1 NaN", func(l *loadValues) { l.load1 = math.NaN() }, "load1 NaN"},
		{"load1 1e308", func(l *loadValues) { l.load1 = 1e308 }, "load1 1e+308"},
		{"load15 negative", func(l *loadValues) { l.load15 = -1 }, "load15 -1"},
		{"cpus negative", func(l *loadValues) { l.cpus = -2 }, "cpus -2"},
		{"memory 150%", func(l *loadValues) { l.memUsedPct = pct(150) }, "mem_used_pct 150"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := good
			tt.change(&l)
			err := checkLoadValues(l)
			if (tt.why == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.why)) {
				t.Fatalf("checkLoadValues = %v, want %q", err, tt.why)
			}
		})
	}
}

// An agent's samples that cannot be true are refused with the reason in
// the log; none of them is stored, paged on or journaled as another value.
func TestAgentSamplesThatCannotBeTrueAreRefused(t *testing.T) {
	var logs logBuffer
	opts := fleetOptions()
	opts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	srv := startServer(t, t.TempDir(), "", opts)
	conn := rawAgent(t, srv.url, agentToken, `{"type":"register","agent":"web-7","hosts":["web-7"]}`)
	at := protocol.At(time.Now()).String()
	for _, frame := range []string{
		`{"type":"load","host":"web-7","at":"` + at + `","interval":"0s","load1":0.5,"cpus":4}`,
		`{"type":"load","host":"web-7","at":"` + at + `","interval":"5s","load1":1e999,"cpus":4}`,
		`{"type":"load","host":"web-7","at":"` + at + `","interval":"5s","load1":1e308,"cpus":4}`,
		`{"type":"load","host":"web-7","at":"` + at + `","interval":"5s","load1":1,"cpus":4,"mem_used_pct":150}`,
		`{"type":"load","host":"web-7","at":"` + at + `","interval":"soon","load1":1,"cpus":4}`,
		// the sentinel: once it is stored, every frame before it was read
		`{"type":"load","host":"web-7","at":"` + at + `","interval":"5s","load1":0.25,"cpus":4}`,
	} {
		if err := conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the sentinel stored", func() bool {
		srv.hub.mu.Lock()
		defer srv.hub.mu.Unlock()
		return strings.Contains(string(srv.hub.live.loads["web-7"]), `"load1":0.25`)
	})
	if seq := srv.hub.Seq(); seq != 0 {
		t.Fatalf("refused samples journaled %d messages", seq)
	}
	eventually(t, "the first refusal logged with its reason", func() bool {
		return strings.Contains(logs.String(), "agent report refused") && strings.Contains(logs.String(), "interval 0s")
	})
	// The one that reported every 0s is known by its real interval now.
	srv.hub.mu.Lock()
	every := srv.hub.live.life.hosts["web-7"].every
	srv.hub.mu.Unlock()
	if every != 5*time.Second {
		t.Fatalf("web-7 expected every %s", every)
	}
}

// PROTOCOL.md: a binary frame is a protocol error, closed with 1003;
// before the subscribe, from a subscriber and from an agent alike.
func TestBinaryFrameClosesWith1003(t *testing.T) {
	srv := startServer(t, t.TempDir(), "", fleetOptions())
	dial := func(t *testing.T) *websocket.Conn {
		conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(srv.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.ReadMessage() // hello
		return conn
	}
	for name, open := range map[string]func(t *testing.T) *websocket.Conn{
		"before subscribe": dial,
		"subscriber": func(t *testing.T) *websocket.Conn {
			conn := dial(t)
			conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","since":0,"journal":""}`))
			for {
				_, data, err := conn.ReadMessage()
				if err != nil {
					t.Fatal(err)
				}
				if m, _ := protocol.Decode(data); m != nil {
					if _, ok := m.(*protocol.Synced); ok {
						return conn
					}
				}
			}
		},
		"agent": func(t *testing.T) *websocket.Conn {
			return rawAgent(t, srv.url, agentToken, `{"type":"register","agent":"web-8","hosts":["web-8"]}`)
		},
	} {
		t.Run(name, func(t *testing.T) {
			conn := open(t)
			if err := conn.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"subscribe","since":0}`)); err != nil {
				t.Fatal(err)
			}
			expectClose(t, conn, websocket.CloseUnsupportedData, "binary frames")
		})
	}
}
