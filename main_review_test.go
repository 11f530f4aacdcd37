package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// ask sends req to a hub on a fresh subscription and returns the answer
// with id, or nil once the hub cannot be reached.
func ask(t *testing.T, url string, req protocol.Message, id string) protocol.Message {
	t.Helper()
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{protocol.Subprotocol}}).Dial(url, nil)
	if err != nil {
		return nil
	}
	defer conn.Close()
	conn.SetReadLimit(protocol.MaxFrameSize)
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(&protocol.Subscribe{Since: 0}))
	conn.WriteMessage(websocket.TextMessage, protocol.MustEncode(req))
	for {
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := conn.ReadMessage()
		if err != nil {
			return nil
		}
		m, _ := protocol.Decode(data)
		switch v := m.(type) {
		case *protocol.History:
			if v.ID == id {
				return v
			}
		case *protocol.Rewind:
			if v.ID == id {
				return v
			}
		case *protocol.Ack:
			if v.ID == id {
				return v
			}
		case *protocol.Nack:
			if v.ID == id {
				return v
			}
		}
	}
}

// The real binary as a hub: its host's load is kept across a restart and
// answered by history and rewind requests; vigil report reads the
// month's figures from its data directory.
func TestServeKeepsLoadHistoryAndReports(t *testing.T) {
	t.Parallel()
	bin := buildVigil(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	conf := filepath.Join(dir, "hub.toml")
	os.WriteFile(conf, []byte(`[serve]
data_dir = "`+filepath.Join(dir, "hub")+`"
host = "hub-1"
interval = "200ms"
probe_load = true
`), 0o600)
	url := "ws://" + addr + "/feed"
	start := func() func() {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, bin, "serve", "--config", conf, "--listen", addr)
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		stop := func() { cancel(); <-done }
		t.Cleanup(stop)
		return stop
	}
	loadOf := func(what string) []protocol.LoadSample {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if a, ok := ask(t, url, &protocol.History{ID: "h-1", Kind: "load", Host: "hub-1"}, "h-1").(*protocol.History); ok && len(a.Samples) > 0 {
				return a.Samples
			}
		}
		t.Fatalf("no load history %s", what)
		return nil
	}
	stop := start()
	first := loadOf("from the running hub")
	opened := time.Now().Add(-10 * time.Minute)
	for _, cmd := range []protocol.Command{
		{ID: "c-1", Actor: "alice", Op: "declare", Title: "Mail delayed", Severity: "SEV2", Kind: "outage", At: protocol.TimePtr(opened)},
		{ID: "c-2", Actor: "alice", Op: "check", Incident: "INC-1", Item: "ack", Done: boolPtr(true), At: protocol.TimePtr(opened.Add(3 * time.Minute))},
		{ID: "c-3", Actor: "alice", Op: "status", Incident: "INC-1", Status: "resolved", At: protocol.TimePtr(opened.Add(9 * time.Minute))},
	} {
		if _, ok := ask(t, url, &cmd, cmd.ID).(*protocol.Ack); !ok {
			t.Fatalf("%s not acked", cmd.ID)
		}
	}
	stop()
	stop = start()
	again := loadOf("after a restart")
	// The first 10-second slot was still filling when it was first read
	// (samples every 200 ms), so its figure may have moved since; that the
	// slot is there after the restart is what the store promises. A slot
	// closed before the first read keeps its figure exactly.
	if !again[0].At.Equal(first[0].At.Time) {
		t.Fatalf("after the restart the first sample is %+v, was %+v", again[0], first[0])
	}
	if len(first) > 1 && (len(again) < 2 || again[0].Load1 != first[0].Load1) {
		t.Fatalf("after the restart the first closed slot is %+v, was %+v", again[0], first[0])
	}
	rw, ok := ask(t, url, &protocol.Rewind{ID: "r-1", At: protocol.At(first[0].At.Time)}, "r-1").(*protocol.Rewind)
	if !ok || len(rw.Loads) != 1 || rw.Loads[0].Host != "hub-1" || rw.Loads[0].Level == "" {
		t.Fatalf("rewind: %+v", rw)
	}

	var got struct {
		Incidents []struct {
			Ack     int64 `json:"time_to_ack_s"`
			Resolve int64 `json:"time_to_resolve_s"`
		} `json:"incidents"`
		MTTA int64 `json:"mtta_s"`
	}
	month := opened.UTC().Format("2006-01")
	fromFeed, err := exec.Command(bin, "report", "--month", month, "--feed", url, "--format", "json").Output()
	if err != nil || json.Unmarshal(fromFeed, &got) != nil {
		t.Fatalf("report: %v\n%s", err, fromFeed)
	}
	if len(got.Incidents) != 1 || got.Incidents[0].Ack != 180 || got.Incidents[0].Resolve != 540 || got.MTTA != 180 {
		t.Fatalf("report: %s", fromFeed)
	}
	stop()
	fromDir, err := exec.Command(bin, "report", "--month", month, "--journal", filepath.Join(dir, "hub"), "--format", "json").Output()
	if err != nil || json.Unmarshal(fromDir, &got) != nil || len(got.Incidents) != 1 || got.Incidents[0].Resolve != 540 {
		t.Fatalf("report from the data directory: %v\n%s", err, fromDir)
	}
}

func boolPtr(b bool) *bool { return &b }
