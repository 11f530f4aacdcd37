package protocol

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Limits of PROTOCOL.md (Additions, Limits). A server refuses, with nack
// invalid and before writing anything, what passes them; so everything it
// acknowledged passes them again when it replays its journal.
const (
	MaxTitleBytes = 256      // an incident's title
	MaxTextBytes  = 16 << 10 // a note's or a publish's text
	MaxChecklist  = 200      // steps in one checklist
	MaxIDBytes    = 128      // incident, step, command, host and service ids
)

// CheckID reports why s is not a valid id (what names it in the error):
// 1 to MaxIDBytes bytes of printable UTF-8 without spaces.
func CheckID(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty", what)
	case len(s) > MaxIDBytes:
		return fmt.Errorf("%s is %d bytes; at most %d", what, len(s), MaxIDBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("%s %q holds a space or an unprintable character", what, s)
		}
	}
	return nil
}

// CheckText reports why s is not a valid text of at most limit bytes.
func CheckText(what, s string, limit int) error {
	switch {
	case len(s) > limit:
		return fmt.Errorf("%s is %d bytes; at most %d", what, len(s), limit)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	return nil
}

// CheckTime reports why an optional time a peer sent is not a protocol
// time; a nil or absent time is fine.
func CheckTime(what string, t *Time) error {
	if t == nil {
		return nil
	}
	if t.Invalid() || (!t.IsZero() && !InRange(t.Time)) {
		return fmt.Errorf("%s is not an RFC 3339 time in the years %04d-%04d (UTC)", what, MinYear, MaxYear)
	}
	return nil
}

// FitsFrame reports whether an encoded frame is within MaxFrameSize.
func FitsFrame(frame []byte) bool { return len(frame) <= MaxFrameSize }
