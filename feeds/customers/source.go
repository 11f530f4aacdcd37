package customers

import (
	"bufio"
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Source is the customers file, read again when it changes. A changed
// file that is refused leaves the list as it was: a half-edited export
// must not make every customer unknown in the middle of an incident.
type Source struct {
	path string
	plan func(string) bool
	list atomic.Pointer[List]

	mu    sync.Mutex
	stamp stamp
}

type stamp struct {
	mod  time.Time
	size int64
}

// Open reads path once; its error is the file's.
func Open(path string, plan func(string) bool) (*Source, error) {
	s := &Source{path: path, plan: plan}
	if _, err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Load reads and parses a customers file.
func Load(path string, plan func(string) bool) (*List, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	defer f.Close()
	return Parse(bufio.NewReaderSize(f, 64<<10), path, plan)
}

// List is the newest list accepted.
func (s *Source) List() *List { return s.list.Load() }

// Path is the file read.
func (s *Source) Path() string { return s.path }

// Reload reads the file again if its size or modification time changed.
// On an error the previous list stays.
func (s *Source) Reload() (changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err != nil {
		return false, &Error{File: s.path, Msg: err.Error()}
	}
	st := stamp{fi.ModTime(), fi.Size()}
	if st == s.stamp && s.list.Load() != nil {
		return false, nil
	}
	l, err := Load(s.path, s.plan)
	if err != nil {
		return false, err
	}
	s.stamp = st
	s.list.Store(l)
	return true, nil
}

// Watch reloads on every tick until ctx ends, telling report what came of
// each change (nil: a new list was taken).
func (s *Source) Watch(ctx context.Context, tick <-chan time.Time, report func(*List, error)) {
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		changed, err := s.Reload()
		switch {
		case err != nil && err.Error() != lastErr:
			lastErr = err.Error()
			report(s.List(), err)
		case changed:
			lastErr = ""
			report(s.List(), nil)
		}
	}
}
