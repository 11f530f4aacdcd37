package cluster

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A host reporting to one hub shows on every hub's dashboards, its load
// with the level its hub gave it, its services as they are; the other
// hubs journal none of it.
func TestLiveFleetReachesEveryHub(t *testing.T) {
	clusterTest(t)
	c := newTestCluster(t, 3, Options{})
	dash := rawConn(t, c.urls()[2], protocol.Subscribe{})
	// The hosts report every second, as they do: a live frame goes at
	// most once, and one published before the other hubs' interest in
	// it has reached this hub's node is lost, to be replaced by the next.
	reporting := make(chan struct{})
	reported := make(chan struct{})
	stopReporting := sync.OnceFunc(func() { close(reporting); <-reported })
	defer stopReporting()
	go func() {
		defer close(reported)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			c.hubs[0].hub.ReportLoad(protocol.Load{Host: "web-9", At: protocol.At(time.Now()), Interval: protocol.Duration(time.Second), Load1: 9, CPUs: 2})
			c.hubs[1].hub.PublishService(protocol.Service{Host: "db-4", Service: "mysql", State: protocol.StateDown, Detail: "connection refused", At: protocol.At(time.Now())})
			select {
			case <-reporting:
				return
			case <-tick.C:
			}
		}
	}()
	var load *protocol.Load
	var svc *protocol.Service
	dash.SetReadDeadline(time.Now().Add(20 * time.Second))
	for load == nil || svc == nil {
		_, data, err := dash.ReadMessage()
		if err != nil {
			t.Fatalf("hub 2's dashboard, waiting for web-9's load and db-4's mysql: %v", err)
		}
		m, err := protocol.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		switch v := m.(type) {
		case *protocol.Load:
			if v.Host == "web-9" {
				load = v
			}
		case *protocol.Service:
			if v.Host == "db-4" {
				svc = v
			}
		}
	}
	stopReporting()
	if load.Level != "crit" || load.Load1 != 9 || svc.State != protocol.StateDown || svc.Detail != "connection refused" {
		t.Fatalf("hub 2 shows web-9 %+v and db-4 %+v", load, svc)
	}
	// The crossing and the transition are journaled once, by the hubs
	// the hosts report to.
	count := map[string]int{}
	waitFor(t, "hub 2 to hold both entries", 20*time.Second, func() bool {
		count = map[string]int{}
		for _, line := range journalOf(t, c.hubs[2].j) {
			m, _ := protocol.Decode([]byte(line[strings.IndexByte(line, ' ')+1:]))
			if e, ok := m.(*protocol.Entry); ok && e.Host != "" {
				count[fmt.Sprintf("%s %s%s", e.Host, e.Service, e.Level)]++
			}
		}
		return count["web-9 crit"] > 0 && count["db-4 mysql"] > 0
	})
	if count["web-9 crit"] != 1 || count["db-4 mysql"] != 1 {
		t.Fatalf("journaled: %v; want web-9's crossing and db-4's transition once each", count)
	}
}
