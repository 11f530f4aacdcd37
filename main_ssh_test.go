package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/vigil-oncall/vigil/internal/testprog"
)

// TestServeOverSSH: a fresh hub with [serve.ssh] creates its host key and
// logs its fingerprint; a responder with an authorized key gets a working
// dashboard and declares an incident under the key's name; SIGTERM ends
// the session and the hub together.
func TestServeOverSSH(t *testing.T) {
	t.Parallel()
	testprog.Need(t, "tmux", "tmux")
	testprog.Need(t, "ssh", "openssh-client")
	bin := buildVigil(t)
	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := gossh.MarshalPrivateKey(priv, "carol")
	keyFile := filepath.Join(dir, "id_carol")
	os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600)
	sshPub, _ := gossh.NewPublicKey(pub)
	os.WriteFile(filepath.Join(dir, "authorized_keys"), append(bytes.TrimSpace(gossh.MarshalAuthorizedKey(sshPub)), " carol\n"...), 0o600)
	sshAddr := freeAddr(t)
	cfg := fmt.Sprintf("[serve]\nlisten = %q\ndata_dir = %q\nprobe_load = false\n[serve.ssh]\nlisten = %q\nauthorized_keys = %q\n",
		freeAddr(t), filepath.Join(dir, "data"), sshAddr, filepath.Join(dir, "authorized_keys"))
	os.WriteFile(filepath.Join(dir, "c.toml"), []byte(cfg), 0o600)

	serve := exec.Command(bin, "serve", "--config", filepath.Join(dir, "c.toml"))
	var log lockedBuffer
	serve.Stdout, serve.Stderr = &log, &log
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	defer func() {
		serve.Process.Kill()
		if t.Failed() {
			t.Logf("vigil serve's log:\n%s", log.String())
		}
	}()

	x := &tmux{t: t, session: "vigil-ssh", socket: filepath.Join(dir, "tmux.sock")}
	host, port, _ := strings.Cut(sshAddr, ":")
	cmd := fmt.Sprintf("sleep 0.5; env HOME=%s TERM=xterm-256color ssh -F /dev/null -p %s -i %s -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR -t %s; echo ssh-exited; sleep 60",
		dir, port, keyFile, host)
	x.run("-f", "/dev/null", "new-session", "-d", "-s", x.session, "-x", "80", "-y", "24", cmd)
	defer exec.Command("tmux", "-S", x.socket, "kill-server").Run()
	x.waitFor("the dashboard over SSH", func(s string) bool {
		return strings.Contains(s, "no active incident") && strings.Contains(s, "1 watching")
	})

	key, err := os.Stat(filepath.Join(dir, "data", "ssh_host_ed25519_key"))
	if err != nil || key.Mode().Perm() != 0o600 {
		t.Fatalf("host key: %v %v", key, err)
	}
	if !strings.Contains(log.String(), "ssh: created a host key") || !strings.Contains(log.String(), "fingerprint=SHA256:") {
		t.Fatalf("no fingerprint logged:\n%s", log.String())
	}

	x.keys("D")
	x.waitFor("the declare form", func(s string) bool { return strings.Contains(s, "Declare an incident") })
	x.text("Checkout failing")
	x.keys("Enter")
	x.waitFor("the incident", func(s string) bool { return strings.Contains(s, "INC-1") })
	var journal []byte // the journal's segments (journal-<first seq>.wal)
	segs, _ := filepath.Glob(filepath.Join(dir, "data", "journal-*.wal"))
	for _, seg := range segs {
		data, _ := os.ReadFile(seg)
		journal = append(journal, data...)
	}
	if !strings.Contains(string(journal), `"actor":"carol","kind":"status","text":"declared SEV2 outage: Checkout failing"`) {
		t.Fatalf("the declaration is not journaled under the key's name:\n%s", journal)
	}

	serve.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("vigil serve after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("vigil serve did not stop on SIGTERM with an SSH session open")
	}
	x.waitFor("the ssh client to end with the hub", func(s string) bool { return strings.Contains(s, "ssh-exited") })
}

// A [serve.ssh] whose authorized_keys is missing stops serve at start with
// the file named (exit status 2), rather than serving a door nobody can open.
func TestServeSSHWithoutKeysFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := fmt.Sprintf("[serve]\nlisten = \"127.0.0.1:0\"\ndata_dir = %q\nprobe_load = false\n[serve.ssh]\nlisten = \"127.0.0.1:0\"\nauthorized_keys = %q\n",
		filepath.Join(dir, "data"), filepath.Join(dir, "nope"))
	os.WriteFile(filepath.Join(dir, "c.toml"), []byte(cfg), 0o600)
	code, _, stderr := runCLI("serve", "--config", filepath.Join(dir, "c.toml"))
	if code != exitUsage || !strings.Contains(stderr, filepath.Join(dir, "nope")+": no such file") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}
