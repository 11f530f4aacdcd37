package cluster

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/nats-io/nats.go"
)

// The live fleet: each hub publishes the load and service frames of the
// hosts that report to it on a core NATS subject (never the journal: load
// is not journaled), and takes the others', so a dashboard on any hub sees
// every host. At most once, as a dashboard's own feed is: a frame lost in
// a route's failover is replaced by the host's next report.
const liveSubject = "vigil.live"

// Live starts sharing live frames with the other hubs: in is called with
// each frame another hub published (in NATS's delivery goroutine, in the
// order that hub published), and the returned func publishes one of this
// hub's. Both stop when the journal is closed.
func (j *Journal) Live(in func(frame []byte)) (out func(frame []byte)) {
	var b [8]byte
	rand.Read(b[:])
	self := hex.EncodeToString(b[:])
	sub, err := j.nc.Subscribe(liveSubject+".>", func(m *nats.Msg) {
		if m.Subject != liveSubject+"."+self {
			in(m.Data)
		}
	})
	if err != nil {
		j.log.Error("cluster: the live fleet is not shared", "err", err)
		return func([]byte) {}
	}
	// A fleet of thousands of hosts reporting every second: let the
	// subscription hold that much while the hub applies it.
	sub.SetPendingLimits(1<<20, 256<<20)
	go func() {
		<-j.ctx.Done()
		sub.Unsubscribe()
	}()
	subject := liveSubject + "." + self
	return func(frame []byte) {
		j.nc.Publish(subject, frame)
	}
}
