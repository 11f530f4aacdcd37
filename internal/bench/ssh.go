package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	charmssh "charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/vigil-oncall/vigil/tui"
	tuissh "github.com/vigil-oncall/vigil/tui/ssh"
)

// Bandwidth is bytes written to the terminal per second in steady state.
type Bandwidth struct {
	W, H       int
	Vigil      float64 // bytes/s
	Htop       float64 // bytes/s; 0 when htop is absent
	HtopNote   string
	Ratio      float64 // vigil / htop
	VigilHosts int
}

func rate(t *Term, window time.Duration) float64 {
	b0 := t.Bytes()
	time.Sleep(window)
	return float64(t.Bytes()-b0) / window.Seconds()
}

// MeasureSSHBandwidth is the terminal bandwidth of the dashboard the hub
// serves over SSH: 20 hosts reporting every second, an incident open, seen
// through the real OpenSSH client in a pty of w x h. Beside it, htop -d 10
// over the same kind of session: the same client and terminal size, to an
// SSH server on loopback that runs htop in a real pty.
func MeasureSSHBandwidth(ctx context.Context, o Options, w, h int) (Bandwidth, error) {
	o.defaults()
	r := Bandwidth{W: w, H: h, VigilHosts: 20}
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		return r, errors.New("the OpenSSH client is not installed (apt-get install openssh-client)")
	}
	dir, cleanup, err := home()
	if err != nil {
		return r, err
	}
	defer cleanup()
	keyFile, authorized, err := clientKey(dir)
	if err != nil {
		return r, err
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(authorized), 0o600); err != nil {
		return r, err
	}
	sshArgs := func(addr string) []string {
		host, port, _ := net.SplitHostPort(addr)
		return []string{sshBin, "-F", "/dev/null", "-p", port, "-i", keyFile, "-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-t", host}
	}

	f, err := NewFeed()
	if err != nil {
		return r, err
	}
	defer f.Close()
	fctx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	go f.Run(fctx, 20, 20)
	srv, err := tuissh.New(tuissh.Config{
		Hub: f.Hub, HostKey: filepath.Join(dir, "host_key"), AuthorizedKeys: filepath.Join(dir, "authorized_keys"),
		Dashboard: tui.Options{}, FeedName: "perf", FPS: tui.DefaultFPS,
	})
	if err != nil {
		return r, err
	}
	vigilAddr, stopVigil, err := serveSSH(ctx, srv.Serve)
	if err != nil {
		return r, err
	}
	defer stopVigil()
	t, err := Start(ctx, w, h, dir, nil, sshArgs(vigilAddr)...)
	if err != nil {
		return r, err
	}
	if _, err := t.WaitFor(20*time.Second, "host-0019"); err != nil {
		t.Stop()
		return r, fmt.Errorf("the dashboard over SSH never showed the hosts: %w", err)
	}
	time.Sleep(3 * time.Second)
	r.Vigil = rate(t, o.Window)
	t.Stop()

	htop, err := exec.LookPath("htop")
	if err != nil {
		r.HtopNote = "htop not installed (apt-get install htop): column skipped"
		return r, nil
	}
	htopAddr, stopHtop, err := serveHtop(ctx, dir, htop)
	if err != nil {
		r.HtopNote = err.Error()
		return r, nil
	}
	defer stopHtop()
	ht, err := Start(ctx, w, h, dir, nil, sshArgs(htopAddr)...)
	if err != nil {
		r.HtopNote = err.Error()
		return r, nil
	}
	defer ht.Stop()
	time.Sleep(3 * time.Second)
	r.Htop = rate(ht, o.Window)
	if r.Htop > 0 {
		r.Ratio = r.Vigil / r.Htop
	}
	return r, nil
}

// clientKey writes an ed25519 client key (OpenSSH format) in dir and
// returns its file and its authorized_keys line.
func clientKey(dir string) (string, string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	block, err := gossh.MarshalPrivateKey(priv, "perf")
	if err != nil {
		return "", "", err
	}
	path := filepath.Join(dir, "id_perf")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", "", err
	}
	sshPub, err := gossh.NewPublicKey(pub)
	if err != nil {
		return "", "", err
	}
	return path, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(sshPub))) + " perf\n", nil
}

// serveSSH runs serve on a loopback listener until stop.
func serveSSH(ctx context.Context, serve func(context.Context, net.Listener) error) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { serve(ctx, ln); close(done) }()
	return ln.Addr().String(), func() { cancel(); <-done }, nil
}

// serveHtop is an SSH server on loopback that runs htop -d 10 in a real
// pty for every session, ending it with the session.
func serveHtop(ctx context.Context, dir, htop string) (string, func(), error) {
	signer, _, err := tuissh.HostKey(filepath.Join(dir, "host_key"))
	if err != nil {
		return "", nil, err
	}
	srv := &charmssh.Server{
		HostSigners:      []charmssh.Signer{signer},
		PublicKeyHandler: func(charmssh.Context, charmssh.PublicKey) bool { return true }, // loopback, a benchmark's own key
		Handler: func(s charmssh.Session) {
			pty, _, ok := s.Pty()
			if !ok {
				s.Exit(1)
				return
			}
			cmd := exec.CommandContext(s.Context(), htop, "-d", "10")
			cmd.Env = []string{"TERM=" + pty.Term, "HOME=" + dir, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
			if err := pty.Start(cmd); err != nil {
				fmt.Fprintln(s.Stderr(), err)
				s.Exit(1)
				return
			}
			cmd.Wait()
		},
	}
	if err := srv.SetOption(charmssh.AllocatePty()); err != nil {
		return "", nil, err
	}
	return serveSSH(ctx, func(ctx context.Context, ln net.Listener) error {
		go func() { <-ctx.Done(); srv.Close() }()
		return srv.Serve(ln)
	})
}
