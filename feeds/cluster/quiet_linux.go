//go:build linux && !race

package cluster

import _ "unsafe" // for go:linkname

// statFile is nats-server's server/pse package's path to
// /proc/<pid>/stat. That package's init starts a sampler that reads the
// file every second for the life of the process (pse_linux.go:
// periodic, rescheduled by time.AfterFunc while the read succeeds), and
// it offers no way to stop it. Linking nats-server makes every vigil
// process pay for it: the dashboard, which never runs a cluster, woke
// once a second for it, 5-7% of its CPU in the bench (perf) and about a
// tenth of its idle budget. Emptying the path makes the next read fail,
// which ends the sampler; the only reader of its figures is nats-server's
// own monitoring (varz, statsz), which vigil does not serve, and which
// then reports CPU and memory as 0.
//
// This runs after pse's init (a package's imports initialise first) and
// a second before the sampler's next read. Race-detector builds leave
// the sampler alone: the detector cannot see the order through the
// runtime's timer, and their CPU is not what anyone measures.
//
//go:linkname statFile github.com/nats-io/nats-server/v2/server/pse.procStatFile
var statFile string

func init() { statFile = "" }
