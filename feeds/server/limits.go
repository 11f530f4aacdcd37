package server

import (
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// The protocol bounds frames by their encoded size, and JSON escaping grows
// text up to six times ("<" is written "\u003c"): so what the hub journals
// is measured encoded, never by the length of its text.

// frameSize is the encoded size of a journal message once it has a seq,
// measured with the widest seq so the answer holds whatever seq it gets.
func frameSize(m protocol.Message) int {
	var frame []byte
	switch v := m.(type) {
	case *protocol.Entry:
		c := *v
		c.Seq = math.MaxUint64
		frame = protocol.MustEncode(&c)
	case *protocol.IncidentMsg:
		c := *v
		c.Seq = math.MaxUint64
		frame = protocol.MustEncode(&c)
	default:
		frame = protocol.MustEncode(m)
	}
	return len(frame)
}

// checkFrames says which of a command's journal messages would not fit in
// one frame: such a command is refused before anything is written.
func checkFrames(msgs []protocol.Message) error {
	for _, m := range msgs {
		if n := frameSize(m); n > protocol.MaxFrameSize {
			return fmt.Errorf("its %s would be a frame of %d bytes encoded; a frame holds at most %d", protocol.TypeOf(m), n, protocol.MaxFrameSize)
		}
	}
	return nil
}

// truncated marks text the hub cut to fit.
const truncated = " …[truncated]"

// trimText cuts s to at most limit bytes, on a rune boundary, marking the
// cut.
func trimText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	mark := truncated
	if limit < 4*len(truncated) {
		mark = "" // too short to spend on the mark
	}
	cut := limit - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// fitEntry trims an entry no command caused (a probe's transition, an
// agent's evidence) so that it always fits one frame: its text to the
// protocol's text limit, then the longest evidence output, halved until
// the frame fits, and as a last resort the evidence itself. Journaling a
// cut entry beats losing the event.
func fitEntry(e *protocol.Entry) {
	e.Text = trimText(e.Text, protocol.MaxTextBytes)
	if e.Evidence != nil && frameSize(e) > protocol.MaxFrameSize {
		ev := *e.Evidence
		ev.Outputs = append([]protocol.Output(nil), ev.Outputs...)
		e.Evidence = &ev
	}
	for round := 0; round < 64 && e.Evidence != nil && frameSize(e) > protocol.MaxFrameSize; round++ {
		outs := e.Evidence.Outputs
		longest := -1
		for i := range outs {
			if longest < 0 || len(outs[i].Text) > len(outs[longest].Text) {
				longest = i
			}
		}
		if longest < 0 || len(outs[longest].Text) < 1024 {
			break // what is left is not the outputs' text
		}
		o := &outs[longest]
		o.Text, o.Truncated = trimText(o.Text, len(o.Text)/2), true
	}
	if frameSize(e) > protocol.MaxFrameSize && e.Evidence != nil {
		e.Evidence = nil
		e.Text = trimText(e.Text, protocol.MaxTextBytes-64) + " (evidence left out: too large for one frame)"
	}
}
