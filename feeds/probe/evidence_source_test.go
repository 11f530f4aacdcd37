package probe_test

import (
	"github.com/vigil-oncall/vigil/feeds/agent"
	"github.com/vigil-oncall/vigil/feeds/probe"
)

// The agent declares what it needs; the capturer is what production
// passes it, and neither package imports the other.
var _ agent.EvidenceSource = (*probe.Capturer)(nil)
