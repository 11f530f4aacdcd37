// Package subscribers keeps the status page's email subscribers: double
// opt-in, one-click unsubscribe that erases the address. They live in
// their own small file in the data directory, rewritten whole on every
// change, never in the append-only journal: personal data must be
// erasable.
package subscribers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// FileName is the store's file in the data directory; KeyName the secret
// that signs unsubscribe links.
const (
	FileName = "subscribers.json"
	KeyName  = "subscribers.key"
)

// ConfirmWithin is how long a sign-up waits for its confirmation before
// it is forgotten.
const ConfirmWithin = 7 * 24 * time.Hour

// MaxSubscribers bounds the store: a form anyone can post to must not
// fill the disk.
const MaxSubscribers = 200_000

// Subscriber is one address and the components it follows (none: all).
type Subscriber struct {
	ID         string    `json:"id"`
	Email      string    `json:"email"`
	Components []string  `json:"components,omitempty"`
	Confirmed  bool      `json:"confirmed"`
	Created    time.Time `json:"created"`
	// ConfirmHash is the SHA-256 of the confirmation token: the file
	// holds nothing that confirms by itself.
	ConfirmHash string `json:"confirm_hash,omitempty"`
}

// Store is the subscribers file.
type Store struct {
	dir string
	key []byte
	now func() time.Time

	mu   sync.Mutex
	subs []Subscriber
}

// Open reads the store in dir, creating its key on first use.
func Open(dir string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	s := &Store{dir: dir, now: now}
	key, err := os.ReadFile(filepath.Join(dir, KeyName))
	switch {
	case errors.Is(err, os.ErrNotExist):
		key = make([]byte, 32)
		rand.Read(key)
		if err := writeAtomic(dir, KeyName, key); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case len(key) < 32:
		return nil, fmt.Errorf("%s: the key is %d bytes, want 32", filepath.Join(dir, KeyName), len(key))
	}
	s.key = key
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(data, &s.subs); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, FileName), err)
		}
	}
	return s, nil
}

// writeAtomic replaces dir/name with data: a temporary file, synced,
// renamed over, the directory synced. The old contents are gone from the
// directory once it returns.
func writeAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (s *Store) saveLocked() error {
	data, err := json.Marshal(s.subs)
	if err != nil {
		return err
	}
	return writeAtomic(s.dir, FileName, data)
}

// expireLocked forgets sign-ups not confirmed in time.
func (s *Store) expireLocked() bool {
	now := s.now()
	n := len(s.subs)
	s.subs = slices.DeleteFunc(s.subs, func(x Subscriber) bool { return !x.Confirmed && now.Sub(x.Created) > ConfirmWithin })
	return len(s.subs) != n
}

// Normalize checks an address as typed into the form and returns it bare
// and lower-cased in its domain.
func Normalize(email string) (string, error) {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return "", errors.New("not an email address")
	}
	at := strings.LastIndexByte(email, '@')
	return email[:at] + strings.ToLower(email[at:]), nil
}

func token() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func hash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// SignUp records a sign-up. It returns the confirmation token to mail to
// the address, or "" when nothing is to be sent (already confirmed). A
// pending sign-up gets a new token and its components replaced.
func (s *Store) SignUp(email string, components []string) (string, error) {
	email, err := Normalize(email)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	tok := token()
	i := slices.IndexFunc(s.subs, func(x Subscriber) bool { return x.Email == email })
	switch {
	case i >= 0 && s.subs[i].Confirmed:
		return "", nil
	case i >= 0:
		s.subs[i].ConfirmHash, s.subs[i].Components, s.subs[i].Created = hash(tok), components, s.now().UTC()
	case len(s.subs) >= MaxSubscribers:
		return "", errors.New("the subscriber list is full")
	default:
		s.subs = append(s.subs, Subscriber{ID: token()[:16], Email: email, Components: components, Created: s.now().UTC(), ConfirmHash: hash(tok)})
	}
	if err := s.saveLocked(); err != nil {
		return "", err
	}
	return tok, nil
}

// Confirm confirms the sign-up a token was mailed for.
func (s *Store) Confirm(tok string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	h := hash(tok)
	i := slices.IndexFunc(s.subs, func(x Subscriber) bool {
		return !x.Confirmed && x.ConfirmHash != "" && hmac.Equal([]byte(x.ConfirmHash), []byte(h))
	})
	if i < 0 {
		return false, nil
	}
	s.subs[i].Confirmed, s.subs[i].ConfirmHash = true, ""
	return true, s.saveLocked()
}

// UnsubscribeToken is the token of a subscriber's one-click unsubscribe
// link: their id, signed, so the file holds no token.
func (s *Store) UnsubscribeToken(id string) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("unsubscribe:" + id))
	return id + "." + hex.EncodeToString(mac.Sum(nil)[:16])
}

// Unsubscribe erases the subscriber a token names, address and all.
func (s *Store) Unsubscribe(tok string) (bool, error) {
	id, _, ok := strings.Cut(tok, ".")
	if !ok || !hmac.Equal([]byte(s.UnsubscribeToken(id)), []byte(tok)) {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.subs)
	s.subs = slices.DeleteFunc(s.subs, func(x Subscriber) bool { return x.ID == id })
	if len(s.subs) == n {
		return false, nil
	}
	return true, s.saveLocked()
}

// Confirmed is the confirmed subscribers of any of components; all of
// them when components is empty. A subscriber of no component follows
// every one.
func (s *Store) Confirmed(components []string) []Subscriber {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Subscriber
	for _, x := range s.subs {
		if !x.Confirmed {
			continue
		}
		if len(components) == 0 || len(x.Components) == 0 || slices.ContainsFunc(x.Components, func(c string) bool { return slices.Contains(components, c) }) {
			out = append(out, x)
		}
	}
	return out
}

// Expire forgets unconfirmed sign-ups older than ConfirmWithin, now
// rather than at the next sign-up.
func (s *Store) Expire() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.expireLocked() {
		return s.saveLocked()
	}
	return nil
}

// Len is how many subscribers, confirmed or not, the store holds.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}
