//go:build !linux

package probe

import (
	"errors"
	"runtime"
)

// procReader has no /proc to read here: captures carry outputs only.
type procReader struct{}

var errNoProc = errors.New("process evidence reads /proc, which " + runtime.GOOS + " does not have")

func newProcReader(string) *procReader { return &procReader{} }

func (r *procReader) sample() (procSample, error) { return procSample{}, errNoProc }

func (r *procReader) close() {}

// clockTicks is unused without /proc; one value keeps topGroups portable.
func clockTicks() float64 { return 100 }
