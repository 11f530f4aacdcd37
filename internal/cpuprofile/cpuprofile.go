// Package cpuprofile profiles a whole vigil process.
package cpuprofile

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// Start writes a CPU profile of the whole run to path (VIGIL_CPUPROFILE),
// so the dashboard can be profiled as a person runs it, in its own process;
// vigil bench --cpuprofile sets it. It does nothing when path is empty;
// the function it returns ends the profile.
func Start(path string, stderr io.Writer) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(stderr, "vigil: VIGIL_CPUPROFILE:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		fmt.Fprintln(stderr, "vigil: VIGIL_CPUPROFILE:", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
