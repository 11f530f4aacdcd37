package publish

import (
	"unicode/utf8"
)

// stripControls removes control characters from rendered text: C0 but
// tab, newline and carriage return, DEL, and C1. html/template escapes
// markup, not these: an ESC or BEL in published text would reach a
// customer's browser (and anything that renders the page to a terminal)
// raw. Invalid UTF-8 becomes U+FFFD.
func stripControls(b []byte) []byte {
	clean := true
	for _, c := range b {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return b
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n == 1:
			out = utf8.AppendRune(out, utf8.RuneError)
		case isControl(r):
		default:
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

func isControl(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= 0x7f && r < 0xa0)
}
