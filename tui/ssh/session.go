package ssh

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	charmssh "charm.land/ssh"
	"charm.land/wish/v2"
	bm "charm.land/wish/v2/bubbletea"

	"github.com/vigil-oncall/vigil/feeds/client"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
	"github.com/vigil-oncall/vigil/tui"
)

// session is one responder's dashboard: its context, its feeds client and
// the goroutine running it, and its idle timer. It is made before the
// program and ended after it, by the same middleware call.
type session struct {
	id      uint64
	who     Identity
	ctx     context.Context
	cancel  context.CancelFunc
	client  *client.Client
	ran     sync.WaitGroup
	idle    *time.Timer
	life    *time.Timer
	expired atomic.Pointer[string] // why a timer ended the session: "idle" or "max"
	ended   chan struct{}          // closed when the program has ended
}

// closeWait is how long a session's program has to end after it is told
// to before its channel is closed under it: a client that stopped reading
// blocks the program's writes, and only closing the channel unblocks them.
const closeWait = 5 * time.Second

// session is the middleware around the bubbletea one: it checks the key
// again (the auth callback is not proof of which key signed), builds the
// session's client, and after the program ends, ends everything the session
// started before the handler returns and SSH closes the channel.
func (s *Server) session(next charmssh.Handler) charmssh.Handler {
	return func(sess charmssh.Session) {
		s.sessions.Add(1)
		defer s.sessions.Done()
		key := sess.PublicKey()
		if key == nil {
			wish.Fatalln(sess, "vigil: only public keys are accepted")
			return
		}
		who, ok := s.keys.Lookup(key)
		if !ok {
			wish.Fatalln(sess, "vigil: this key is no longer authorized")
			return
		}
		if len(sess.Command()) > 0 || sess.Subsystem() != "" {
			wish.Fatalln(sess, "vigil: this server only serves the dashboard: ssh -t without a command")
			return
		}
		if _, _, pty := sess.Pty(); !pty {
			wish.Fatalln(sess, "vigil: the dashboard needs a terminal: connect with ssh -t")
			return
		}
		ss, err := s.open(sess, who)
		if err != nil {
			wish.Fatalln(sess, "vigil: "+err.Error())
			return
		}
		s.active.Add(1)
		start := time.Now()
		s.log.Info("ssh: session started", "session", ss.id, "responder", who.Name, "key", who.Fingerprint, "read_only", who.ReadOnly, "remote", sess.RemoteAddr())
		s.cfg.Hub.SignedIn(who.Name, protocol.ViaSSH, who.Fingerprint, who.ReadOnly)
		s.mu.Lock()
		s.live[sess] = ss // one connection may carry several sessions
		s.mu.Unlock()
		// Deferred, so a panic in the program's making (recovered above
		// us) still ends the client and everything else the session began.
		defer func() {
			close(ss.ended)
			s.mu.Lock()
			delete(s.live, sess)
			s.mu.Unlock()
			reason := ss.close(sess.Context())
			s.active.Add(-1)
			s.log.Info("ssh: session ended", "session", ss.id, "responder", who.Name, "key", who.Fingerprint, "after", time.Since(start).Round(time.Second), "reason", reason)
			switch reason {
			case "idle":
				wish.Printf(sess, "\r\nvigil: no input for %s: session ended\r\n", s.cfg.IdleTimeout)
			case "max":
				wish.Printf(sess, "\r\nvigil: a session lasts at most %s: session ended (connect again to go on)\r\n", s.cfg.MaxTimeout)
			}
		}()
		next(sess) // bubbletea's middleware: runs the program until it ends
	}
}

func (s *Server) open(sess charmssh.Session, who Identity) (*session, error) {
	ctx, cancel := context.WithCancel(s.ctx)
	stop := context.AfterFunc(sess.Context(), cancel) // the connection dropped
	ss := &session{id: s.nextID.Add(1), who: who, ctx: ctx, cancel: func() { stop(); cancel() }, ended: make(chan struct{})}
	principal := server.Principal{Actor: who.Name, ReadOnly: who.ReadOnly, Via: protocol.ViaSSH, Key: who.Fingerprint}
	feed := client.FeedConfig{
		Name: s.cfg.FeedName, URL: "ws://in-process" + feedPath,
		Dial: s.mem.dialer(principal), Actor: who.Name, Via: protocol.ViaSSH,
	}
	// The outbox stays in memory: the client and the hub share this
	// process, so the hub is never unreachable while the session lives,
	// and two sessions of one key would overwrite one file on disk.
	c, err := client.New([]client.FeedConfig{feed}, "", s.cfg.Timings)
	if err != nil {
		ss.cancel()
		return nil, err
	}
	ss.client = c
	ss.ran.Add(1)
	go func() { defer ss.ran.Done(); c.Run(ctx) }()
	if s.cfg.IdleTimeout > 0 {
		ss.idle = time.AfterFunc(s.cfg.IdleTimeout, func() { ss.expire("idle") })
	}
	if s.cfg.MaxTimeout > 0 {
		ss.life = time.AfterFunc(s.cfg.MaxTimeout, func() { ss.expire("max") })
	}
	return ss, nil
}

// expire ends the session for a timer's reason; the first reason stays.
func (ss *session) expire(why string) {
	ss.expired.CompareAndSwap(nil, &why)
	ss.cancel()
}

// close ends the session's client and timer and says why the session ended.
func (ss *session) close(conn context.Context) string {
	reason := "quit"
	switch {
	case ss.expired.Load() != nil:
		reason = *ss.expired.Load()
	case conn.Err() != nil:
		reason = "connection closed"
	case ss.ctx.Err() != nil:
		reason = "server stopping"
	}
	for _, t := range []*time.Timer{ss.idle, ss.life} {
		if t != nil {
			t.Stop()
		}
	}
	ss.cancel()
	ss.ran.Wait()
	return reason
}

// program builds the session's dashboard for bubbletea's middleware.
func (s *Server) program(sess charmssh.Session) *tea.Program {
	s.mu.Lock()
	ss, ok := s.live[sess]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	pty, _, _ := sess.Pty()
	opts := s.cfg.Dashboard
	opts.Actor = ss.who.Name
	m := tui.New(ss.ctx, ss.client, opts)
	env := append(sess.Environ(), "TERM="+pty.Term)
	var input io.Reader = sess
	if ss.idle != nil {
		input = &idleInput{r: sess, timer: ss.idle, after: s.cfg.IdleTimeout}
	}
	popts := append(bm.MakeOptions(sess),
		tea.WithInput(input),
		tea.WithColorProfile(Profile(env)),
		tea.WithoutSignalHandler(), // the hub's signals are the hub's, not a session's
		tea.WithFPS(s.cfg.FPS),
	)
	p := tea.NewProgram(m, popts...)
	// Idle, the longest life, shutdown or a dropped connection end the
	// session's context: the program is asked to quit (restoring the
	// responder's terminal), and closed under if it cannot.
	context.AfterFunc(ss.ctx, func() {
		p.Quit()
		t := time.NewTimer(closeWait)
		defer t.Stop()
		select {
		case <-ss.ended:
		case <-t.C:
			s.log.Warn("ssh: session did not end when told; closing its channel", "session", ss.id, "responder", ss.who.Name)
			sess.Close()
		}
	})
	return p
}
