package probe

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
		end := 0
		for end < len(rest) && rest[end] != ' ' && rest[end] != '\n' {
			end++
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

// procReader reads /proc cheaply enough to run on a loaded host. Opening
// a /proc file costs more than reading it, so the stat file of each process
// stays open and is read again from offset 0 (the kernel writes it anew);
// the uid is looked up only where a process is new or used CPU, the
// command line only where comm may be cut.
type procReader struct {
	dir      string
	dirfd    int // -1 until opened
	buf      []byte
	dirents  []byte
	pids     []int
	pageKB   int64
	previous map[int]proc // the last sample: names and uids reused when unchanged
	held     map[int]int  // pid -> open fd of its stat file
}

// maxHeldFiles bounds the stat files held open; processes beyond it are
// opened and closed on every sample.
const maxHeldFiles = 4096

func newProcReader(dir string) *procReader {
	return &procReader{
		dir: dir, dirfd: -1, buf: make([]byte, 4096), dirents: make([]byte, 32<<10),
		pageKB: int64(os.Getpagesize() / 1024), held: map[int]int{},
	}
}

// close releases the files held open.
func (r *procReader) close() {
	for pid, fd := range r.held {
		unix.Close(fd)
		delete(r.held, pid)
	}
	if r.dirfd >= 0 {
		unix.Close(r.dirfd)
		r.dirfd = -1
	}
	r.previous = nil
}

// list returns the pids in the /proc directory, parsing the directory
// entries in place: no string per process.
func (r *procReader) list() ([]int, error) {
	if r.dirfd < 0 {
		fd, err := unix.Open(r.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: r.dir, Err: err}
		}
		r.dirfd = fd
	} else if _, err := unix.Seek(r.dirfd, 0, 0); err != nil {
		return nil, &os.PathError{Op: "seek", Path: r.dir, Err: err}
	}
	pids := r.pids[:0]
	for {
		n, err := unix.ReadDirent(r.dirfd, r.dirents)
		if err != nil {
			return nil, &os.PathError{Op: "readdirent", Path: r.dir, Err: err}
		}
		if n <= 0 {
			break
		}
		pids = appendPids(pids, r.dirents[:n])
	}
	r.pids = pids
	return pids, nil
}

// maxPid is far above any pid_max (at most 2^22): a larger name is no pid.
const maxPid = 1 << 30

// appendPids appends the all-digit names of linux_dirent64 records in buf.
func appendPids(pids []int, buf []byte) []int {
	const nameOff = 19 // d_ino, d_off (8 bytes each), d_reclen (2), d_type (1)
	for len(buf) >= nameOff {
		reclen := int(binary.NativeEndian.Uint16(buf[16:18]))
		if reclen < nameOff || reclen > len(buf) {
			break
		}
		name := buf[nameOff:reclen]
		pid, digits := 0, 0
		for _, c := range name {
			if c < '0' || c > '9' || pid*10+int(c-'0') > maxPid {
				break
			}
			pid, digits = pid*10+int(c-'0'), digits+1
		}
		if digits > 0 && (digits == len(name) || name[digits] == 0) {
			pids = append(pids, pid)
		}
		buf = buf[reclen:]
	}
	return pids
}

// sample reads every process. Processes that vanish mid-read are skipped:
// they are gone, and nothing can be said about them.
func (r *procReader) sample() (procSample, error) {
	pids, err := r.list()
	if err != nil {
		return procSample{}, err
	}
	s := procSample{at: time.Now(), procs: make(map[int]proc, len(pids))}
	for _, pid := range pids {
		if p, ok := r.read(pid); ok {
			s.procs[pid] = p
		}
	}
	for pid, fd := range r.held { // processes that ended
		if _, ok := s.procs[pid]; !ok {
			unix.Close(fd)
			delete(r.held, pid)
		}
	}
	r.previous = s.procs
	return s, nil
}

func (r *procReader) read(pid int) (proc, bool) {
	n, fresh := r.readStat(pid)
	if n <= 0 {
		return proc{}, false
	}
	st, err := parseStat(r.buf[:n])
	if err != nil {
		return proc{}, false
	}
	p := proc{ticks: st.Ticks, start: st.Start, rssKB: st.RSSPages * r.pageKB}
	old, known := r.previous[pid]
	known = known && !fresh && old.start == st.Start
	if known && old.comm == string(st.Comm) {
		p.comm, p.command = old.comm, old.command
	} else {
		p.comm = string(st.Comm)
		p.command = strings.ToValidUTF8(p.comm, "\uFFFD")
	}
	if known && old.ticks == p.ticks {
		p.uid = old.uid
	} else {
		// The process directory belongs to the process's effective user,
		// as of now (a worker may have switched user since it was seen).
		var fi unix.Stat_t
		if err := unix.Fstatat(r.dirfd, strconv.Itoa(pid), &fi, 0); err != nil {
			return proc{}, false
		}
		p.uid = fi.Uid
	}
	if (!known || old.comm != p.comm) && len(p.comm) == commLen {
		if argv0 := r.argv0(pid); strings.HasPrefix(argv0, p.comm) {
			p.command = strings.ToValidUTF8(argv0, "\uFFFD")
		}
	}
	return p, true
}

// readStat reads the stat file of pid into r.buf, through the fd held open
// for it or a new one; fresh says the file was opened now. n <= 0: gone.
func (r *procReader) readStat(pid int) (n int, fresh bool) {
	if fd, ok := r.held[pid]; ok {
		n, err := unix.Pread(fd, r.buf, 0)
		if err == nil && n > 0 {
			return n, false
		}
		// The process ended (and its pid may be someone else's now).
		unix.Close(fd)
		delete(r.held, pid)
	}
	fd, err := unix.Openat(r.dirfd, strconv.Itoa(pid)+"/stat", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, true
	}
	n, err = unix.Read(fd, r.buf)
	if err != nil || n <= 0 || len(r.held) >= maxHeldFiles {
		unix.Close(fd)
	} else {
		r.held[pid] = fd
	}
	if err != nil {
		return 0, true
	}
	return n, true
}

// argv0 is the base name of a process's first argument, or "".
func (r *procReader) argv0(pid int) string {
	fd, err := unix.Openat(r.dirfd, strconv.Itoa(pid)+"/cmdline", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	n, err := unix.Read(fd, r.buf)
	unix.Close(fd)
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
