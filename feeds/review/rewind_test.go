package review

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/review/reviewtest"
)

// rewindOver asks a real hub over the wire for the board at at.
func rewindOver(t *testing.T, url string, at time.Time) *protocol.Rewind {
	t.Helper()
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadLimit(protocol.MaxFrameSize)
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{Since: 0}))
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Rewind{ID: "r-1", At: protocol.At(at)}))
	for {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := protocol.Decode(data); m != nil {
			if r, ok := m.(*protocol.Rewind); ok && r.ID == "r-1" {
				if len(data) > protocol.MaxFrameSize {
					t.Fatalf("answer of %d bytes", len(data))
				}
				return r
			}
			if n, ok := m.(*protocol.Nack); ok && n.ID == "r-1" {
				t.Fatalf("nack %+v", n)
			}
		}
	}
}

// board is what a rewind answer says, in a line per fact, for comparing.
func board(r *protocol.Rewind) map[string]string {
	out := map[string]string{}
	for _, l := range r.Loads {
		out["load "+l.Host] = l.At.UTC().Format("15:04:05") + " " + strconv.FormatFloat(l.Load1, 'f', -1, 64) + " " + l.Level
	}
	for _, s := range r.Services {
		out["service "+s.Host+"/"+s.Service] = s.State + " since " + s.Since.UTC().Format("15:04:05")
	}
	for _, in := range r.Incidents {
		var done []string
		for _, it := range in.Incident.Checklist {
			if it.Done() {
				done = append(done, it.ID)
			}
		}
		out["incident "+in.Incident.ID] = in.Incident.Status + " done: " + strings.Join(done, ",")
	}
	if n := len(r.Entries); n > 0 {
		out["newest entry"] = r.Entries[n-1].At.UTC().Format("15:04:05") + " " + r.Entries[n-1].Text
	}
	return out
}

func TestRewindThreeMomentsOfOneNight(t *testing.T) {
	h := reviewtest.November(t)
	tests := []struct {
		at   string
		want map[string]string
	}{
		{"2026-11-22T02:13:07Z", map[string]string{
			"load shared-04":          "02:13:00 9.67 crit",
			"service shared-04/exim":  "down since 02:11:40",
			"incident INC-4":          "investigating done: ",
			"newest entry":            "02:12:00 declared SEV2 outage: Mail delayed",
			"load web-1 (not absent)": "",
		}},
		{"2026-11-22T02:47:30Z", map[string]string{
			"load shared-04":         "02:47:30 5.07 crit",
			"service shared-04/exim": "down since 02:11:40",
			"incident INC-4":         "investigating done: ack,status-page,social,updates,root-cause",
			"newest entry":           "02:47:00 ticked: Post a progress update (#1)",
		}},
		{"2026-11-22T03:45:00Z", map[string]string{
			"load shared-04":         "03:45:00 0.6 ok",
			"service shared-04/exim": "ok since 03:35:00",
			"incident INC-4":         "resolved done: ack,status-page,email-customers,social,updates,answer-messages,root-cause",
			"newest entry":           "03:42:00 status: investigating → resolved",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.at, func(t *testing.T) {
			r := rewindOver(t, h.URL, reviewtest.TS(tt.at))
			got := board(r)
			for k, want := range tt.want {
				if strings.HasSuffix(k, "(not absent)") {
					if _, there := got[strings.TrimSuffix(k, " (not absent)")]; there {
						t.Errorf("%s shown though it stopped reporting", k)
					}
					continue
				}
				if got[k] != want {
					t.Errorf("%s: got %q, want %q", k, got[k], want)
				}
			}
			if len(r.Incidents) != 1 {
				t.Errorf("incidents %d, want INC-4 alone (the others ended days before)", len(r.Incidents))
			}
			if r.Seq == 0 || !r.At.Equal(reviewtest.TS(tt.at)) {
				t.Errorf("seq %d at %s", r.Seq, r.At)
			}
		})
	}
}
