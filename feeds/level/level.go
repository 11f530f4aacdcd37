// Package level is the one rule for how loaded a host is: thresholds per
// CPU, with hysteresis, shared by the hub that journals crossings and the
// dashboard that shows them, so the two never disagree.
package level

import "github.com/vigil-oncall/vigil/feeds/protocol"

// Level is a host's load level.
type Level int

const (
	OK Level = iota
	Warn
	Crit
)

func (l Level) String() string {
	switch l {
	case Warn:
		return protocol.LevelWarn
	case Crit:
		return protocol.LevelCrit
	}
	return protocol.LevelOK
}

// Parse reads a level as the protocol writes it (Load.Level); ok is false
// for an absent or unknown value.
func Parse(s string) (l Level, ok bool) {
	switch s {
	case protocol.LevelOK:
		return OK, true
	case protocol.LevelWarn:
		return Warn, true
	case protocol.LevelCrit:
		return Crit, true
	}
	return OK, false
}

// Thresholds are load1-per-CPU levels.
type Thresholds struct {
	WarnPerCPU float64
	CritPerCPU float64
}

// Defaults are DESIGN.md's: warn at 0.7 per CPU, crit at 1.0.
func Defaults() Thresholds { return Thresholds{WarnPerCPU: 0.7, CritPerCPU: 1.0} }

// OrDefaults returns t, or Defaults where t is unset.
func (t Thresholds) OrDefaults() Thresholds {
	if t == (Thresholds{}) {
		return Defaults()
	}
	return t
}

// Hysteresis is how far below a threshold load must fall before a host
// leaves that level, so a host hovering at a threshold is journaled once,
// not on every sample.
const Hysteresis = 0.9

// PerCPU is load1 per CPU; a host that reports no CPUs counts as one.
func PerCPU(load1 float64, cpus int) float64 { return load1 / float64(max(cpus, 1)) }

// Of classifies load1 on cpus, without history.
func (t Thresholds) Of(load1 float64, cpus int) Level {
	per := PerCPU(load1, cpus)
	switch {
	case per >= t.CritPerCPU:
		return Crit
	case per >= t.WarnPerCPU:
		return Warn
	}
	return OK
}

// From classifies load1 on cpus given the host's previous level: it rises
// at a threshold and falls only below Hysteresis times it.
func (t Thresholds) From(prev Level, load1 float64, cpus int) Level {
	l := t.Of(load1, cpus)
	if l >= prev {
		return l
	}
	per := PerCPU(load1, cpus)
	switch {
	case prev == Crit && per >= t.CritPerCPU*Hysteresis:
		return Crit
	case prev >= Warn && per >= t.WarnPerCPU*Hysteresis:
		return Warn
	}
	return l
}
