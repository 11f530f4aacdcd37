package tui

import (
	"fmt"
	"strings"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/tui/state"
)

type servicesPane struct {
	cursor
	filter string
	cache  *cached
}

func (p *servicesPane) visible(st *state.State) []*state.Service {
	all := st.Services()
	if p.filter == "" {
		return all
	}
	f := strings.ToLower(p.filter)
	var out []*state.Service
	for _, s := range all {
		if strings.Contains(strings.ToLower(s.Host+" "+s.Name+" "+s.State+" "+s.Detail), f) {
			out = append(out, s)
		}
	}
	return out
}

func (p *servicesPane) view(v *viewCtx, r Rect, focused bool) string {
	key := fmt.Sprint(v.st.ServicesVersion, v.st.HostsVersion, v.st.HealthVersion, v.now.Unix()/10, r, focused, p.sel, p.offset, p.filter)
	return p.cache.get(key, func() string { return p.draw(v, r, focused) })
}

func (p *servicesPane) move(v *viewCtx, delta, rows int) {
	p.sel += delta
	p.clamp(len(p.visible(v.st)), rows)
}

func (p *servicesPane) click(v *viewCtx, row, rows int) {
	p.sel = p.offset + row
	p.clamp(len(p.visible(v.st)), rows)
}

func (p *servicesPane) open(v *viewCtx) dialog {
	svcs := p.visible(v.st)
	if p.sel < 0 || p.sel >= len(svcs) {
		return nil
	}
	return serviceDetail(svcs[p.sel].Host, svcs[p.sel].Name)
}

func stateWord(s *Styles, st string) (string, func(...string) string) {
	switch st {
	case protocol.StateOK:
		return "✓ ok", s.OK.Render
	case protocol.StateWarn:
		return "! warn", s.Warn.Render
	case protocol.StateDown:
		return "✗ down", s.Crit.Render
	case protocol.StateMaintenance:
		return "~ maint", s.Maint.Render
	}
	return "? " + st, s.Unknown.Render
}

func (p *servicesPane) draw(v *viewCtx, r Rect, focused bool) string {
	svcs := p.visible(v.st)
	rows := r.H - 1
	p.clamp(len(svcs), rows)
	var down, warn, stale int
	for _, s := range svcs {
		switch {
		case v.st.ServiceStale(s, v.now):
			stale++
		case s.State == protocol.StateDown:
			down++
		case s.State == protocol.StateWarn:
			warn++
		}
	}
	title := fmt.Sprintf("Services  %d · %d down · %d warn", len(svcs), down, warn)
	if stale > 0 {
		title += fmt.Sprintf(" · %d stale", stale)
	}
	if p.filter != "" {
		title += "  filter: " + p.filter
	}
	lines := []string{v.title(title, r.W, focused)}
	if len(svcs) == 0 {
		msg := " no services reported"
		if p.filter != "" {
			msg = " nothing matches the filter"
		}
		lines = append(lines, v.styles.Dim.Render(fit(msg, r.W)))
	}
	hostW, nameW := 6, 6
	for _, s := range svcs {
		hostW, nameW = max(hostW, len([]rune(s.Host))), max(nameW, len([]rune(s.Name)))
	}
	// The detail goes first (it is clipped), then names are cut in the middle.
	nameW = min(nameW, 16)
	hostW = max(8, min(hostW, r.W-1-10-nameW-8-2))
	for i := p.offset; i < len(svcs) && len(lines) <= rows; i++ {
		s := svcs[i]
		word, paint := stateWord(v.styles, s.State)
		detail := s.Detail
		if v.st.ServiceStale(s, v.now) {
			word, paint = "? stale", v.styles.Stale.Render
			detail = strings.TrimSuffix("last said "+s.State+": "+detail, ": ")
		}
		flap := ""
		if s.Flapping(v.now) {
			flap = v.styles.Warn.Render(" ~flapping")
		}
		line := mark(focused && i == p.sel) + paint(fit(word, 9)) + " " + fit(cutMiddle(s.Host, hostW), hostW) + " " + fit(cutMiddle(s.Name, nameW), nameW) + " " +
			fmt.Sprintf("%6s", age(v.now.Sub(s.Since))) + flap + "  " + v.styles.Dim.Render(detail)
		lines = append(lines, clip(line, r.W))
	}
	return block(lines, r.W, r.H)
}
