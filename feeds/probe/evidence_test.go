//go:build linux

package probe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// statLine is a /proc/[pid]/stat line as the kernel writes it.
func statLine(pid int, comm string, utime, stime, start uint64, rssPages int64) string {
	return fmt.Sprintf("%d (%s) S 1 %d %d 0 -1 4194560 120 0 0 0 %d %d 0 0 20 0 1 0 %d 2461696 %d 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
		pid, comm, pid, pid, utime, stime, start, rssPages)
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, line string
		want       procStat
		bad        bool
	}{
		{name: "plain", line: statLine(42, "php-cgi", 300, 12, 9000, 2048), want: procStat{Comm: []byte("php-cgi"), Ticks: 312, Start: 9000, RSSPages: 2048}},
		{name: "spaces and parentheses in comm", line: statLine(7, "a) (b c) S 1", 5, 5, 77, 1), want: procStat{Comm: []byte("a) (b c) S 1"), Ticks: 10, Start: 77, RSSPages: 1}},
		{name: "empty comm", line: statLine(8, "", 1, 2, 3, 4), want: procStat{Comm: []byte(""), Ticks: 3, Start: 3, RSSPages: 4}},
		{name: "kernel thread", line: "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 3 0 0 20 0 1 0 4 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 0 0 0 0 0 0", want: procStat{Comm: []byte("kthreadd"), Ticks: 3, Start: 4}},
		{name: "cut short", line: "42 (x) S 1 2 3", bad: true},
		{name: "no parentheses", line: "42 x S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22", bad: true},
		{name: "letters for utime", line: strings.Replace(statLine(1, "x", 1, 2, 3, 4), " 1 2 0 0 20", " a 2 0 0 20", 1), bad: true},
		{name: "overflowing ticks", line: statLine(1, "x", 1, 2, 3, 4)[:0] + "1 (x) S 1 1 1 0 -1 0 0 0 0 0 99999999999999999999 2 0 0 20 0 1 0 3 0 4", bad: true},
		{name: "empty", line: "", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.line))
			if tt.bad {
				if err == nil {
					t.Fatalf("accepted %q as %+v", tt.line, got)
				}
				return
			}
			if err != nil || string(got.Comm) != string(tt.want.Comm) || got.Ticks != tt.want.Ticks || got.Start != tt.want.Start || got.RSSPages != tt.want.RSSPages {
				t.Fatalf("parseStat = %+v (comm %q), %v; want %+v", got, got.Comm, err, tt.want)
			}
		})
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte(statLine(42, "php-cgi", 300, 12, 9000, 2048)), "a) (b", uint64(1), uint64(2))
	f.Add([]byte("2 (kthreadd) S 0 0 0"), "((", uint64(0), uint64(1<<63))
	f.Add([]byte(")("), ") S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22", uint64(7), uint64(7))
	f.Fuzz(func(t *testing.T, raw []byte, comm string, utime, stime uint64) {
		if st, err := parseStat(raw); err == nil {
			open, closing := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
			if string(st.Comm) != string(raw[open+1:closing]) {
				t.Fatalf("comm of %q = %q, not what the parentheses hold", raw, st.Comm)
			}
		}
		// Whatever the comm holds, it comes back whole: it ends at the
		// last ')', and the numbers after it hold none.
		if strings.ContainsAny(comm, "\n") {
			return
		}
		utime, stime = utime>>1, stime>>1 // their sum fits
		st, err := parseStat([]byte(statLine(1, comm, utime, stime, 5, 6)))
		if err != nil || string(st.Comm) != comm || st.Ticks != utime+stime || st.Start != 5 || st.RSSPages != 6 {
			t.Fatalf("comm %q: got %+v (comm %q), %v", comm, st, st.Comm, err)
		}
	})
}

func TestParsePasswd(t *testing.T) {
	src := "root:x:0:0:root:/root:/bin/bash\n# a comment\n\nshop42:x:1042:1042::/home/shop42:/bin/sh\nbroken\ntoor:x:0:0::/:/bin/sh\nodd:x:notanumber:1::/:\n"
	names := parsePasswd(bufio.NewScanner(strings.NewReader(src)))
	if names[0] != "root" || names[1042] != "shop42" || len(names) != 2 {
		t.Fatalf("names = %v", names)
	}
	u := users{names: names}
	if u.name(1042) != "shop42" || u.name(77) != "77" {
		t.Fatalf("name(1042) = %q, name(77) = %q", u.name(1042), u.name(77))
	}
}

