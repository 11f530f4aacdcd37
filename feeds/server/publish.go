package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigil-oncall/vigil/feeds/incident"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/publish"
)

// initPublishing builds the status page's board and the delivery engine;
// NewHub then replays the journal into both (observePublished).
func (h *Hub) initPublishing() {
	h.board = publish.NewBoard(h.opts.Site)
	h.deliveries = publish.NewEngine(h.board, publish.EngineOptions{
		Senders: h.opts.Senders, Record: h.record, Retry: h.opts.Retry,
		Now: h.opts.Now, Logger: h.log, Actor: h.opts.Name,
	})
}

// observePublished feeds one journal message, in journal order, to the
// status page and the delivery engine. Every hub of a cluster holds every
// delivery owed; only the hub holding the delivery lease sends
// (startDelivery), so a lost hub's are sent by the next.
func (h *Hub) observePublished(m protocol.Message) {
	h.board.Observe(m)
	h.deliveries.Observe(m)
}

// clustered reports whether the journal is shared with other hubs.
func (h *Hub) clustered() bool {
	_, shared := h.journal.(journal.CatchUpper)
	return shared
}

// DeliveryLease is the lease the hub that delivers a cluster's publishes
// holds.
const DeliveryLease = "delivery"

// lease is how long a hub of a cluster owns work it does for all.
func (h *Hub) lease() time.Duration {
	if h.opts.Lease > 0 {
		return h.opts.Lease
	}
	return 10 * time.Second
}

// startDelivery runs the delivery engine until ctx ends (in a cluster,
// while this hub holds the delivery lease); the returned channel closes
// when it has.
func (h *Hub) startDelivery(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if h.clustered() {
			h.holdOrRun(ctx, DeliveryLease, h.lease(), h.deliveries.Run)
			return
		}
		h.deliveries.Run(ctx)
	}()
	return done
}

// PendingDeliveries is how many (publish, channel) pairs are neither
// delivered nor given up.
func (h *Hub) PendingDeliveries() int { return h.deliveries.Pending() }

// Channels is the publish channels the hub offers: page first, then the
// configured ones by name.
func (h *Hub) Channels() []string {
	names := h.deliveries.Channels()
	sort.Strings(names)
	return append([]string{protocol.ChannelPage}, names...)
}

func (h *Hub) statusHandler() http.Handler { return publish.Handler(h.board, h.opts.Now) }

// applyOp applies a command to an existing incident: publish and claim
// here, update's maintenance window and components here, the rest by the
// incident rules.
func (h *Hub) applyOp(cur protocol.Incident, cmd protocol.Command, now time.Time) (protocol.Incident, bool, []protocol.Entry, *incident.Refusal) {
	switch {
	case cmd.Op == protocol.OpPublish:
		return h.applyPublish(cur, cmd, now)
	case cmd.Op == protocol.OpClaim:
		return applyClaim(cur, cmd, now)
	case cmd.Op == protocol.OpUpdate && (cmd.Components != nil || cmd.ScheduledEnd != nil):
		return h.applyScopedUpdate(cur, cmd, now)
	}
	return incident.Apply(cur, cmd, now)
}

