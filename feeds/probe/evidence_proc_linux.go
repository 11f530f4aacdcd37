//go:build linux

package probe

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

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
	maxHeld  int
}

// maxHeldFiles bounds the stat files held open, to a quarter of what the
// process may open, so the agent's connections never lack a descriptor;
// processes beyond it are opened and closed on every sample.
func maxHeldFiles() int {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return int(min(lim.Cur/4, 4096))
}

func newProcReader(dir string) *procReader {
	return &procReader{
		dir: dir, dirfd: -1, buf: make([]byte, 4096), dirents: make([]byte, 32<<10),
		pageKB: int64(os.Getpagesize() / 1024), held: map[int]int{}, maxHeld: maxHeldFiles(),
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
	if err != nil || n <= 0 || len(r.held) >= r.maxHeld {
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
