package protocol

import (
	"errors"
	"testing"
)

func TestDecodeReportRefusesWhatTolerantDecodeGuesses(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		ok    bool
	}{
		{"canonical", `{"type":"load","host":"web-1","at":"2026-11-22T02:13:07.000Z","interval":"5s","load1":1.5,"load5":1,"load15":1,"cpus":4}`, true},
		{"spaced", `{ "type": "load", "host": "web-1", "at": "2026-11-22T02:13:07.000Z", "interval": "5s", "load1": 1.5, "cpus": 4 }`, true},
		{"load1 past float64", `{"type":"load","host":"web-1","at":"2026-11-22T02:13:07.000Z","interval":"5s","load1":1e999,"cpus":4}`, false},
		{"load1 a string", `{"type":"load","host":"web-1","at":"2026-11-22T02:13:07.000Z","interval":"5s","load1":"high","cpus":4}`, false},
		{"cpus a fraction", `{"type":"load","host":"web-1","at":"2026-11-22T02:13:07.000Z","interval":"5s","load1":1,"cpus":4.5}`, false},
		{"service state a number", `{"type":"service","host":"web-1","service":"exim","state":3,"at":"2026-11-22T02:13:07.000Z"}`, false},
		{"service", `{"type":"service","host":"web-1","service":"exim","state":"ok","at":"2026-11-22T02:13:07.000Z"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := DecodeReport([]byte(tt.frame))
			if tt.ok != (err == nil) {
				t.Fatalf("DecodeReport = %+v, %v", m, err)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("refused as %v, not malformed", err)
			}
		})
	}
}

func FuzzDecodeReport(f *testing.F) {
	f.Add([]byte(`{"type":"load","host":"web-1","at":"2026-11-22T02:13:07.000Z","interval":"5s","load1":1e999,"cpus":4}`))
	f.Add([]byte(`{"type":"service","host":"web-1","service":"exim","state":"ok","at":"2026-11-22T02:13:07.000Z"}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := DecodeReport(frame)
		if err != nil {
			return
		}
		// Whatever the strict reading takes, the tolerant one reads the same.
		tol, err := Decode(frame)
		if err != nil || TypeOf(tol) != TypeOf(m) {
			t.Fatalf("strict took %T, tolerant %T %v", m, tol, err)
		}
	})
}