func refuse(code, format string, args ...any) *incident.Refusal {
	return &incident.Refusal{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// applyPublish journals what is told to customers, with the tick of its
// step in the same append; delivery follows from the journal.
func (h *Hub) applyPublish(cur protocol.Incident, cmd protocol.Command, now time.Time) (protocol.Incident, bool, []protocol.Entry, *incident.Refusal) {
	text := strings.TrimSpace(cmd.Text)
	if text == "" {
		return cur, false, nil, refuse(protocol.CodeInvalid, "publish needs text")
	}
	if err := protocol.CheckText("publish text", cmd.Text, protocol.MaxTextBytes); err != nil {
		return cur, false, nil, refuse(protocol.CodeInvalid, "%v", err)
	}
	if len(cmd.Subject) > protocol.MaxTitleBytes || strings.ContainsAny(cmd.Subject, "\r\n") {
		return cur, false, nil, refuse(protocol.CodeInvalid, "subject must be one line of at most %d bytes", protocol.MaxTitleBytes)
	}
	if len(cmd.Channels) == 0 {
		return cur, false, nil, refuse(protocol.CodeInvalid, "publish needs at least one channel (have: %s)", strings.Join(h.Channels(), ", "))
	}
	known := h.Channels()
	var channels []string
	for _, c := range cmd.Channels {
		if !slices.Contains(known, c) {
			return cur, false, nil, refuse(protocol.CodeInvalid, "no channel %q (have: %s)", c, strings.Join(known, ", "))
		}
		if !slices.Contains(channels, c) {
			channels = append(channels, c)
		}
	}
	pub := protocol.Entry{Incident: cur.ID, At: protocol.At(now), Actor: cmd.Actor, Kind: protocol.EntryPublish,
		Text: cmd.Text, Channels: channels, Subject: cmd.Subject, Item: cmd.Item, Ref: cmd.ID}
	if ref := h.freezeRecipients(&pub, cur.ID); ref != nil {
		return cur, false, nil, ref
	}
	if cmd.Item == "" {
		return cur, false, []protocol.Entry{pub}, nil
	}
	idx := slices.IndexFunc(cur.Checklist, func(it protocol.Item) bool { return it.ID == cmd.Item })
	if idx < 0 {
		return cur, false, nil, refuse(protocol.CodeNotFound, "%s has no checklist step %q", cur.ID, cmd.Item)
	}
	next, changed, entries := cur, false, []protocol.Entry{pub}
	it := cur.Checklist[idx]
	if !it.Done() || it.Every != nil {
		done := true
		tick := protocol.Command{ID: cmd.ID, Actor: cmd.Actor, Op: protocol.OpCheck, Incident: cur.ID, Item: cmd.Item, Done: &done}
		ticked, ch, es, ref := incident.Apply(cur, tick, now)
		if ref != nil {
			return cur, false, nil, ref
		}
		next, changed, entries = ticked, ch, append(entries, es...)
	}
	// The writer is done: their claim ends with the publish.
	if c := next.Checklist[idx].ClaimedBy; c != nil && *c == cmd.Actor {
		if !changed {
			next = next.Clone()
		}
		next.Checklist[idx].ClaimedBy, next.Checklist[idx].ClaimedAt = nil, nil
		changed = true
	}
	return next, changed, entries, nil
}

// applyClaim says who is on a step. Taking a step someone else holds is
// allowed (they may have gone to sleep) and journaled with both names, so
// nobody is surprised; claiming what you hold, or releasing what nobody
// holds, is a conflict.
func applyClaim(cur protocol.Incident, cmd protocol.Command, now time.Time) (protocol.Incident, bool, []protocol.Entry, *incident.Refusal) {
	if cmd.Claim == nil {
		return cur, false, nil, refuse(protocol.CodeInvalid, "claim needs claim true or false")
	}
	idx := slices.IndexFunc(cur.Checklist, func(it protocol.Item) bool { return it.ID == cmd.Item })
	if idx < 0 {
		return cur, false, nil, refuse(protocol.CodeNotFound, "%s has no checklist step %q", cur.ID, cmd.Item)
	}
	next := cur.Clone()
	it := &next.Checklist[idx]
	holder := ""
	if it.ClaimedBy != nil {
		holder = *it.ClaimedBy
	}
	var text string
	switch {
	case *cmd.Claim && holder == cmd.Actor:
		return cur, false, nil, refuse(protocol.CodeConflict, "%s is already on %q", cmd.Actor, it.Label())
	case *cmd.Claim:
		actor := cmd.Actor
		it.ClaimedBy, it.ClaimedAt = &actor, protocol.TimePtr(now)
		text = fmt.Sprintf("%s is on %q", cmd.Actor, it.Label())
		if holder != "" {
			text = fmt.Sprintf("%s took %q over from %s", cmd.Actor, it.Label(), holder)
		}
	case holder == "":
		return cur, false, nil, refuse(protocol.CodeConflict, "nobody is on %q", it.Label())
	default:
		it.ClaimedBy, it.ClaimedAt = nil, nil
		text = fmt.Sprintf("%s released %q", cmd.Actor, it.Label())
		if holder != cmd.Actor {
			text = fmt.Sprintf("%s released %q (held by %s)", cmd.Actor, it.Label(), holder)
		}
	}
	e := protocol.Entry{Incident: cur.ID, At: protocol.At(now), Actor: cmd.Actor, Kind: protocol.EntryClaim, Text: text, Item: cmd.Item}
	return next, true, []protocol.Entry{e}, nil
}

// checkScope validates a command's components (configured ids) and
// maintenance window (an end after the start: the command's, or for an
// update the incident's).
func (h *Hub) checkScope(cmd protocol.Command, start *protocol.Time) *incident.Refusal {
	for _, c := range cmd.Components {
		if !slices.ContainsFunc(h.opts.Site.Components, func(k protocol.Component) bool { return k.ID == c }) {
			return refuse(protocol.CodeInvalid, "no public component %q (have: %s)", c, strings.Join(h.componentIDs(), ", "))
		}
	}
	// The times themselves were checked by incident.Validate; the window
	// is checked here because an update's start is the incident's.
	if cmd.ScheduledEnd != nil && !cmd.ScheduledEnd.IsZero() && start != nil && !start.IsZero() && !cmd.ScheduledEnd.After(start.Time) {
		return refuse(protocol.CodeInvalid, "scheduled_end %s is not after scheduled_start %s", cmd.ScheduledEnd, start)
	}
	return nil
}

func (h *Hub) componentIDs() []string {
	ids := make([]string, len(h.opts.Site.Components))
	for i, c := range h.opts.Site.Components {
		ids[i] = c.ID
	}
	if len(ids) == 0 {
		return []string{"none configured"}
	}
	return ids
}

func (h *Hub) componentNames(ids []string) string {
	var names []string
	for _, id := range ids {
		for _, c := range h.opts.Site.Components {
			if c.ID == id {
				names = append(names, c.Name)
			}
		}
	}
	return strings.Join(names, ", ")
}

// scopeDeclared gives a declared incident its components and window.
func (h *Hub) scopeDeclared(inc *protocol.Incident, entries []protocol.Entry, cmd protocol.Command) *incident.Refusal {
	if ref := h.checkScope(cmd, inc.ScheduledStart); ref != nil {
		return ref
	}
	if cmd.ScheduledEnd != nil && !cmd.ScheduledEnd.IsZero() {
		inc.ScheduledEnd = protocol.TimePtr(cmd.ScheduledEnd.Time)
		entries[0].Text += " until " + inc.ScheduledEnd.String()
	}
	if len(cmd.Components) > 0 {
		inc.Components = slices.Clone(cmd.Components) // incident.Validate refused repeats
		entries[0].Text += "; affects " + h.componentNames(inc.Components)
	}
	return nil
}

// applyScopedUpdate applies an update that changes the components or the
// maintenance window, with any title, severity or commander it also
// carries.
func (h *Hub) applyScopedUpdate(cur protocol.Incident, cmd protocol.Command, now time.Time) (protocol.Incident, bool, []protocol.Entry, *incident.Refusal) {
	if ref := h.checkScope(cmd, cur.ScheduledStart); ref != nil {
		return cur, false, nil, ref
	}
	next := cur.Clone()
	var changes []string
	if cmd.Components != nil {
		comps := slices.Clone(cmd.Components)
		if !slices.Equal(comps, cur.Components) {
			next.Components = comps
			was, now := h.componentNames(cur.Components), h.componentNames(comps)
			changes = append(changes, fmt.Sprintf("components %s → %s", orNone(was), orNone(now)))
		}
	}
	if cmd.ScheduledEnd != nil {
		switch {
		case cmd.ScheduledEnd.IsZero() && cur.ScheduledEnd != nil:
			next.ScheduledEnd = nil
			changes = append(changes, "scheduled_end cleared")
		case !cmd.ScheduledEnd.IsZero() && (cur.ScheduledEnd == nil || !cur.ScheduledEnd.Equal(cmd.ScheduledEnd.Time)):
			next.ScheduledEnd = protocol.TimePtr(cmd.ScheduledEnd.Time)
			changes = append(changes, "scheduled_end → "+next.ScheduledEnd.String())
		}
	}
	rest := cmd
	rest.Components, rest.ScheduledEnd = nil, nil
	if strings.TrimSpace(rest.Title) != "" || rest.Severity != "" || strings.TrimSpace(rest.Commander) != "" {
		edited, changed, es, ref := incident.Apply(next, rest, now)
		if ref != nil && (ref.Code != protocol.CodeInvalid || len(changes) == 0 || !strings.Contains(ref.Msg, "changes nothing")) {
			return cur, false, nil, ref
		}
		if ref == nil && changed {
			next = edited
			changes = append(changes, strings.TrimPrefix(es[0].Text, "updated "))
		}
	}
	if len(changes) == 0 {
		return cur, false, nil, refuse(protocol.CodeInvalid, "update changes nothing: give new components, scheduled_end, title, severity or commander")
	}
	e := protocol.Entry{Incident: cur.ID, At: protocol.At(now), Actor: cmd.Actor, Kind: protocol.EntryStatus, Text: "updated " + strings.Join(changes, ", ")}
	return next, true, []protocol.Entry{e}, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
