package bench

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// BenchmarkSSHBandwidth: the dashboard over SSH against htop -d 10 over
// the same kind of SSH session, at 80x24 (budget: at most half of htop).
func BenchmarkSSHBandwidth(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("the harness runs programs in a pty")
	}
	o := Options{Window: 10 * time.Second}
	var r Bandwidth
	var err error
	for b.Loop() {
		if r, err = MeasureSSHBandwidth(context.Background(), o, 80, 24); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(r.Vigil, "vigil-ssh-B/s")
	if r.Htop > 0 {
		b.ReportMetric(r.Htop, "htop-ssh-B/s")
		b.ReportMetric(r.Ratio, "vigil/htop")
	} else {
		b.Log(r.HtopNote)
	}
}
