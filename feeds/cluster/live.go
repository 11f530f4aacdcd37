package cluster

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/nats-io/nats.go"
)

// The live fleet: each hub publishes the load and service frames of the
// hosts that report to it on a core NATS subject, vigil.live.<hub> (never the journal: load
// is not journaled), and takes the others', so a dashboard on any hub sees
// every host. At most once, as a dashboard's own feed is: a frame lost in
// a route's failover is replaced by the host's next report.

// Live starts sharing live frames with the other hubs: in is called with
// each frame another hub published (in NATS's delivery goroutine, in the
// order that hub published), and the returned func publishes one of this
// hub's. Both stop when the journal is closed.
func (j *Journal) Live(in func(frame []byte)) (out func(frame []byte)) {
	return j.Share("live", in)
}

// Share is Live for any topic: what one hub publishes on it reaches the
// others (never itself), at most once, in the order it was published.
func (j *Journal) Share(topic string, in func(data []byte)) (out func(data []byte)) {
	var b [8]byte
	rand.Read(b[:])
	self := hex.EncodeToString(b[:])
	base := "vigil." + topic
	sub, err := j.nc.Subscribe(base+".>", func(m *nats.Msg) {
		if m.Subject != base+"."+self {
			in(m.Data)
		}
	})
	if err != nil {
		j.log.Error("cluster: nothing is shared between hubs", "topic", topic, "err", err)
		return func([]byte) {}
	}
	// A fleet of thousands of hosts reporting every second: let the
	// subscription hold that much while the hub applies it.
	sub.SetPendingLimits(1<<20, 256<<20)
	go func() {
		<-j.ctx.Done()
		sub.Unsubscribe()
	}()
	subject := base + "." + self
	return func(data []byte) {
		j.nc.Publish(subject, data)
	}
}
