package incident

import (
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// ShownStatus is the status a person reads for inc at now. A maintenance
// is not investigated: it is scheduled until its start, in progress from
// then until a responder resolves it (an overrun stays in progress), and
// completed once resolved, as the status page says. Other incidents show
// their status as it is.
func ShownStatus(inc *protocol.Incident, now time.Time) string {
	if inc.Kind != "maintenance" || inc.ScheduledStart == nil {
		return inc.Status
	}
	switch {
	case inc.Resolved():
		return "completed"
	case now.Before(inc.ScheduledStart.Time):
		return "scheduled"
	default:
		return "in progress"
	}
}
