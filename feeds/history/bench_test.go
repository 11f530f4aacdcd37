package history

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// BenchmarkFleetRound: one second of a 1,000-host fleet that reports every
// second, written to the store (each host's minute reaches both rings once
// it ends), with what the store costs: the files' size and the blocks
// they hold once both rings are full, and the heap the store holds beside
// them.
func BenchmarkFleetRound(b *testing.B) {
	const hosts = 1000
	dir := b.TempDir()
	now := time.Date(2026, 11, 22, 2, 13, 0, 0, time.UTC)
	s, err := Open(dir, func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	mem := 42.0
	round := 0
	for b.Loop() {
		at := now.Add(time.Duration(round) * time.Second)
		for h := 0; h < hosts; h++ {
			if err := s.Write(protocol.Load{Host: fmt.Sprintf("web-%04d", h), At: protocol.At(at), Load1: 1.5, CPUs: 8, MemUsedPct: &mem}); err != nil {
				b.Fatal(err)
			}
		}
		round++
	}
	b.StopTimer()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(round)/hosts, "µs/sample")
	b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/(1<<10), "store-heap-KiB")
	b.ReportMetric(float64(FileBytes)*hosts/1e6, "full-disk-MB")
	var blocks int64
	files, _ := filepath.Glob(filepath.Join(dir, Dir, "*.load"))
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			blocks += st.Sys().(*syscall.Stat_t).Blocks * 512
		}
	}
	b.ReportMetric(float64(blocks)/1e6, "disk-now-MB")
}
