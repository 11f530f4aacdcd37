package ssh

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/vigil-oncall/vigil/feeds/config"
	"github.com/vigil-oncall/vigil/feeds/server"
	"github.com/vigil-oncall/vigil/tui"
)

// Front is [serve.ssh] as a front end of server.Run: the dashboard over
// SSH beside the feed (built here, since feeds never imports the
// dashboard). Its errors are config errors at [serve.ssh]'s keys.
func Front(cfg config.Config, log *slog.Logger) server.Front {
	return func(hub *server.Hub, name string) (func(context.Context) error, error) {
		c := cfg.Serve.SSH
		opts := tui.OptionsFrom(cfg, false)
		opts.DraftDir = filepath.Join(cfg.Serve.DataDir, "ssh-drafts") // w writes drafts on the hub, not the responder's machine
		srv, err := New(Config{
			Hub: hub, HostKey: c.HostKey, AuthorizedKeys: c.AuthorizedKeys, ReadOnlyKeys: c.ReadOnlyKeys,
			IdleTimeout: c.IdleTimeout.Duration, MaxTimeout: c.MaxTimeout.Duration,
			Dashboard: opts, FeedName: name, FPS: tui.FrameRate(), Logger: log,
		})
		if err != nil {
			return nil, cfg.ErrorAt([]string{"serve", "ssh"}, -1, "%v", err)
		}
		ln, err := net.Listen("tcp", c.Listen)
		if err != nil {
			return nil, cfg.ErrorAt([]string{"serve", "ssh", "listen"}, -1, "%v", err)
		}
		return func(ctx context.Context) error { return srv.Serve(ctx, ln) }, nil
	}
}

// Check reads [serve.ssh]'s key files as New will, so that check-config
// refuses what serve would; its errors are config errors at the file's
// key, naming the key file's line. It is a server.RunOptions check.
func Check(cfg config.Config) error {
	c := cfg.Serve.SSH
	if c == nil {
		return nil
	}
	keys := map[string]Identity{}
	for _, f := range []struct {
		key, path string
		readOnly  bool
	}{{"authorized_keys", c.AuthorizedKeys, false}, {"read_only_keys", c.ReadOnlyKeys, true}} {
		if f.path == "" {
			continue
		}
		data, err := os.ReadFile(f.path)
		if err == nil {
			err = ParseKeys(f.path, data, f.readOnly, keys)
		}
		if err != nil {
			return cfg.ErrorAt([]string{"serve", "ssh", f.key}, -1, "%v", err)
		}
	}
	return nil
}
