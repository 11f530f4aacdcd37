package probe

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
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
