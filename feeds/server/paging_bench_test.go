package server

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
)

// pagingBenchHub is a served hub that pages by email to a real SMTP relay
// on loopback, with 1,000 hosts reporting their load every second.
func pagingBenchHub(b *testing.B, group time.Duration) (*Hub, *relay) {
	mail, addr := startRelay(&testing.T{})
	dir := b.TempDir()
	j, _, err := journal.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	cfg := pagingConfig()
	cfg.Rules[0].Group = group
	secret, _ := LoadPagingSecret(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hub := NewHub(j, Options{Paging: &PagingOptions{Config: cfg, Secret: secret, URL: "http://" + ln.Addr().String(),
		Email: &publish.Email{Name: "pager-mail", Addr: addr, TLS: publish.TLSNone, From: "pager@example.com"}}})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { Serve(ctx, hub, ln, "/feed", "", ""); close(served) }()
	reporting := make(chan struct{})
	go func() {
		defer close(reporting)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			for i := range 1000 {
				hub.ReportLoad(protocol.Load{Host: fmt.Sprintf("agent-%d", i), At: protocol.At(time.Now()), Interval: protocol.Duration(time.Second), Load1: 0.3, CPUs: 4})
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	b.Cleanup(func() { cancel(); <-reporting; <-served; j.Close() })
	return hub, mail
}

// BenchmarkEventToFirstNotification: a service goes down on one of 1,000
// reporting hosts; how long until the on-call's mail is accepted by the
// relay, beyond the rule's group window (0 here). Each iteration's page is
// resolved before the next.
func BenchmarkEventToFirstNotification(b *testing.B) {
	hub, mail := pagingBenchHub(b, 0)
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		down := protocol.Service{Host: fmt.Sprintf("agent-%d", i%1000), Service: fmt.Sprintf("svc-%d", i), State: protocol.StateDown, At: protocol.At(time.Now())}
		subject := fmt.Sprintf("] %s: %s down", down.Host, down.Service)
		start := time.Now()
		hub.PublishService(down)
		for !slices.ContainsFunc(mail.received(), func(m string) bool { return strings.Contains(m, subject) }) {
			time.Sleep(100 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
		up := down
		up.State = protocol.StateOK
		hub.PublishService(up) // resolves the page, so the next event opens a new one
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkTenThousandServicesDown: 10,000 services (10 on each of 1,000
// hosts) go down within 10 s; how many pages that makes, how many mails,
// and the process's CPU meanwhile (the hub and the loopback relay, beside
// the 1,000 hosts' reports).
func BenchmarkTenThousandServicesDown(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		hub, mail := pagingBenchHub(b, 30*time.Second)
		b.StartTimer()
		cpu0, wall0 := cpuTime(), time.Now()
		tick := time.NewTicker(10 * time.Millisecond)
		for n := 0; n < 10000; n += 10 {
			<-tick.C
			for k := range 10 {
				hub.PublishService(protocol.Service{Host: fmt.Sprintf("agent-%d", (n+k)%1000), Service: fmt.Sprintf("svc-%d", (n+k)/1000),
					State: protocol.StateDown, At: protocol.At(time.Now())})
			}
		}
		tick.Stop()
		hub.PagingStep(context.Background())
		cpu, wall := cpuTime()-cpu0, time.Since(wall0)
		ps := hub.Pages()
		b.ReportMetric(float64(len(ps)), "pages")
		if len(ps) > 0 {
			b.ReportMetric(float64(len(ps[0].Events)+ps[0].MoreEvents), "events")
		}
		b.ReportMetric(float64(len(mail.received())), "mails")
		b.ReportMetric(cpu.Seconds(), "cpu-s")
		b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cores")
	}
}
