package state

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sanitize makes a string from a feed safe to draw: escape sequences (CSI,
// OSC, DCS and the rest) are removed whole, other control characters and
// bidirectional overrides are dropped, line breaks and tabs become spaces,
// and invalid UTF-8 becomes U+FFFD. A hostile host name can then neither
// retitle the terminal nor touch the clipboard nor reorder what is shown.
func Sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
			i++
			continue
		case r == 0x1b || r == 0x9b || r == 0x9d || r == 0x90 || r == 0x9e || r == 0x9f || r == 0x98:
			i = skipEscape(s, i, r, size)
			continue
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r), isBidiControl(r):
			// dropped
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

func isBidiControl(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f || r == 0x061c
}

// c1Of is the C1 control an ESC and the byte after it stand for.
var c1Of = map[byte]rune{'[': 0x9b, ']': 0x9d, 'P': 0x90, '^': 0x9e, '_': 0x9f, 'X': 0x98}

// skipEscape returns the index after the escape sequence starting at i.
func skipEscape(s string, i int, r rune, size int) int {
	j := i + size
	kind := r
	if r == 0x1b {
		if j >= len(s) {
			return j
		}
		c1, ok := c1Of[s[j]]
		if !ok {
			// A two-byte escape (ESC c, ESC 7, ...): drop both.
			_, sz := utf8.DecodeRuneInString(s[j:])
			return j + sz
		}
		kind = c1
		j++
	}
	if kind == 0x9b {
		return skipCSI(s, j)
	}
	return skipControlString(s, j)
}

// skipCSI returns the index after a CSI's parameters, intermediates and
// final byte, from j just after its introducer.
func skipCSI(s string, j int) int {
	for j < len(s) {
		c := s[j]
		j++
		if c >= 0x40 && c <= 0x7e {
			return j
		}
		if c < 0x20 || c > 0x3f && c < 0x40 {
			return j
		}
	}
	return j
}

// skipControlString returns the index after an OSC, DCS, PM, APC or SOS:
// up to BEL or ST (ESC \ or 0x9c).
func skipControlString(s string, j int) int {
	for j < len(s) {
		c := s[j]
		if c == 0x07 {
			return j + 1
		}
		if c == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
			return j + 2
		}
		r, sz := utf8.DecodeRuneInString(s[j:])
		if r == 0x9c {
			return j + sz
		}
		j += sz
	}
	return j
}

// SanitizeLines is Sanitize for multi-line text (a command's output): the
// line breaks stay, everything else is made as safe as Sanitize makes it.
func SanitizeLines(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = Sanitize(l)
	}
	return strings.Join(lines, "\n")
}
