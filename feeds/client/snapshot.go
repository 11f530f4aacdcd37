package client

import (
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// defaultInterval is the interval of a load that names none, as the
// dashboard's staleness reads it.
const defaultInterval = 5 * time.Second

// snapshotAge is how old a load of the snapshot already was when the hub
// sent it, by the hub's own clock: a host that has not reported since the
// hub (re)started is in the snapshot with its last known figures, and is
// stale from the first frame, not 3 intervals after it. A live host's
// sample (younger than 3 of its intervals) is taken as received now, as
// every live frame is, so an agent's clock skew never makes it stale.
func (f *feed) snapshotAge(l *protocol.Load) time.Duration {
	if f.snapshotAt.IsZero() {
		return 0
	}
	return staleAge(f.snapshotAt, l)
}

func staleAge(hubNow time.Time, l *protocol.Load) time.Duration {
	every := l.Interval.Std()
	if every <= 0 {
		every = defaultInterval
	}
	age := hubNow.Sub(l.At.Time)
	if age <= 3*every {
		return 0
	}
	return age
}
