package tui

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/config"
	"github.com/vigil-oncall/vigil/feeds/history"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/server"
)

// RunAt is the dashboard watching feeds, started rewound to at
// (vigil --at … --feed URL).
func RunAt(ctx context.Context, cfg config.Config, feeds []client.FeedConfig, stateDir string, at time.Time, stderr io.Writer) error {
	return runDashboard(ctx, cfg, feeds, stateDir, false, at, stderr)
}

// RunJournal shows the board of a data directory no hub is running on,
// rewound to at (vigil --at … --journal DIR): a hub over it on loopback
// that takes no commands, with the directory's load history.
func RunJournal(ctx context.Context, cfg config.Config, dir string, at time.Time, stderr io.Writer) error {
	j, _, err := journal.Open(dir)
	if errors.Is(err, journal.ErrLocked) {
		return fmt.Errorf("%w: a hub is running on %s; rewind it with --feed", err, dir)
	}
	if err != nil {
		return err
	}
	defer j.Close()
	store, err := history.Open(dir, nil)
	if err != nil {
		return err
	}
	// A token nobody holds: the board can be read, never changed.
	nobody := rand.Text()
	hub := server.NewHub(j, server.Options{Name: "journal " + dir, Book: cfg.Book(), Thresholds: cfg.Thresholds.Level(), Tokens: []string{nobody}, History: store})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(2)
	go func() { defer wg.Done(); store.Run(ctx) }()
	go func() { defer wg.Done(); server.Serve(ctx, hub, ln, "/feed", "", "") }()
	return RunAt(ctx, cfg, []client.FeedConfig{{Name: "journal", URL: "ws://" + ln.Addr().String() + "/feed"}}, "", at, stderr)
}
