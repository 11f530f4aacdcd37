package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A sealed segment damaged after the start verified it: the hub turns
// read-only and says why, on /healthz, to every fresh subscriber and to
// every command; it never says ok again.
func TestJournalDamagedWhileServingIsReadOnlyAndSaysWhy(t *testing.T) {
	dir := t.TempDir()
	srv := startServerWith(t, dir, "", Options{}, journal.Options{SegmentBytes: 4 << 10})
	srv.hub.Apply(protocol.Command{ID: "K-1", Actor: "a", Op: "declare", Title: "x", Severity: "SEV3", Kind: "outage"}, true, nil)
	for i := 2; i <= 60; i++ {
		srv.hub.Apply(protocol.Command{ID: fmt.Sprintf("K-%d", i), Actor: "a", Op: "note", Incident: "INC-1", Text: fmt.Sprintf("note number %d", i)}, true, nil)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "journal-*.wal"))
	data, err := os.ReadFile(segs[1])
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(data), "note number ")
	data[i+5] ^= 0x01
	if err := os.WriteFile(segs[1], data, 0o640); err != nil {
		t.Fatal(err)
	}

	conn := stalled(t, srv.url)
	wantClose(t, readToClose(conn), websocket.CloseInternalServerErr, "journal damaged")

	resp, err := http.Get("http://" + srv.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != http.StatusServiceUnavailable || body["status"] == "ok" || !strings.Contains(fmt.Sprint(body["error"]), filepath.Base(segs[1])) {
		t.Fatalf("healthz after damage: %d %v", resp.StatusCode, body)
	}
	before := srv.hub.Seq()
	res := srv.hub.Apply(protocol.Command{ID: "K-new", Actor: "a", Op: "note", Incident: "INC-1", Text: "after"}, true, nil)
	if !strings.Contains(string(res.Frame), `"code":"unavailable"`) || !strings.Contains(string(res.Frame), "journal damaged") || srv.hub.Seq() != before {
		t.Fatalf("command over a damaged journal: %s, seq %d → %d", res.Frame, before, srv.hub.Seq())
	}
}
