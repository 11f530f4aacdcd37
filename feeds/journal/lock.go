package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LockName is the lock file inside the data directory. It holds, for the
// operator, who holds the lock: "pid 4123 on web-1 since …".
const LockName = "vigil.lock"

// lockDir takes an exclusive flock on the data directory's lock file, so a
// second server on the same directory stops at once instead of writing a
// second seq 48 beside the first one's. The kernel drops the lock when the
// holder exits, however it exits: a stale file never blocks a restart.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("journal: locking %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "another process"
			}
			return nil, fmt.Errorf("%w: %s is locked by vigil serve %s; one data directory takes one server (stop it, or give this one another data_dir)", ErrLocked, dir, who)
		}
		return nil, fmt.Errorf("journal: locking %s: %w", path, err)
	}
	host, _ := os.Hostname()
	who := fmt.Sprintf("pid %d on %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(who), 0)
		f.Sync()
	}
	return f, nil
}
