package protocol

import (
	"math"
	"strconv"
)

// appendLoad writes l the way encoding/json writes it, without reflection,
// and reports false where a string would need escaping or a number cannot
// be written, which Encode then leaves to encoding/json. A hub encodes
// every sample of every host (10,000 a second for 10,000 hosts);
// FuzzLoadEncoding holds the two to the same bytes.
func appendLoad(b []byte, l *Load) ([]byte, bool) {
	if !plainJSON(l.Type) || !plainJSON(l.Host) || !plainJSON(l.Level) || !finite(l.Load1, l.Load5, l.Load15) {
		return nil, false
	}
	b = append(b, `{"type":"`...)
	b = append(b, l.Type...)
	b = append(b, `","host":"`...)
	b = append(b, l.Host...)
	b = append(b, `","at":`...)
	if l.At.IsZero() {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = l.At.UTC().AppendFormat(b, TimeLayout)
		b = append(b, '"')
	}
	interval := l.Interval.String()
	if !plainJSON(interval) {
		return nil, false
	}
	b = append(b, `,"interval":"`...)
	b = append(b, interval...)
	b = append(b, `","load1":`...)
	b = appendFloat(b, l.Load1)
	b = append(b, `,"load5":`...)
	b = appendFloat(b, l.Load5)
	b = append(b, `,"load15":`...)
	b = appendFloat(b, l.Load15)
	b = append(b, `,"cpus":`...)
	b = strconv.AppendInt(b, int64(l.CPUs), 10)
	if l.MemUsedPct != nil {
		if !finite(*l.MemUsedPct) {
			return nil, false
		}
		b = append(b, `,"mem_used_pct":`...)
		b = appendFloat(b, *l.MemUsedPct)
	}
	if l.Level != "" {
		b = append(b, `,"level":"`...)
		b = append(b, l.Level...)
		b = append(b, '"')
	}
	return append(b, '}'), true
}

// plainJSON reports whether encoding/json writes s as it is: printable
// ASCII without the characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

func finite(fs ...float64) bool {
	for _, f := range fs {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

// appendFloat is encoding/json's float64 encoding.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
