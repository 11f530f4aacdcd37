package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveCmd is vigil serve on a data directory, with no configuration but
// its flags.
func serveCmd(ctx context.Context, bin, dir, addr string) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.CommandContext(ctx, bin, "serve", "--listen", addr, "--data-dir", dir)
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "no-config"), "VIGIL_CONFIG=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	return cmd, &stderr
}

// TestSecondServerOnOneDataDirectoryExitsAtOnce: two real processes; the
// second names the first's pid and exits non-zero, the first goes on.
func TestSecondServerOnOneDataDirectoryExitsAtOnce(t *testing.T) {
	t.Parallel()
	bin := buildVigil(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr := freeAddr(t)
	first, firstErr := serveCmd(ctx, bin, dir, addr)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { first.Process.Signal(os.Interrupt); first.Wait() }()
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i > 200 {
			t.Fatalf("the first server never served: %s", firstErr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	second, secondErr := serveCmd(ctx, bin, dir, freeAddr(t))
	err := second.Run()
	exit, ok := err.(*exec.ExitError)
	if !ok || exit.ExitCode() == 0 {
		t.Fatalf("second server: %v\n%s", err, secondErr)
	}
	if msg := secondErr.String(); !strings.Contains(msg, fmt.Sprintf("pid %d", first.Process.Pid)) || !strings.Contains(msg, dir) {
		t.Fatalf("the refusal does not name the holder: %s", msg)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err != nil {
		t.Fatalf("the first server stopped: %v", err)
	} else {
		resp.Body.Close()
	}
}

// TestDamagedJournalRefusalSaysWhatIsWrong: a journal damaged before its
// end stops the server with the place of the damage, and no advice to
// point data_dir elsewhere (which would start an empty journal).
func TestDamagedJournalRefusalSaysWhatIsWrong(t *testing.T) {
	t.Parallel()
	bin := buildVigil(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A real journal with a few records: start, let it journal, stop.
	addr := freeAddr(t)
	srv, _ := serveCmd(ctx, bin, dir, addr)
	srv.Start()
	for i := 0; i < 200; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.Process.Signal(os.Interrupt)
	srv.Wait()
	segs, _ := filepath.Glob(filepath.Join(dir, "journal-*.wal"))
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	// Damage the header line, so the damage is before the end whatever
	// the server journaled.
	data, _ := os.ReadFile(segs[0])
	data[12] ^= 0x01
	os.WriteFile(segs[0], data, 0o640)
	again, stderr := serveCmd(ctx, bin, dir, freeAddr(t))
	err := again.Run()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("serve on a damaged journal: %v\n%s", err, stderr)
	}
	msg := stderr.String()
	if !strings.Contains(msg, "damaged") || !strings.Contains(msg, "line 1") || strings.Contains(msg, "writable") {
		t.Fatalf("refusal: %s", msg)
	}
}
