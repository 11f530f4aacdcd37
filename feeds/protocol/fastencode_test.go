package protocol

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzLoadEncoding holds the hand-written load encoding to encoding/json's
// bytes, and to json's refusal where it refuses.
func FuzzLoadEncoding(f *testing.F) {
	f.Add("web-1", int64(1796000000123), int64(time.Second), 0.25, 1.5, 12.0, 4, true, 37.5, "warn")
	f.Add("a<b>&\"\\é\u2028", int64(-62135596800000), int64(1500*time.Microsecond), 1e-7, 1e21, math.Copysign(0, -1), -3, false, 0.0, "")
	f.Add("", int64(0), int64(0), math.Inf(1), math.NaN(), 5e-324, 0, true, math.Inf(-1), "ok\n")
	f.Fuzz(func(t *testing.T, host string, atMillis, interval int64, l1, l5, l15 float64, cpus int, hasMem bool, mem float64, lvl string) {
		l := Load{Type: TypeLoad, Host: host, Interval: Duration(interval), Load1: l1, Load5: l5, Load15: l15, CPUs: cpus, Level: lvl}
		if atMillis != 0 {
			l.At = At(time.UnixMilli(atMillis))
		}
		if hasMem {
			l.MemUsedPct = &mem
		}
		want, wantErr := json.Marshal(&l)
		got, ok := appendLoad(nil, &l)
		if !ok {
			return // encoding/json's to write (or refuse)
		}
		if wantErr != nil {
			t.Fatalf("json refuses %+v (%v), the fast path wrote %s", l, wantErr, got)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("fast path\n %s\njson\n %s", got, want)
		}
	})
}

// The fast path takes what a hub writes every second.
func TestLoadEncodingTakesTheUsualSample(t *testing.T) {
	mem := 41.25
	l := Load{Host: "web-01", At: At(time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)), Interval: Duration(time.Second), Load1: 0.4, Load5: 0.3, Load15: 0.2, CPUs: 8, MemUsedPct: &mem, Level: LevelOK}
	l.Type = TypeLoad
	if _, ok := appendLoad(nil, &l); !ok {
		t.Fatal("the usual sample fell back to encoding/json")
	}
	got := MustEncode(&l)
	want, _ := json.Marshal(&l)
	if !bytes.Equal(got, want) {
		t.Fatalf("Encode wrote %s, want %s", got, want)
	}
}

// EncodeLoad writes what MustEncode writes, through the fast path or,
// for a host name it does not take, encoding/json's.
func TestEncodeLoadIsMustEncode(t *testing.T) {
	at := At(time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC))
	for _, host := range []string{"web-01", "a<b>&\"é"} {
		l := Load{Host: host, At: at, Interval: Duration(time.Second), Load1: 0.4, CPUs: 8, Level: LevelOK}
		c := l
		if got, want := EncodeLoad(&l), MustEncode(&c); !bytes.Equal(got, want) {
			t.Errorf("EncodeLoad wrote %s, want %s", got, want)
		}
	}
}

func BenchmarkEncodeLoad(b *testing.B) {
	l := Load{Host: "web-01", At: At(time.Now()), Interval: Duration(time.Second), Load1: 0.4, CPUs: 8, Level: LevelOK}
	b.ReportAllocs()
	for b.Loop() {
		EncodeLoad(&l)
	}
}
