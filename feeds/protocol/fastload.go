package protocol

import (
	"bytes"
	"strconv"
)

// loadPrefix is how every load frame vigil encodes begins.
var loadPrefix = []byte(`{"type":"load",`)

// decodeCanonicalLoad reads a load frame written the way vigil writes
// one (encoding/json's output: known keys in lower case, each once, no
// spaces, strings of printable ASCII without escapes, plain numbers) by
// hand, and reports false for anything else, which Decode then reads the
// general way. Load samples are most of what a dashboard reads (10,000
// hosts send 10,000 a second), and encoding/json's reflection and
// validation were half of the dashboard's CPU at that rate. The fuzz
// target FuzzOnePassDecode holds the two paths to the same result.
func decodeCanonicalLoad(frame []byte) (*Load, bool) {
	if !bytes.HasPrefix(frame, loadPrefix) {
		return nil, false
	}
	l := &Load{Type: TypeLoad}
	var seen uint16
	p := frame[len(loadPrefix):]
	for {
		key, rest, ok := quoted(p)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return nil, false
		}
		p = rest[1:]
		field := loadField(key)
		if field < 0 || seen&(1<<field) != 0 {
			return nil, false // unknown or repeated: the general path decides
		}
		seen |= 1 << field
		if p, ok = l.setCanonical(field, p); !ok {
			return nil, false
		}
		switch {
		case len(p) == 1 && p[0] == '}':
			return l, true
		case len(p) > 1 && p[0] == ',':
			p = p[1:]
		default:
			return nil, false
		}
	}
}

// setCanonical reads field's value at the start of p into l, returning
// what follows.
func (l *Load) setCanonical(field int, p []byte) (rest []byte, ok bool) {
	switch field {
	case fHost, fAt, fInterval, fLevel:
		s, rest, ok := quoted(p)
		if !ok {
			return nil, false
		}
		switch field {
		case fHost:
			l.Host = string(s)
		case fAt:
			l.At.setText(string(s))
		case fInterval:
			l.Interval.setText(string(s))
		case fLevel:
			l.Level = string(s)
		}
		return rest, true
	case fCPUs:
		n, rest, ok := number(p)
		if !ok {
			return nil, false
		}
		v, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || int64(int(v)) != v {
			return nil, false // a fraction, an exponent or too big: mistyped
		}
		l.CPUs = int(v)
		return rest, true
	}
	n, rest, ok := number(p)
	if !ok {
		return nil, false
	}
	v, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return nil, false
	}
	switch field {
	case fLoad1:
		l.Load1 = v
	case fLoad5:
		l.Load5 = v
	case fLoad15:
		l.Load15 = v
	case fMem:
		l.MemUsedPct = &v
	}
	return rest, true
}

const (
	fHost = iota
	fAt
	fInterval
	fLoad1
	fLoad5
	fLoad15
	fCPUs
	fMem
	fLevel
)

func loadField(key []byte) int {
	switch string(key) {
	case "host":
		return fHost
	case "at":
		return fAt
	case "interval":
		return fInterval
	case "load1":
		return fLoad1
	case "load5":
		return fLoad5
	case "load15":
		return fLoad15
	case "cpus":
		return fCPUs
	case "mem_used_pct":
		return fMem
	case "level":
		return fLevel
	}
	return -1
}

// quoted reads a JSON string of printable ASCII with no escapes at the
// start of p, returning its contents and what follows.
func quoted(p []byte) (s, rest []byte, ok bool) {
	if len(p) == 0 || p[0] != '"' {
		return nil, nil, false
	}
	for i := 1; i < len(p); i++ {
		switch c := p[i]; {
		case c == '"':
			return p[1:i], p[i+1:], true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// number reads a JSON number at the start of p (RFC 8259's grammar),
// returning its text and what follows.
func number(p []byte) (n, rest []byte, ok bool) {
	i := 0
	if i < len(p) && p[i] == '-' {
		i++
	}
	switch {
	case i < len(p) && p[i] == '0':
		i++
	case i < len(p) && p[i] >= '1' && p[i] <= '9':
		i = digits(p, i)
	default:
		return nil, nil, false
	}
	if i < len(p) && p[i] == '.' {
		start := i + 1
		if i = digits(p, start); i == start {
			return nil, nil, false
		}
	}
	if i < len(p) && (p[i] == 'e' || p[i] == 'E') {
		i++
		if i < len(p) && (p[i] == '+' || p[i] == '-') {
			i++
		}
		start := i
		if i = digits(p, start); i == start {
			return nil, nil, false
		}
	}
	return p[:i], p[i:], true
}

// digits is the index past the run of ASCII digits at p[i:].
func digits(p []byte, i int) int {
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	return i
}
