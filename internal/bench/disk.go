package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// SettleDisk waits until the block device holding dir is idle: every
// write and discard issued before the call has completed and nothing new
// arrives for a while. A benchmark round removes thousands of files when
// it ends (a hub's load history), and on a filesystem mounted with online
// discard the kernel then trims their blocks for seconds; a journal fsync
// in the next round would wait behind that and time the last round's
// cleanup, not this one's hub. It returns an error only when the device
// cannot be found; a device that never settles within most is returned
// as it is, with how long it was watched.
func SettleDisk(dir string, most time.Duration) (time.Duration, error) {
	syscall.Sync()
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return 0, err
	}
	path := fmt.Sprintf("/sys/dev/block/%d:%d/stat", unix.Major(st.Dev), unix.Minor(st.Dev))
	if _, err := os.Stat(path); err != nil {
		// A partition's own stat file is there too; a device without one
		// (a filesystem over the network, a container's overlay) has
		// nothing to wait for.
		return 0, fmt.Errorf("settle disk: %w", err)
	}
	const quiet = time.Second
	start := time.Now()
	last, _ := readBlockStat(path)
	stillSince := time.Now()
	for time.Since(start) < most {
		time.Sleep(100 * time.Millisecond)
		now, err := readBlockStat(path)
		if err != nil {
			return time.Since(start), err
		}
		if now != last || now.inFlight > 0 {
			last, stillSince = now, time.Now()
			continue
		}
		if time.Since(stillSince) >= quiet {
			break
		}
	}
	return time.Since(start), nil
}

// blockStat is what SettleDisk compares of /sys/block/*/stat: the
// writes, discards and flushes completed and the requests in flight.
type blockStat struct {
	writes, discards, flushes, inFlight uint64
}

func readBlockStat(path string) (blockStat, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return blockStat{}, err
	}
	return parseBlockStat(string(data))
}

// parseBlockStat reads the fields of Documentation/block/stat.rst:
// writes completed is the 5th, in flight the 9th, discards completed the
// 12th and flushes completed the 16th (older kernels stop at 11 or 15).
func parseBlockStat(s string) (blockStat, error) {
	f := strings.Fields(s)
	if len(f) < 11 {
		return blockStat{}, fmt.Errorf("block stat: %d fields, want at least 11", len(f))
	}
	field := func(i int) uint64 {
		if i > len(f) {
			return 0
		}
		n, _ := strconv.ParseUint(f[i-1], 10, 64)
		return n
	}
	return blockStat{writes: field(5), inFlight: field(9), discards: field(12), flushes: field(16)}, nil
}

// FsyncProbe appends a 300-byte record to a file of its own under dir
// and fsyncs it every interval, as the hub's journal does for a note,
// until stop or the end of ctx; stop returns each fsync's time. Run
// beside a hub, it is the disk's own figure: a note waits for its fsync,
// so the disk's stalls are the notes' too.
func FsyncProbe(ctx context.Context, dir string, every time.Duration) (stop func() []time.Duration, err error) {
	f, err := os.CreateTemp(dir, "fsync-probe-*")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan []time.Duration, 1)
	go func() {
		defer f.Close()
		defer os.Remove(f.Name())
		var times []time.Duration
		defer func() { done <- times }()
		record := make([]byte, 300)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := f.Write(record); err != nil {
				return
			}
			began := time.Now()
			if err := f.Sync(); err != nil {
				return
			}
			times = append(times, time.Since(began))
		}
	}()
	return func() []time.Duration { cancel(); return <-done }, nil
}
