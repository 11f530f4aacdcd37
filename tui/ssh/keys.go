package ssh

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Identity is who a key belongs to: the responder named by the key's
// comment, and whether the key may only watch.
type Identity struct {
	Name     string
	ReadOnly bool
	// Fingerprint is the key's SHA256 fingerprint, logged and journaled
	// beside the name; Line is where the key is listed (file:line).
	Fingerprint string
	Line        string
}

// ParseKeys reads authorized_keys text (OpenSSH format) into keys, by the
// key's wire encoding. Every key needs a comment, the responder's name; an
// error names the file and line. A key already in keys keeps the stricter
// identity: read-only wins over read-write, so a key listed in both files
// can only watch. One name has one key: a second key claiming a name
// already held (in either file) is refused, naming both lines, so every
// action of a name is one key's.
func ParseKeys(path string, data []byte, readOnly bool, keys map[string]Identity) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	seen := map[string]string{}
	holder := map[string]string{} // name → the wire encoding of its key
	for wire, id := range keys {
		holder[id.Name] = wire
	}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		key, comment, options, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			return fmt.Errorf("%s:%d: not an OpenSSH public key line: %v", path, n, err)
		}
		if len(options) > 0 {
			return fmt.Errorf("%s:%d: key options (%s) are not supported here: list the bare key and its comment", path, n, options[0])
		}
		if comment == "" {
			return fmt.Errorf("%s:%d: the key has no comment: its comment is the responder's name (ssh-ed25519 AAAA… alice)", path, n)
		}
		if err := protocol.CheckID("the responder's name (the key's comment)", comment); err != nil {
			return fmt.Errorf("%s:%d: %v", path, n, err)
		}
		wire := string(key.Marshal())
		if prev, dup := seen[wire]; dup && prev != comment {
			return fmt.Errorf("%s:%d: this key is already listed as %q: one key, one responder", path, n, prev)
		}
		seen[wire] = comment
		if other, held := holder[comment]; held && other != wire {
			return fmt.Errorf("%s:%d: %q is already the name of another key (%s): one responder, one key; give this key its own name", path, n, comment, keys[other].Line)
		}
		holder[comment] = wire
		if prev, ok := keys[wire]; ok && (prev.ReadOnly || !readOnly) {
			continue
		}
		keys[wire] = Identity{Name: comment, ReadOnly: readOnly, Fingerprint: gossh.FingerprintSHA256(key), Line: fmt.Sprintf("%s:%d", path, n)}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Keyring answers who a key is, reading the key files again whenever one
// of them changes, so adding a responder needs no restart. A file that
// turns unreadable or invalid keeps the keys last read, with an error
// logged.
type Keyring struct {
	authorized, readOnly string
	log                  *slog.Logger

	mu    sync.Mutex
	keys  map[string]Identity
	stamp [2]fileStamp
}

type fileStamp struct {
	mod  time.Time
	size int64
	ok   bool
}

func stampOf(path string) fileStamp {
	if path == "" {
		return fileStamp{}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size(), ok: true}
}

// NewKeyring reads the key files; authorized is required, readOnly may be
// empty.
func NewKeyring(authorized, readOnly string, log *slog.Logger) (*Keyring, error) {
	k := &Keyring{authorized: authorized, readOnly: readOnly, log: log}
	keys, err := k.read()
	if err != nil {
		return nil, err
	}
	k.keys, k.stamp = keys, [2]fileStamp{stampOf(authorized), stampOf(readOnly)}
	return k, nil
}

func (k *Keyring) read() (map[string]Identity, error) {
	keys := map[string]Identity{}
	for _, f := range []struct {
		path     string
		readOnly bool
	}{{k.authorized, false}, {k.readOnly, true}} {
		if f.path == "" {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("%s: no such file (create it with one public key per line, its comment the responder's name)", f.path)
			}
			return nil, err
		}
		if err := ParseKeys(f.path, data, f.readOnly, keys); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// Lookup returns the identity of key; ok is false for a key in neither file.
func (k *Keyring) Lookup(key gossh.PublicKey) (Identity, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refreshLocked()
	id, ok := k.keys[string(key.Marshal())]
	return id, ok
}

// Len is the number of keys known.
func (k *Keyring) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.keys)
}

func (k *Keyring) refreshLocked() {
	now := [2]fileStamp{stampOf(k.authorized), stampOf(k.readOnly)}
	if now == k.stamp {
		return
	}
	k.stamp = now
	keys, err := k.read()
	if err != nil {
		k.log.Error("ssh: key files changed but cannot be read; keeping the keys read before", "err", err)
		return
	}
	k.keys = keys
	k.log.Info("ssh: key files read again", "keys", len(keys))
}
