package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/colorprofile"
	gossh "golang.org/x/crypto/ssh"
)

func newKey(t testing.TB) gossh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func line(k gossh.PublicKey, comment string) string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k))) + " " + comment
}

func TestParseKeys(t *testing.T) {
	a, b := newKey(t), newKey(t)
	w := func(k gossh.PublicKey) string { return string(k.Marshal()) }
	tests := []struct {
		name     string
		src      string
		readOnly bool
		want     map[string]Identity
		err      string
	}{
		{"comment is the name", "# team\n\n" + line(a, "alice") + "\n" + line(b, "bob@phone") + "\n", false,
			map[string]Identity{w(a): {Name: "alice"}, w(b): {Name: "bob@phone"}}, ""},
		{"read-only file", line(a, "alice"), true, map[string]Identity{w(a): {Name: "alice", ReadOnly: true}}, ""},
		{"same key same name twice", line(a, "alice") + "\n" + line(a, "alice"), false, map[string]Identity{w(a): {Name: "alice"}}, ""},
		{"no comment", "\n" + strings.TrimSpace(string(gossh.MarshalAuthorizedKey(a))), false, nil, "k:2: the key has no comment"},
		{"name with a space", line(a, "Alice Smith"), false, nil, "k:1: the responder's name (the key's comment) \"Alice Smith\" holds a space"},
		{"not a key", "ssh-ed25519 notbase64 alice", false, nil, "k:1: not an OpenSSH public key line"},
		{"options", `command="/bin/sh" ` + line(a, "alice"), false, nil, "k:1: key options"},
		{"one key two names", line(a, "alice") + "\n" + line(a, "mallory"), false, nil, "k:2: this key is already listed as \"alice\""},
		{"two keys one name", line(a, "alice") + "\n# laptop\n" + line(b, "alice"), false, nil, "k:3: \"alice\" is already the name of another key (k:1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]Identity{}
			err := ParseKeys("k", []byte(tt.src), tt.readOnly, got)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d keys, want %d", len(got), len(tt.want))
			}
			for k, id := range tt.want {
				if g := got[k]; g.Name != id.Name || g.ReadOnly != id.ReadOnly || !strings.HasPrefix(g.Fingerprint, "SHA256:") {
					t.Fatalf("key of %s: got %+v", id.Name, g)
				}
			}
		})
	}
}

// A key in both files can only watch, whichever file is read first.
func TestReadOnlyWinsOverAuthorized(t *testing.T) {
	a := newKey(t)
	for _, order := range [][]bool{{false, true}, {true, false}} {
		keys := map[string]Identity{}
		for _, ro := range order {
			if err := ParseKeys("k", []byte(line(a, "alice")), ro, keys); err != nil {
				t.Fatal(err)
			}
		}
		if !keys[string(a.Marshal())].ReadOnly {
			t.Fatalf("order %v: key is read-write", order)
		}
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add(line(newKey(f), "alice") + "\n# c\n\n")
	f.Add("ssh-ed25519 AAAA alice")
	f.Add(`from="10.0.0.1" ssh-rsa AAAAB3 bob`)
	f.Fuzz(func(t *testing.T, src string) {
		keys := map[string]Identity{}
		err := ParseKeys("f", []byte(src), false, keys)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, id := range keys {
			if id.Name == "" || strings.ContainsAny(id.Name, " \t\n\x1b") {
				t.Fatalf("accepted a name that is not one: %q", id.Name)
			}
		}
	})
}

// The key files are read again when they change: a responder added is let
// in without a restart; a file broken meanwhile keeps the keys read before.
func TestKeyringReloads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "authorized_keys")
	a, b := newKey(t), newKey(t)
	if err := os.WriteFile(path, []byte(line(a, "alice")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := NewKeyring(path, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.Lookup(b); ok {
		t.Fatal("bob known before being added")
	}
	write := func(src string, age time.Duration) {
		if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		// A distinct modification time, as a later edit would have.
		at := time.Now().Add(age)
		os.Chtimes(path, at, at)
	}
	write(line(a, "alice")+"\n"+line(b, "bob")+"\n", time.Second)
	if id, ok := k.Lookup(b); !ok || id.Name != "bob" {
		t.Fatalf("bob after the edit: %+v %v", id, ok)
	}
	write("garbage\n", 2*time.Second)
	if id, ok := k.Lookup(b); !ok || id.Name != "bob" {
		t.Fatalf("a broken file dropped the keys: %+v %v", id, ok)
	}
	if _, err := NewKeyring(filepath.Join(dir, "missing"), "", slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestHostKeyCreatedOnceMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "ssh_host_ed25519_key")
	s1, created, err := HostKey(path)
	if err != nil || !created {
		t.Fatalf("first start: created=%v err=%v", created, err)
	}
	if s1.PublicKey().Type() != gossh.KeyAlgoED25519 {
		t.Fatalf("key type %s", s1.PublicKey().Type())
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	s2, created, err := HostKey(path)
	if err != nil || created || gossh.FingerprintSHA256(s1.PublicKey()) != gossh.FingerprintSHA256(s2.PublicKey()) {
		t.Fatalf("second start: created=%v err=%v, same key=%v", created, err, err == nil && gossh.FingerprintSHA256(s1.PublicKey()) == gossh.FingerprintSHA256(s2.PublicKey()))
	}
	os.Chmod(path, 0o644)
	if _, _, err := HostKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable host key: %v", err)
	}
}

func TestProfileFromClientEnv(t *testing.T) {
	tests := []struct {
		env  []string
		want colorprofile.Profile
	}{
		{[]string{"TERM=xterm-256color"}, colorprofile.ANSI},
		{nil, colorprofile.ANSI},
		{[]string{"TERM=xterm-256color", "COLORTERM=truecolor"}, colorprofile.TrueColor},
		{[]string{"COLORTERM=24bit"}, colorprofile.TrueColor},
		{[]string{"COLORTERM=truecolor", "NO_COLOR=1"}, colorprofile.ASCII},
		{[]string{"NO_COLOR="}, colorprofile.ANSI}, // NO_COLOR counts only when set to something
		{[]string{"TERM=dumb"}, colorprofile.ASCII},
		{[]string{"COLORTERM=truecolor", "COLORTERM=no"}, colorprofile.ANSI}, // the last word counts
	}
	for _, tt := range tests {
		if got := Profile(tt.env); got != tt.want {
			t.Errorf("Profile(%q) = %v, want %v", tt.env, got, tt.want)
		}
	}
}

// A name held by a key of the authorized file cannot be claimed by
// another key in the read-only file either.
func TestOneNameOneKeyAcrossFiles(t *testing.T) {
	a, b := newKey(t), newKey(t)
	dir := t.TempDir()
	auth, ro := filepath.Join(dir, "authorized_keys"), filepath.Join(dir, "read_only_keys")
	os.WriteFile(auth, []byte(line(a, "alice")+"\n"), 0o600)
	os.WriteFile(ro, []byte("\n"+line(b, "alice")+"\n"), 0o600)
	_, err := NewKeyring(auth, ro, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), ro+":2") || !strings.Contains(err.Error(), auth+":1") {
		t.Fatalf("two keys named alice across files: %v", err)
	}
}
