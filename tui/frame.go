package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// waitFrame waits for the clock's next tick or an urgent change in the
// store, whichever comes first, and drains the store into one message.
// Journal messages, acks and connection changes are urgent and go at
// once; load samples gather until the tick, so a flood becomes one frame
// a second. The clock and the load share the tick: one message, one
// update and one changed frame a second, where a separate clock made two.
func (m Model) waitFrame() tea.Cmd {
	store, ctx, gap, now := m.feed.Store(), m.ctx, m.opts.FrameGap, m.opts.Now
	return func() tea.Msg {
		t := time.NewTimer(untilFrame(now(), gap))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil
		case <-store.Urgent():
			return batchMsg{store.Drain()}
		case <-t.C:
		}
		select {
		case <-store.Notify():
			return batchMsg{store.Drain()}
		default:
			return batchMsg{}
		}
	}
}

// afterTick puts the tick just after the clock's second turns, so the
// clock read in Update is in the new second.
const afterTick = 5 * time.Millisecond

// untilFrame is how long from now until the next tick: afterTick past the
// next multiple of gap on the clock, or past this one if that is still
// ahead (an urgent message just after the second turned must not make the
// wait skip that second's tick).
func untilFrame(now time.Time, gap time.Duration) time.Duration {
	next := now.Truncate(gap).Add(afterTick)
	if !next.After(now) {
		next = next.Add(gap)
	}
	return next.Sub(now)
}

// DefaultFPS is the renderer's frame-rate ceiling. vigil's copy of
// bubbletea v2.1.1 (tui/third_party/bubbletea) draws only when a view
// changes, at once if the last frame is older than one interval and
// otherwise when the interval is up, so the rate costs nothing while
// idle, and what it sets is how long a keypress right after a frame
// waits. vigil bench's keypress figure (10,000 samples a second streamed
// to the dashboard, one run each): p99 48, 14 and 6 ms at 20, 60 and 120.
// 60 keeps the p99 under the 20 ms budget and caps a burst of changes
// (a storm of journal messages) at 60 frames a second.
const DefaultFPS = 60
