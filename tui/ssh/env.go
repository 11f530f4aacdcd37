package ssh

import (
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/colorprofile"
)

// Profile is the colour profile of a session's terminal, from the
// environment its client sent: NO_COLOR (any value) or TERM=dumb draw no
// colour, COLORTERM truecolor or 24bit draws true colour, and anything else
// the 16 colours every terminal has. The client's terminal is not ours to
// query, so its own word is all there is.
func Profile(env []string) colorprofile.Profile {
	get := func(name string) (string, bool) {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(env[i], "="); ok && k == name {
				return v, true
			}
		}
		return "", false
	}
	if v, ok := get("NO_COLOR"); ok && v != "" {
		return colorprofile.ASCII
	}
	if v, _ := get("TERM"); v == "dumb" {
		return colorprofile.ASCII
	}
	if v, _ := get("COLORTERM"); v == "truecolor" || v == "24bit" {
		return colorprofile.TrueColor
	}
	return colorprofile.ANSI
}

// idleInput is a session's input that restarts the idle timer on every
// read that brought something: a keypress, a paste, a click.
type idleInput struct {
	r     io.Reader
	timer *time.Timer
	after time.Duration
}

func (i *idleInput) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	if n > 0 {
		i.timer.Reset(i.after)
	}
	return n, err
}
