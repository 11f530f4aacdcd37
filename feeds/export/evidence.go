package export

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Evidence is what a host's agent captured at a moment of the incident:
// the busiest processes and the configured commands' outputs, beside the
// crossing it explains. It answers "why did the load go up".
type Evidence struct {
	Seq  uint64    `json:"seq"`
	At   time.Time `json:"at"`
	Host string    `json:"host"`
	// Incident is empty for evidence captured while no incident was open,
	// on a host the incident names, within its window.
	Incident  string             `json:"incident,omitempty"`
	Reason    string             `json:"reason"`
	Crossing  *protocol.Entry    `json:"crossing,omitempty"`
	Processes []protocol.Process `json:"processes"`
	Outputs   []protocol.Output  `json:"outputs"`
}

// crossingLead is how long before a capture the crossing it explains may
// lie: an agent captures at once, or within its rate limit's 5 minutes.
const crossingLead = 10 * time.Minute

// entryHost is the host an entry is about: its host field, or for the
// hub's alert and system entries, their actor (the host they came from).
func entryHost(e *protocol.Entry) string {
	if e.Host != "" {
		return e.Host
	}
	if e.Kind == protocol.EntryAlert || e.Kind == protocol.EntrySystem || e.Kind == protocol.EntryEvidence {
		return e.Actor
	}
	return ""
}

// evidence picks the evidence the post-mortem shows: every evidence entry
// of the incident, and those of no incident in the window whose host the
// incident names (in an entry of its own, its title or a note). It leaves
// the timeline holding the evidence entries' lines without their payload,
// which the report carries once, under Evidence.
func (r *Report) evidence(id string) {
	named := map[string]bool{}
	var texts []string
	texts = append(texts, r.Incident.Title)
	for _, e := range r.Timeline {
		if e.Incident != id {
			continue
		}
		if h := entryHost(&e); h != "" {
			named[h] = true
		}
		if e.Kind == protocol.EntryNote {
			texts = append(texts, e.Text)
		}
	}
	isNamed := func(host string) bool {
		if named[host] {
			return true
		}
		for _, t := range texts {
			if mentions(t, host) {
				return true
			}
		}
		return false
	}
	r.Evidence = []Evidence{}
	for i := range r.Timeline {
		e := &r.Timeline[i]
		if e.Kind != protocol.EntryEvidence || e.Evidence == nil {
			continue
		}
		host := entryHost(e)
		data := e.Evidence
		e.Evidence = nil
		if e.Incident != id && !isNamed(host) {
			continue
		}
		ev := Evidence{
			Seq: e.Seq, At: e.At.Time, Host: host, Incident: e.Incident, Reason: data.Reason,
			Processes: data.Processes, Outputs: data.Outputs, Crossing: r.crossing(host, e.At.Time),
		}
		if ev.Processes == nil {
			ev.Processes = []protocol.Process{}
		}
		if ev.Outputs == nil {
			ev.Outputs = []protocol.Output{}
		}
		r.Evidence = append(r.Evidence, ev)
	}
	sort.SliceStable(r.Evidence, func(i, j int) bool { return r.Evidence[i].At.Before(r.Evidence[j].At) })
}

// crossing is the newest alert about host at or before at, within
// crossingLead: the moment the capture explains.
func (r *Report) crossing(host string, at time.Time) *protocol.Entry {
	var best *protocol.Entry
	for i := range r.Timeline {
		e := &r.Timeline[i]
		if e.Kind != protocol.EntryAlert || entryHost(e) != host || e.At.After(at) || at.Sub(e.At.Time) > crossingLead {
			continue
		}
		if best == nil || !e.At.Before(best.At.Time) {
			best = e
		}
	}
	if best == nil {
		return nil
	}
	c := *best
	return &c
}

// mentions reports whether text names host as a word of its own: "web-3"
// is in "Mail down on web-3." but not in "web-30".
func mentions(text, host string) bool {
	if host == "" {
		return false
	}
	part := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' }
	for i := 0; i <= len(text)-len(host); {
		j := strings.Index(text[i:], host)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(host)
		before, _ := utf8.DecodeLastRuneInString(text[:start])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if !part(before) && !part(after) {
			return true
		}
		i = start + 1
	}
	return false
}

// memory writes an RSS in KiB the way a reader takes it in.
func memory(kb int64) string {
	switch {
	case kb < 1024:
		return fmt.Sprintf("%d KiB", kb)
	case kb < 1024*1024:
		return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
	default:
		return fmt.Sprintf("%.2f GiB", float64(kb)/(1024*1024))
	}
}

// plainText keeps what a command printed readable and harmless in a file
// read in a terminal: escape sequences and control characters go, lines
// and tabs stay.
func plainText(s string) string {
	s = ansi.Strip(strings.ToValidUTF8(s, "\uFFFD"))
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// fence is a code fence longer than any run of backticks in text, so the
// text cannot close it.
func fence(text string) string {
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// markdownEvidence writes the evidence section.
func (r *Report) markdownEvidence(p func(format string, args ...any)) {
	p("## Evidence: what was running\n\n")
	if len(r.Evidence) == 0 {
		p("No evidence was captured in the window. An agent captures it when its host crosses into crit, when a check goes down, and when a responder collects it (`[serve.evidence]`).\n\n")
		return
	}
	for _, ev := range r.Evidence {
		p("### %s %s — %s\n\n", hm(ev.At), mdEscape(ev.Host), mdEscape(ev.Reason))
		where := "during the incident"
		if ev.Incident == "" {
			where = "while no incident was open"
			if ev.At.Before(r.Incident.OpenedAt.Time) {
				where = "before the incident was declared"
			}
		}
		p("Captured on %s at %s, %s.", mdEscape(ev.Host), ts(ev.At), where)
		if ev.Crossing != nil {
			p(" Beside: %s (%s).", mdEscape(ev.Crossing.Text), hm(ev.Crossing.At.Time))
		}
		p("\n\n")
		if len(ev.Processes) == 0 {
			p("No processes were recorded.\n\n")
		} else {
			p("| User | Command | Count | CPU %% | Memory | PID |\n|---|---|--:|--:|--:|--:|\n")
			for _, pr := range ev.Processes {
				p("| %s | %s | %d | %.1f | %s | %d |\n", mdEscape(pr.User), mdEscape(pr.Command), pr.Count, pr.CPUPct, memory(pr.RSSKB), pr.PID)
			}
			p("\n")
		}
		for _, o := range ev.Outputs {
			status := fmt.Sprintf("exit %d", o.Exit)
			if o.Error != "" {
				status = mdEscape(o.Error)
			}
			if o.Truncated {
				status += fmt.Sprintf("; only the last %d bytes were kept", len(o.Text))
			}
			p("**%s** (%s):\n\n", mdEscape(o.Name), status)
			text := plainText(o.Text)
			if strings.TrimSpace(text) == "" {
				p("_printed nothing_\n\n")
				continue
			}
			f := fence(text)
			p("%stext\n%s\n%s\n\n", f, strings.TrimRight(text, "\n"), f)
		}
	}
}
