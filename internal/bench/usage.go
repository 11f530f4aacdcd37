package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Usage is what a program in a terminal cost over a window, per second.
type Usage struct {
	CPU   time.Duration // CPU time (user+system, all threads) per second
	Bytes float64       // bytes written to the terminal per second
}

// usage measures t over window: CPU from /proc (exact to the kernel's
// 10 ms reporting unit at either end) and bytes from the pty.
func usage(t *Term, window time.Duration) (Usage, error) {
	c0, err := t.CPU()
	if err != nil {
		return Usage{}, err
	}
	b0 := t.Bytes()
	time.Sleep(window)
	c1, err := t.CPU()
	if err != nil {
		return Usage{}, err
	}
	per := window.Seconds()
	return Usage{CPU: time.Duration(float64(c1-c0) / per), Bytes: float64(t.Bytes()-b0) / per}, nil
}

// A peer is a terminal monitor vigil is measured beside, on the same
// terminal size in the same run, refreshing once a second like vigil's
// load. Peers that are not installed are skipped.
type peer struct {
	name string
	args []string
	// setup prepares the peer's private home (a config file) before it
	// starts.
	setup func(home string) error
}

// peers: htop at one refresh a second (-d is in tenths); btop's refresh
// is only in its config file (default 2 s); glances -t 1.
var peers = []peer{
	{name: "htop", args: []string{"-d", "10"}},
	{name: "btop", setup: func(home string) error {
		dir := filepath.Join(home, "config", "btop")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "btop.conf"), []byte("update_ms = 1000\n"), 0o644)
	}},
	{name: "glances", args: []string{"-t", "1"}},
}

// PeerNames are the monitors vigil can be measured beside.
func PeerNames() []string {
	names := make([]string, len(peers))
	for i, p := range peers {
		names[i] = p.name
	}
	return names
}

// measurePeer runs a peer in a pty of w x h and measures it like vigil:
// settle, then one window. A peer not installed is ok=false, no error.
func measurePeer(ctx context.Context, p peer, w, h int, settle, window time.Duration) (u Usage, ok bool, err error) {
	bin, err := exec.LookPath(p.name)
	if err != nil {
		return u, false, nil
	}
	dir, cleanup, err := home()
	if err != nil {
		return u, false, err
	}
	defer cleanup()
	if p.setup != nil {
		if err := p.setup(dir); err != nil {
			return u, false, err
		}
	}
	t, err := Start(ctx, w, h, dir, nil, append([]string{bin}, p.args...)...)
	if err != nil {
		return u, false, err
	}
	defer t.Stop()
	time.Sleep(settle)
	u, err = usage(t, window)
	return u, err == nil, err
}

// defaultSettle is how long a program runs before its window starts,
// unless Options.Settle says otherwise: past its first frames and its
// start-up work.
const defaultSettle = 3 * time.Second

// Spread is a figure over several runs.
type Spread struct {
	Min, Median, Max float64
	Runs             int
}

func spread(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Min: s[0], Median: med, Max: s[len(s)-1], Runs: len(s)}
}

// Format writes the spread as "median (min–max)" with each value
// formatted by f.
func (s Spread) Format(f func(float64) string) string {
	if s.Runs == 0 {
		return "-"
	}
	if s.Runs == 1 {
		return f(s.Median) + " (1 run)"
	}
	return fmt.Sprintf("%s (%s–%s)", f(s.Median), f(s.Min), f(s.Max))
}

// Machine says where figures were measured, so anyone can compare.
type Machine struct {
	Model   string // /proc/cpuinfo "model name"
	CPUs    int
	Go      string
	OS      string
	LoadAvg string // /proc/loadavg's 1, 5 and 15 minute averages
}

// ThisMachine reads the machine's description now.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH, Model: "unknown CPU"}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	m.LoadAvg = loadAvg()
	return m
}

func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func (m Machine) String() string {
	return fmt.Sprintf("%s, %d CPUs, %s, %s", m.Model, m.CPUs, m.OS, m.Go)
}
