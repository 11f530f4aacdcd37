package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// TestServeRefusesEmptyTokenVariable: a configured token variable that is
// unset or empty stops vigil serve at start, exit 2, naming the variable,
// before it opens (or creates) the journal.
func TestServeRefusesEmptyTokenVariable(t *testing.T) {
	for _, tt := range []struct {
		name  string
		unset bool
		value string
	}{{"unset", true, ""}, {"empty", false, ""}, {"blank", false, "  "}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			cfg := filepath.Join(dir, "vigil.toml")
			src := "[serve]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"" + data + "\"\nprobe_load = false\ntoken_env = [\"VIGIL_TEST_TOKEN_A\", \"VIGIL_TEST_TOKEN_B\"]\n"
			if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Setenv("VIGIL_TEST_TOKEN_A", "s3cret")
			t.Setenv("VIGIL_TEST_TOKEN_B", tt.value)
			if tt.unset {
				os.Unsetenv("VIGIL_TEST_TOKEN_B")
			}
			// Bounded: a server that started anyway is stopped, and fails the test.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out, errb bytes.Buffer
			code := run(ctx, []string{"serve", "--config", cfg}, &out, &errb)
			if code != exitUsage || !strings.Contains(errb.String(), "$VIGIL_TEST_TOKEN_B is unset or empty") || !strings.Contains(errb.String(), cfg) {
				t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
			}
			if segs, _ := filepath.Glob(filepath.Join(data, "journal-*.wal")); len(segs) != 0 {
				t.Fatalf("the journal was opened before the refusal: %v", segs)
			}
		})
	}
}

// TestExportFeedWithLargestNote: a journal holding the largest note the
// protocol allows, of characters JSON escapes sixfold, exports over the
// feed; the note that would not fit is refused, never journaled.
func TestExportFeedWithLargestNote(t *testing.T) {
	t.Parallel()
	j, _, err := journal.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	hub := server.NewHub(j, server.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { server.Serve(ctx, hub, ln, "/feed", "", ""); close(served) }()
	defer func() { cancel(); <-served }()

	apply := func(cmd protocol.Command) server.Result {
		cmd.Actor = "alice"
		return hub.Apply(cmd, true, nil)
	}
	if res := apply(protocol.Command{ID: "c-1", Op: "declare", Title: "Mail down", Severity: "SEV2", Kind: "outage"}); res.Code != "" {
		t.Fatalf("declare: %s", res.Frame)
	}
	note := strings.Repeat("<", protocol.MaxTextBytes)
	if res := apply(protocol.Command{ID: "c-2", Op: "note", Incident: "INC-1", Text: note}); res.Code != "" {
		t.Fatalf("largest note: %s", res.Frame)
	}
	if res := apply(protocol.Command{ID: "c-3", Op: "note", Incident: "INC-1", Text: strings.Repeat("<", 180_000)}); res.Code != protocol.CodeInvalid {
		t.Fatalf("a 180,000-byte note answered %s", res.Frame)
	}

	exportCtx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	var out, errb bytes.Buffer
	code := run(exportCtx, []string{"export", "--feed", "ws://" + ln.Addr().String() + "/feed", "--incident", "INC-1", "--format", "json"}, &out, &errb)
	if code != exitOK {
		t.Fatalf("export exit %d: %s", code, errb.String())
	}
	var report struct {
		Timeline []protocol.Entry `json:"timeline"`
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range report.Timeline {
		found = found || e.Text == note
	}
	if !found || len(report.Timeline) != 2 {
		t.Fatalf("export timeline has %d entries, the largest note found: %v", len(report.Timeline), found)
	}
}
