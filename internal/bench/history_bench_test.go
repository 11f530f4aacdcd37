package bench

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

const (
	benchIncidents = 1000
	fleetEvery     = 31536 * time.Millisecond // a million a year
)

// buildJournal writes, through the journal's own write path, the journal
// feeds/server's hub benchmark builds: fleet alerts every 31.5 s ending
// at end, 1,000 incidents among them (declared, a note, resolved; every
// hundredth left open).
func buildJournal(dir string, entries int, end time.Time) error {
	fleet := entries - benchIncidents*5
	start := end.Add(-time.Duration(fleet) * fleetEvery)
	var clock time.Time
	j, _, err := journal.OpenWith(dir, journal.Options{Now: func() time.Time { return clock }})
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	var mu sync.Mutex
	var last uint64
	j.OnDurable(func(msgs []journal.Message, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil || last != 0 && msgs[len(msgs)-1].Seq >= last {
			select {
			case done <- err:
			default:
			}
		}
	})
	book := incident.Defaults()
	every := fleet / benchIncidents
	n, k := 0, 0
	cmd := func(c protocol.Command) protocol.Command {
		n++
		c.ID, c.Actor = "c-"+strconv.Itoa(n), "alice"
		return c
	}
	for i := 0; i < fleet; i++ {
		clock = start.Add(time.Duration(i) * fleetEvery)
		host := "web-" + strconv.Itoa(i%200)
		if _, err := j.Append("", &protocol.Entry{At: protocol.At(clock), Actor: host, Kind: protocol.EntryAlert, Host: host,
			Text: fmt.Sprintf("exim on %s ok → down: connect 127.0.0.1:25: connection refused", host)}); err != nil {
			return err
		}
		if i%every != 0 || k >= benchIncidents {
			continue
		}
		k++
		id := "INC-" + strconv.Itoa(k)
		c := cmd(protocol.Command{Op: "declare", Title: "Mail down on web-3", Severity: "SEV2", Kind: "outage"})
		inc, es, _ := book.Declare(id, c, clock)
		if _, err := j.Append(c.ID, &es[0], &protocol.IncidentMsg{Incident: inc}); err != nil {
			return err
		}
		c = cmd(protocol.Command{Op: "note", Incident: id, Text: "exim queue full of bounces; copying logs before any restart"})
		_, _, es, _ = incident.Apply(inc, c, clock)
		if _, err := j.Append(c.ID, &es[0]); err != nil {
			return err
		}
		if k%100 == 0 {
			continue // left open
		}
		c = cmd(protocol.Command{Op: "status", Incident: id, Status: protocol.StatusResolved})
		inc, _, es, _ = incident.Apply(inc, c, clock)
		if _, err := j.Append(c.ID, &es[0], &protocol.IncidentMsg{Incident: inc}); err != nil {
			return err
		}
	}
	clock = end
	out, err := j.Append("", &protocol.Entry{At: protocol.At(end), Actor: "bench", Kind: protocol.EntrySystem, Text: "built"})
	if err != nil {
		return err
	}
	mu.Lock()
	last = out[0].Seq
	mu.Unlock()
	if j.Seq() < last {
		select {
		case err = <-done:
		case <-time.After(time.Minute):
			err = fmt.Errorf("the journal never became durable up to %d", last)
		}
		if err != nil {
			return err
		}
	}
	return j.Close()
}

// BenchmarkDashboardAfterCompactedReplay: the vigil dashboard, the real
// binary in a pty, subscribes to a hub over a journal of 10,000 and of
// 1,000,000 entries with 1,000 incidents (10 open); its resident memory
// once the compacted replay is on screen, and the time from start to
// then. Budget: 100 MiB, within 1.5x of the 10,000-entry figure.
func BenchmarkDashboardAfterCompactedReplay(b *testing.B) {
	o := vigil(b)
	for _, entries := range []int{10_000, 1_000_000} {
		b.Run(strconv.Itoa(entries), func(b *testing.B) {
			dir := b.TempDir()
			built := time.Now()
			if err := buildJournal(dir, entries, time.Now()); err != nil {
				b.Fatal(err)
			}
			b.Logf("journal of %d entries built in %s", entries, time.Since(built).Round(time.Millisecond))
			j, _, err := journal.Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			hub := server.NewHub(j, server.Options{})
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			served := make(chan struct{})
			go func() { server.Serve(ctx, hub, ln, "/feed", "", ""); close(served) }()
			defer func() { cancel(); <-served; j.Close() }()
			url := "ws://" + ln.Addr().String() + "/feed"
			var rss, took float64
			for b.Loop() {
				home, cleanup, err := home()
				if err != nil {
					b.Fatal(err)
				}
				t, err := Start(ctx, 80, 24, home, o.Env, o.Vigil, "--feed", url, "--actor", "perf")
				if err != nil {
					cleanup()
					b.Fatal(err)
				}
				// The newest open incident comes last of the incidents:
				// the terminal's title names it once it is shown.
				d, err := t.WaitFor(60*time.Second, "vigil · INC-1000 SEV2 investigating", "feeds 1/1")
				if err == nil {
					time.Sleep(2 * time.Second) // what follows the last open incident's frame
					var r int64
					r, err = t.RSS()
					rss += float64(r) / (1 << 20)
					took += float64(d.Milliseconds())
				}
				t.Stop()
				cleanup()
				if err != nil {
					t.mu.Lock()
					tail := string(t.tail[max(0, len(t.tail)-3000):])
					t.mu.Unlock()
					b.Fatalf("%v; the terminal's last output: %q", err, tail)
				}
			}
			b.ReportMetric(rss/float64(b.N), "rss-MiB")
			b.ReportMetric(took/float64(b.N), "start-to-replayed-ms")
		})
	}
}
