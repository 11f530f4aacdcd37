package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Check is one configured service check.
type Check struct {
	Name    string
	Type    string // tcp | http | process | command
	Target  string // address, URL, process name or command line
	Expect  int    // http: expected status (default 200)
	Every   time.Duration
	Timeout time.Duration
	Rise    int // successes to come back up (default 2)
	Fall    int // failures to go down (default 3)

	Expiry // tls, domain and https: how near an expiry warns
	TLS    // tls and https: whom to trust
	DNS    // dns: the record and its expected answer
	// ExpectBody (http): a substring the body must hold, or /a regexp/.
	ExpectBody string
	// RDAP (domain): the registry's RDAP base URL; empty asks Bootstrap.
	RDAP      string
	Bootstrap *Bootstrap
	// Now is the clock expiries are measured by; nil is time.Now.
	Now func() time.Time
}

// Result is one check's outcome: a protocol state and a detail line.
type Result struct {
	State  string
	Detail string
}

// Run performs the check once.
func (c *Check) Run(ctx context.Context, procDir string) Result {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	switch c.Type {
	case "tcp":
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.Target)
		if err != nil {
			return Result{protocol.StateDown, "connect " + c.Target + ": " + shortErr(err)}
		}
		conn.Close()
		return Result{protocol.StateOK, "connected to " + c.Target}
	case "http":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Target, nil)
		if err != nil {
			return Result{protocol.StateUnknown, err.Error()}
		}
		return c.runHTTP(req)
	case "process":
		n, err := countProcesses(procDir, c.Target)
		if err != nil {
			return Result{protocol.StateUnknown, err.Error()}
		}
		if n == 0 {
			return Result{protocol.StateDown, "no process named " + c.Target}
		}
		return Result{protocol.StateOK, fmt.Sprintf("%d process(es) named %s", n, c.Target)}
	case "command":
		return runPlugin(ctx, c.Target)
	case "tls":
		return c.runTLS(ctx)
	case "domain":
		return c.runDomain(ctx)
	case "dns":
		return c.runDNS(ctx)
	}
	return Result{protocol.StateUnknown, "unknown check type " + c.Type}
}

func shortErr(err error) string {
	var sys *os.SyscallError
	if errors.As(err, &sys) {
		return sys.Err.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}

// runPlugin runs a Nagios-style plugin: exit 0 ok, 1 warn, 2 down, 3 (or
// anything else) unknown; the first line of output is the detail.
func runPlugin(ctx context.Context, commandLine string) Result {
	args, err := SplitCommand(commandLine)
	if err != nil {
		return Result{protocol.StateUnknown, err.Error()}
	}
	if len(args) == 0 {
		return Result{protocol.StateUnknown, "empty command"}
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if ctx.Err() != nil {
		return Result{protocol.StateUnknown, "plugin timed out: " + args[0]}
	}
	code := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return Result{protocol.StateUnknown, "cannot run plugin: " + err.Error()}
		}
		code = exit.ExitCode()
	}
	state := protocol.StateUnknown
	switch code {
	case 0:
		state = protocol.StateOK
	case 1:
		state = protocol.StateWarn
	case 2:
		state = protocol.StateDown
	}
	if first == "" {
		first = fmt.Sprintf("%s exited %d", args[0], code)
	}
	return Result{state, first}
}

// SplitCommand splits a command line into arguments the way a shell would
// for plain words, 'single' and "double" quotes and backslash escapes; it
// runs no shell, so nothing else is interpreted.
func SplitCommand(line string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg, quote := false, rune(0)
	runes := []rune(line)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch {
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\\' && quote != '\'' && i+1 < len(runes):
			i++
			cur.WriteRune(runes[i])
			inArg = true
		case quote == '"':
			if r == '"' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inArg = r, true
		case r == ' ' || r == '\t':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteRune(r)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unclosed %c quote in command %q", quote, line)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

func countProcesses(procDir, name string) (int, error) {
	if procDir == "" {
		procDir = "/proc"
	}
	entries, err := os.ReadDir(procDir)
	if err != nil {
		return 0, fmt.Errorf("cannot list processes: %w", err)
	}
	n := 0
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(procDir, e.Name(), "comm"))
		if err != nil {
			continue
		}
		if string(bytes.TrimSpace(comm)) == name {
			n++
			continue
		}
		if cmdline, err := os.ReadFile(filepath.Join(procDir, e.Name(), "cmdline")); err == nil {
			argv0, _, _ := bytes.Cut(cmdline, []byte{0})
			if filepath.Base(string(argv0)) == name {
				n++
			}
		}
	}
	return n, nil
}

// Debouncer applies rise/fall counts from the first result on: a service
// is reported down (or warn, unknown) only after Fall such results in a
// row, and ok only after Rise successes in a row, whether it is coming
// back or just starting. Until a first state is confirmed it reports ""
// (nothing yet): one failed check right after a restart is not an outage,
// and must not be journaled as one.
type Debouncer struct {
	Rise, Fall int
	state      string
	since      time.Time
	streak     int
	pending    string
}

// Observe feeds one result and returns the state to report ("" while
// none is confirmed) and since when.
func (d *Debouncer) Observe(r Result, now time.Time) (string, time.Time) {
	if r.State == d.state {
		d.streak, d.pending = 0, ""
		return d.state, d.since
	}
	if r.State != d.pending {
		d.pending, d.streak = r.State, 0
	}
	d.streak++
	need := max(d.Fall, 1)
	if r.State == protocol.StateOK {
		need = max(d.Rise, 1)
	}
	if d.streak >= need {
		d.state, d.since, d.streak, d.pending = r.State, now, 0, ""
	}
	return d.state, d.since
}

// RunCheck runs c every c.Every until ctx ends, reporting debounced states.
func RunCheck(ctx context.Context, host string, c Check, procDir string, sink Sink) {
	deb := &Debouncer{Rise: c.Rise, Fall: c.Fall}
	t := time.NewTicker(c.Every)
	defer t.Stop()
	for {
		r := c.Run(ctx, procDir)
		if ctx.Err() != nil {
			return
		}
		now := time.Now()
		state, since := deb.Observe(r, now)
		if state == "" {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				continue
			}
		}
		detail := r.Detail
		if state != r.State {
			detail = fmt.Sprintf("%s (last check %s; still %s until confirmed)", detail, r.State, state)
		}
		sink.PublishService(protocol.Service{Host: host, Service: c.Name, State: state, Detail: detail, Since: protocol.At(since), At: protocol.At(now)})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