func sampleOf(at time.Time, procs map[int]proc) procSample { return procSample{at: at, procs: procs} }

func TestTopGroups(t *testing.T) {
	t0 := time.Unix(1000, 0)
	userName := func(uid uint32) string {
		if uid == 1042 {
			return "shop42"
		}
		return strconv.Itoa(int(uid))
	}
	tests := []struct {
		name      string
		base, now map[int]proc
		n         int
		want      []protocol.Process
	}{
		{
			name: "grouped by user and command, busiest first, busiest pid named",
			base: map[int]proc{
				10: {uid: 1042, command: "php-cgi", ticks: 100, start: 1},
				11: {uid: 1042, command: "php-cgi", ticks: 100, start: 1},
				12: {uid: 33, command: "php-cgi", ticks: 0, start: 1},
				13: {uid: 0, command: "sshd", ticks: 5, start: 1},
			},
			now: map[int]proc{
				10: {uid: 1042, command: "php-cgi", ticks: 150, start: 1, rssKB: 1000},
				11: {uid: 1042, command: "php-cgi", ticks: 250, start: 1, rssKB: 3000},
				12: {uid: 33, command: "php-cgi", ticks: 20, start: 1, rssKB: 10},
				13: {uid: 0, command: "sshd", ticks: 5, start: 1, rssKB: 99},
			},
			n: 15,
			want: []protocol.Process{
				{PID: 11, User: "shop42", Command: "php-cgi", Count: 2, CPUPct: 100, RSSKB: 4000},
				{PID: 12, User: "33", Command: "php-cgi", Count: 1, CPUPct: 10, RSSKB: 10},
				{PID: 13, User: "0", Command: "sshd", Count: 1, CPUPct: 0, RSSKB: 99},
			},
		},
		{
			name: "a pid reused or new since the base counts all its time",
			base: map[int]proc{20: {uid: 1, command: "old", ticks: 500, start: 1}},
			now: map[int]proc{
				20: {uid: 1, command: "new", ticks: 40, start: 900},
				21: {uid: 1, command: "new", ticks: 10, start: 950},
			},
			n:    15,
			want: []protocol.Process{{PID: 20, User: "1", Command: "new", Count: 2, CPUPct: 25}},
		},
		{
			name: "a process the base missed counts at most every CPU",
			base: map[int]proc{},
			now:  map[int]proc{40: {uid: 1, command: "old", ticks: 1 << 40, start: 1}},
			n:    15,
			want: []protocol.Process{{PID: 40, User: "1", Command: "old", Count: 1, CPUPct: float64(100 * runtime.NumCPU())}},
		},
		{
			name: "a counter that went backwards counts nothing",
			base: map[int]proc{30: {uid: 1, command: "x", ticks: 500, start: 1}},
			now:  map[int]proc{30: {uid: 1, command: "x", ticks: 400, start: 1}},
			n:    15,
			want: []protocol.Process{{PID: 30, User: "1", Command: "x", Count: 1}},
		},
		{
			name: "at most n groups",
			base: map[int]proc{},
			now: map[int]proc{
				1: {uid: 1, command: "a", ticks: 10},
				2: {uid: 1, command: "b", ticks: 30},
				3: {uid: 1, command: "c", ticks: 20},
			},
			n: 2,
			want: []protocol.Process{
				{PID: 2, User: "1", Command: "b", Count: 1, CPUPct: 15},
				{PID: 3, User: "1", Command: "c", Count: 1, CPUPct: 10},
			},
		},
		{name: "nothing running", base: map[int]proc{}, now: map[int]proc{}, n: 15, want: []protocol.Process{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// 100 ticks a second over 2 seconds: 200 ticks are one CPU.
			got := topGroups(sampleOf(t0, tt.base), sampleOf(t0.Add(2*time.Second), tt.now), userName, 100, tt.n)
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(tt.want)
			if string(gj) != string(wj) {
				t.Fatalf("got  %s\nwant %s", gj, wj)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	t0 := time.Unix(5000, 0)
	steps := []struct {
		at   time.Duration
		key  string
		want bool
	}{
		{0, "crit web-3", true},
		{time.Second, "crit web-3", false},
		{time.Second, "down web-3 exim", true}, // another reason goes its own way
		{4*time.Minute + 59*time.Second, "crit web-3", false},
		{5 * time.Minute, "crit web-3", true},
		{5 * time.Minute, "down web-3 exim", false},
		{5*time.Minute + time.Second, "down web-3 exim", true},
		{9 * time.Minute, "crit web-3", false},
		{-time.Hour, "crit web-3", true}, // a clock set back does not silence a key for an hour
	}
	r := rateLimit{every: 5 * time.Minute, last: map[string]time.Time{}}
	for i, s := range steps {
		if got := r.allow(s.key, t0.Add(s.at)); got != s.want {
			t.Fatalf("step %d (%v, %q): allow = %v, want %v", i, s.at, s.key, got, s.want)
		}
	}
}

func TestAutoCapturesOncePerKeyPerWindow(t *testing.T) {
	now := time.Unix(5000, 0)
	c := NewCapturer(EvidenceConfig{
		ProcDir: t.TempDir(), Window: time.Millisecond, Now: func() time.Time { return now },
		Commands: []EvidenceCommand{{Name: "hello", Command: "echo hello"}},
	})
	ctx := context.Background()
	ev, ok := c.Auto(ctx, "crit web-3", "load crit: 9.8 on 4 CPUs")
	if !ok || ev.Reason != "load crit: 9.8 on 4 CPUs" || len(ev.Outputs) != 1 || ev.Outputs[0].Text != "hello\n" {
		t.Fatalf("first auto capture = %+v, %v", ev, ok)
	}
	if _, ok := c.Auto(ctx, "crit web-3", "again"); ok {
		t.Fatal("a second capture within 5 minutes went through")
	}
	now = now.Add(DefaultAutoEvery)
	if _, ok := c.Auto(ctx, "crit web-3", "later"); !ok {
		t.Fatal("a capture 5 minutes later was refused")
	}
}

// burners starts n copies of /bin/sh under a distinctive name, spinning.
// On a machine shared with busy builds a spinning process gets a small
// share, so where the test may it raises their priority: with autogroup
// scheduling (sched(7)) only a session's own nice counts against other
// sessions, hence a session each and the autogroup's nice.
func burners(t *testing.T, name string, n int) map[int]bool {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skipf("no /bin/sh to copy: %v", err)
	}
	path := filepath.Join(t.TempDir(), name)
	installExecutable(t, "/bin/sh", path)
	pids := map[int]bool{}
	for range n {
		cmd := exec.Command(path, "-c", "while :; do :; done")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		// Best effort: without the privilege the burners run at nice 0.
		syscall.Setpriority(syscall.PRIO_PROCESS, cmd.Process.Pid, -10)
		os.WriteFile(fmt.Sprintf("/proc/%d/autogroup", cmd.Process.Pid), []byte("-10"), 0)
		pids[cmd.Process.Pid] = true
	}
	return pids
}

func TestCaptureFindsTheBusyProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	const name = "vigil-burn-xyz"
	n := runtime.NumCPU()
	pids := burners(t, name, n)
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// Half a second is the default window: the burners, on every CPU,
	// use most of it.
	const window = 500 * time.Millisecond
	c := NewCapturer(EvidenceConfig{Window: window})
	t.Cleanup(func() { c.Close() })
	// The first capture samples for a window by itself; the second
	// measures against the first's sample, without waiting.
	for i, what := range []string{"own window", "previous sample"} {
		if i == 1 {
			time.Sleep(window) // let the burners burn between the two
		}
		ev := c.Capture(context.Background(), "test: "+what)
		rank := -1
		for j, p := range ev.Processes {
			if p.Command == name {
				rank = j
				if !pids[p.PID] || p.User != me.Username || p.Count != n || p.CPUPct <= 10 || p.RSSKB <= 0 {
					t.Errorf("%s: burners' group = %+v; want one of pids %v, user %s, count %d, over 10%% CPU", what, p, pids, me.Username, n)
				}
			}
		}
		if rank < 0 || rank > 2 {
			t.Fatalf("%s: burners ranked %d (want top 3) in %+v", what, rank, ev.Processes)
		}
		if len(ev.Processes) > DefaultEvidenceProcesses {
			t.Fatalf("%d groups; at most %d", len(ev.Processes), DefaultEvidenceProcesses)
		}
	}
}

func TestCaptureNamesACutCommWhole(t *testing.T) {
	const name = "vigil-burn-with-a-long-name" // comm keeps 15 bytes of it
	burners(t, name, 1)
	c := NewCapturer(EvidenceConfig{Window: 300 * time.Millisecond, Processes: 1000})
	defer c.Close()
	ev := c.Capture(context.Background(), "long name")
	for _, p := range ev.Processes {
		if p.Command == name {
			return
		}
	}
	t.Fatalf("no group named %q in %+v", name, ev.Processes)
}

func TestCommandTimeoutKillsTheGroup(t *testing.T) {
	start := time.Now()
	out := runEvidenceCommand(context.Background(), EvidenceCommand{
		Name: "stuck", Command: "echo before; sleep 60 & echo $!; wait", Timeout: 300 * time.Millisecond, MaxBytes: 1024,
	})
	if took := time.Since(start); took > 30*time.Second {
		t.Fatalf("returned after %v: it waited for the sleep", took) // not a timing test: the sleep is 60s
	}
	if out.Error != "timed out after 300ms" || out.Exit != -1 || !strings.HasPrefix(out.Text, "before\n") {
		t.Fatalf("output = %+v", out)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(out.Text, "before\n")))
	if err != nil {
		t.Fatalf("no pid of the sleep in %q", out.Text)
	}
	// The sleep was in the command's process group: it is dead (gone, or
	// a zombie nobody reaped yet).
	for i := 0; ; i++ {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if i == 100 {
			t.Fatalf("the command's child %d outlived its timeout: %s", pid, stat)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCommandOutputs(t *testing.T) {
	tests := []struct {
		name, command string
		max           int
		check         func(protocol.Output) bool
	}{
		{"exit status and both streams", "echo out; echo err >&2; exit 3", 1024, func(o protocol.Output) bool {
			return o.Exit == 3 && o.Error == "" && o.Text == "out\nerr\n" && !o.Truncated
		}},
		{"megabytes cut to the tail", "seq 1 400000", 8192, func(o protocol.Output) bool {
			return o.Exit == 0 && o.Truncated && len(o.Text) == 8192 && strings.HasSuffix(o.Text, "\n399999\n400000\n")
		}},
		{"exactly the limit is not cut", "printf 12345678", 8, func(o protocol.Output) bool {
			return o.Text == "12345678" && !o.Truncated
		}},
		{"invalid UTF-8 made valid", `printf 'a\377\376b'`, 64, func(o protocol.Output) bool {
			return utf8.ValidString(o.Text) && strings.HasPrefix(o.Text, "a") && strings.HasSuffix(o.Text, "b")
		}},
		{"a cut never splits a rune", `printf 'ééééé'`, 5, func(o protocol.Output) bool {
			return o.Text == "éé" && o.Truncated
		}},
		{"killed by a signal", "kill -9 $$", 64, func(o protocol.Output) bool {
			return o.Exit == -1 && strings.Contains(o.Error, "killed")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := runEvidenceCommand(context.Background(), EvidenceCommand{Name: "x", Command: tt.command, Timeout: 10 * time.Second, MaxBytes: tt.max})
			if !tt.check(out) {
				t.Fatalf("output = %+v (text %d bytes)", out, len(out.Text))
			}
		})
	}
}

func TestCommandsRunConcurrently(t *testing.T) {
	// Three commands that each wait for the others' files: they finish
	// only if they run at the same time.
	dir := t.TempDir()
	wait := func(me string) string {
		return fmt.Sprintf("touch %s/%s; for i in $(seq 200); do [ -e %[1]s/a ] && [ -e %[1]s/b ] && [ -e %[1]s/c ] && echo all && exit 0; sleep 0.05; done; echo alone", dir, me)
	}
	c := NewCapturer(EvidenceConfig{ProcDir: t.TempDir(), Window: time.Millisecond, Commands: []EvidenceCommand{
		{Name: "a", Command: wait("a")}, {Name: "b", Command: wait("b")}, {Name: "c", Command: wait("c")},
	}})
	ev := c.Capture(context.Background(), "concurrent")
	for i, o := range ev.Outputs {
		if o.Name != string(rune('a'+i)) || o.Text != "all\n" {
			t.Fatalf("output %d = %+v", i, o)
		}
	}
}

func TestEvidenceStaysFarBelowAFrame(t *testing.T) {
	// The worst a configuration allows: many commands at the protocol's
	// text limit, printing what JSON escapes the most.
	outputs := make([]protocol.Output, 64)
	whole := strings.Repeat("\x01<", protocol.MaxTextBytes/2)
	for i := range outputs {
		outputs[i] = protocol.Output{Name: fmt.Sprintf("cmd-%d", i), Text: whole, Error: "timed out after 5s"}
	}
	boundOutputs(outputs, MaxEvidenceOutputBytes)
	frame := protocol.MustEncode(&protocol.Evidence{Host: "web-3", At: protocol.At(time.Now()), EvidenceData: protocol.EvidenceData{Reason: "r", Outputs: outputs}})
	if len(frame) > MaxEvidenceOutputBytes+128*len(outputs) || len(frame) > protocol.MaxFrameSize/2 {
		t.Fatalf("frame is %d bytes", len(frame))
	}
	for i, o := range outputs {
		if o.Text != whole && !o.Truncated {
			t.Fatalf("output %d trimmed but not marked", i)
		}
		if !utf8.ValidString(o.Text) {
			t.Fatalf("output %d is not valid UTF-8", i)
		}
	}
	if outputs[0].Text == "" || outputs[63].Text != "" {
		t.Fatalf("first output dropped or last kept: %d, %d bytes", len(outputs[0].Text), len(outputs[63].Text))
	}
}

func TestJSONLen(t *testing.T) {
	for _, s := range []string{"", "plain", "quote \" back \\ nl \n tab \t cr \r", "\x00\x01\x1f", "<a href='x'>&</a>", "é ✓ 😀", "\u2028\u2029", "bad \xff byte", "\x7f"} {
		b, _ := json.Marshal(s)
		if got := jsonLen(s); got != len(b)-2 {
			t.Errorf("jsonLen(%q) = %d, json writes %d", s, got, len(b)-2)
		}
		for n := 0; n <= len(b); n++ {
			tail := jsonTail(s, n)
			if jsonLen(tail) > n || !strings.HasSuffix(s, tail) {
				t.Fatalf("jsonTail(%q, %d) = %q", s, n, tail)
			}
		}
	}
}

func TestKeepHead(t *testing.T) {
	if got := keepHead("héllo", 2); got != "h" {
		t.Fatalf("keepHead = %q", got)
	}
	if got := keepHead("ok\xff", 10); got != "ok\uFFFD" {
		t.Fatalf("keepHead = %q", got)
	}
}

func TestCaptureEndsWithContext(t *testing.T) {
	c := NewCapturer(EvidenceConfig{ProcDir: t.TempDir(), Window: time.Hour, Commands: []EvidenceCommand{{Name: "slow", Command: "sleep 60", Timeout: time.Hour}}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ev := c.Capture(ctx, "cancelled")
	if len(ev.Outputs) != 1 || !strings.HasPrefix(ev.Outputs[0].Error, "cancelled") {
		t.Fatalf("capture = %+v", ev)
	}
}

// dirents encodes names as the kernel's linux_dirent64 records.
func dirents(names []string) []byte {
	var buf []byte
	for i, name := range names {
		reclen := (19 + len(name) + 1 + 7) &^ 7
		rec := make([]byte, reclen)
		binary.NativeEndian.PutUint64(rec[0:], uint64(i+1))
		binary.NativeEndian.PutUint64(rec[8:], uint64(i+2))
		binary.NativeEndian.PutUint16(rec[16:], uint16(reclen))
		rec[18] = 4
		copy(rec[19:], name)
		buf = append(buf, rec...)
	}
	return buf
}

func TestAppendPids(t *testing.T) {
	got := appendPids(nil, dirents([]string{".", "..", "1", "self", "4123", "thread-self", "12a", "99999", "sys"}))
	if fmt.Sprint(got) != "[1 4123 99999]" {
		t.Fatalf("pids = %v", got)
	}
}

func FuzzAppendPids(f *testing.F) {
	f.Add(dirents([]string{"1", "self", "4123"}), "77")
	f.Add([]byte{0, 1, 2}, "x")
	f.Fuzz(func(t *testing.T, raw []byte, name string) {
		appendPids(nil, raw) // garbage never panics nor loops
		if len(name) > 200 || strings.ContainsRune(name, 0) {
			return
		}
		pids := appendPids(nil, dirents([]string{name}))
		want, err := strconv.Atoi(name)
		isPid := err == nil && name != "" && strings.Trim(name, "0123456789") == "" && want <= 1<<30
		if isPid != (len(pids) == 1) || (isPid && pids[0] != want) {
			t.Fatalf("name %q: pids %v", name, pids)
		}
	})
}

func TestEndedProcessesReleaseTheirFiles(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	cmd := exec.Command("/bin/sh", "-c", "sleep 60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	r := newProcReader("/proc")
	defer r.close()
	s, err := r.sample()
	if _, held := r.held[pid]; err != nil || !held || s.procs[pid].command != "sleep" && s.procs[pid].command != "sh" {
		t.Fatalf("sample missed %d (%v): %+v", pid, err, s.procs[pid])
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := r.sample(); err != nil {
		t.Fatal(err)
	}
	if _, held := r.held[pid]; held {
		t.Fatalf("the stat file of ended process %d is still open", pid)
	}
}
