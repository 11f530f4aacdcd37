package probe

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// procStat is what one /proc/[pid]/stat line tells evidence.
type procStat struct {
	Comm     []byte // aliases the line read
	Ticks    uint64 // utime+stime of the whole thread group, in clock ticks
	Start    uint64 // starttime in ticks after boot: tells a reused pid apart
	RSSPages int64
}

// errStat says a stat line is not the shape proc(5) documents.
var errStat = errors.New("stat: malformed")

// Fields of /proc/[pid]/stat after the comm, counted from 0 at the state
// (field 3 of proc(5)).
const (
	statUtime = 14 - 3
	statStime = 15 - 3
	statStart = 22 - 3
	statRSS   = 24 - 3
)

// parseStat reads a /proc/[pid]/stat line. The comm sits in parentheses
// and may itself hold spaces and parentheses, so it ends at the last ')'.
func parseStat(b []byte) (procStat, error) {
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open {
		return procStat{}, errStat
	}
	var st procStat
	st.Comm = b[open+1 : closing]
	rest := b[closing+1:]
	var utime, stime uint64
	field := 0
	for len(rest) > 0 && field <= statRSS {
		for len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
		end := bytes.IndexAny(rest, " \n")
		if end < 0 {
			end = len(rest)
		}
		word := rest[:end]
		rest = rest[end:]
		if len(word) == 0 {
			break
		}
		var err error
		switch field {
		case statUtime:
			utime, err = parseUint(word)
		case statStime:
			stime, err = parseUint(word)
		case statStart:
			st.Start, err = parseUint(word)
		case statRSS:
			st.RSSPages, err = strconv.ParseInt(string(word), 10, 64)
		}
		if err != nil {
			return procStat{}, errStat
		}
		field++
	}
	if field <= statRSS {
		return procStat{}, errStat
	}
	st.Ticks = utime + stime
	return st, nil
}

func parseUint(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 20 {
		return 0, errStat
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, errStat
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, errStat
		}
		v = v*10 + d
	}
	return v, nil
}

// proc is one process in a sample.
type proc struct {
	uid     uint32
	comm    string // as the kernel has it
	command string // comm, or the program's name where comm was cut
	ticks   uint64
	start   uint64
	rssKB   int64
}

// procSample is every process of the host at one moment.
type procSample struct {
	at    time.Time // monotonic: only differences are used
	procs map[int]proc
}

// commLen is the kernel's limit on comm (TASK_COMM_LEN-1): a comm this long
// may be cut, and the command line then names the program whole.
const commLen = 15

// procReader reads /proc cheaply enough to run on a loaded host: raw
// syscalls into one buffer, no *os.File per process, the command line read
// only where comm may be cut.
type procReader struct {
	dir      string
	buf      []byte
	pageKB   int64
	previous map[int]proc // names of the last sample, reused when unchanged
}

func newProcReader(dir string) *procReader {
	return &procReader{dir: dir, buf: make([]byte, 4096), pageKB: int64(os.Getpagesize() / 1024)}
}

// sample reads every process. Processes that vanish mid-read are skipped:
// they are gone, and nothing can be said about them.
func (r *procReader) sample() (procSample, error) {
	d, err := os.Open(r.dir)
	if err != nil {
		return procSample{}, err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return procSample{}, err
	}
	s := procSample{at: time.Now(), procs: make(map[int]proc, len(names))}
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		p, ok := r.read(pid, name)
		if ok {
			s.procs[pid] = p
		}
	}
	r.previous = s.procs
	return s, nil
}

func (r *procReader) read(pid int, name string) (proc, bool) {
	fd, err := syscall.Open(r.dir+"/"+name+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return proc{}, false
	}
	// The stat file belongs to the process's effective user: one fstat
	// instead of parsing /proc/[pid]/status.
	var fi syscall.Stat_t
	err = syscall.Fstat(fd, &fi)
	n := 0
	if err == nil {
		n, err = syscall.Read(fd, r.buf)
	}
	syscall.Close(fd)
	if err != nil || n <= 0 {
		return proc{}, false
	}
	st, err := parseStat(r.buf[:n])
	if err != nil {
		return proc{}, false
	}
	p := proc{uid: fi.Uid, ticks: st.Ticks, start: st.Start, rssKB: st.RSSPages * r.pageKB}
	if old, ok := r.previous[pid]; ok && old.start == st.Start && old.comm == string(st.Comm) {
		p.comm, p.command = old.comm, old.command
		return p, true
	}
	p.comm = string(st.Comm)
	p.command = strings.ToValidUTF8(p.comm, "\uFFFD")
	if len(p.comm) == commLen {
		if argv0 := r.argv0(name); strings.HasPrefix(argv0, p.comm) {
			p.command = strings.ToValidUTF8(argv0, "\uFFFD")
		}
	}
	return p, true
}

// argv0 is the base name of a process's first argument, or "".
func (r *procReader) argv0(name string) string {
	fd, err := syscall.Open(r.dir+"/"+name+"/cmdline", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	n, err := syscall.Read(fd, r.buf)
	syscall.Close(fd)
	if err != nil || n <= 0 {
		return ""
	}
	first, _, _ := bytes.Cut(r.buf[:n], []byte{0})
	first, _, _ = bytes.Cut(first, []byte{' '}) // a process that rewrote its title
	return filepath.Base(string(first))
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/[pid]/stat times,
// from the auxiliary vector; 100 where it cannot be read (every Linux ABI
// in use today).
var clockTicks = sync.OnceValue(func() float64 {
	const atClkTck = 17
	if auxv, err := unix.Auxv(); err == nil {
		for _, kv := range auxv {
			if kv[0] == atClkTck && kv[1] > 0 {
				return float64(kv[1])
			}
		}
	}
	return 100
})

// users maps uids to names from a passwd file, read again only when the
// file changes.
type users struct {
	path  string
	mtime time.Time
	names map[uint32]string
}

func (u *users) name(uid uint32) string {
	if n, ok := u.names[uid]; ok {
		return n
	}
	return strconv.FormatUint(uint64(uid), 10)
}

// refresh rereads the file if it changed since the last read.
func (u *users) refresh() {
	fi, err := os.Stat(u.path)
	if err != nil {
		return
	}
	if u.names != nil && fi.ModTime().Equal(u.mtime) {
		return
	}
	f, err := os.Open(u.path)
	if err != nil {
		return
	}
	defer f.Close()
	u.names, u.mtime = parsePasswd(bufio.NewScanner(f)), fi.ModTime()
}

// parsePasswd reads name:password:uid:... lines; the first name of a uid wins.
func parsePasswd(sc *bufio.Scanner) map[uint32]string {
	names := map[uint32]string{}
	for sc.Scan() {
		f := strings.SplitN(sc.Text(), ":", 4)
		if len(f) < 3 || f[0] == "" || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		if _, dup := names[uint32(uid)]; !dup {
			names[uint32(uid)] = strings.ToValidUTF8(f[0], "\uFFFD")
		}
	}
	return names
}
