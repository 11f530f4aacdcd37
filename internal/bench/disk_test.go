package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseBlockStat(t *testing.T) {
	tests := []struct {
		name, in string
		want     blockStat
		bad      bool
	}{
		{"with discards and flushes", "  1484  12  119918  507  34712  28014  2263290  43510  3  52472  49127  9  0  8360  11  706  108", blockStat{writes: 34712, inFlight: 3, discards: 9, flushes: 706}, false},
		{"with discards, no flushes", "1 2 3 4 5 6 7 8 0 10 11 12 13 14 15", blockStat{writes: 5, discards: 12}, false},
		{"before discards", "1 2 3 4 5 6 7 8 9 10 11", blockStat{writes: 5, inFlight: 9}, false},
		{"too short", "1 2 3", blockStat{}, true},
	}
	for _, tt := range tests {
		got, err := parseBlockStat(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("%s: parseBlockStat = %+v, %v; want %+v, error %v", tt.name, got, err, tt.want, tt.bad)
		}
	}
}

// After files are written and removed, SettleDisk returns once the
// device has been idle, within its bound.
func TestSettleDiskReturnsWhenIdle(t *testing.T) {
	dir := t.TempDir()
	for i := range 50 {
		os.WriteFile(filepath.Join(dir, "f"+string(rune('a'+i%26))+string(rune('a'+i/26))), make([]byte, 64<<10), 0o600)
	}
	os.RemoveAll(dir)
	os.Mkdir(dir, 0o700)
	took, err := SettleDisk(dir, 20*time.Second)
	if err != nil {
		t.Skipf("no block device to watch under %s: %v", dir, err)
	}
	if took < time.Second {
		t.Errorf("settled after %v, less than the quiet second it waits for", took)
	}
}

func TestFsyncProbeTimesEachFsyncUntilStopped(t *testing.T) {
	dir := t.TempDir()
	stop, err := FsyncProbe(t.Context(), dir, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, _ := os.ReadDir(dir)
		if len(entries) == 1 {
			if info, err := entries[0].Info(); err == nil && info.Size() >= 3*300 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the probe wrote no three records in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	times := stop()
	if len(times) < 3 {
		t.Fatalf("%d fsyncs timed after three records were written", len(times))
	}
	for _, d := range times {
		if d <= 0 {
			t.Fatalf("an fsync timed at %v", d)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("the probe left %d files behind", len(entries))
	}
}
