package publish

import (
	"fmt"
	"time"
)

// PageExtras adds to a page what the board does not know: whether the
// page offers subscriptions, the components' uptime.
type PageExtras func(p *Page, now time.Time)

// SetExtras sets what every rendering of the page gets added.
func (b *Board) SetExtras(fn PageExtras) {
	b.mu.Lock()
	b.extras = fn
	b.mu.Unlock()
}

func (b *Board) extend(p Page, now time.Time) Page {
	b.mu.Lock()
	fn := b.extras
	b.mu.Unlock()
	if fn != nil {
		fn(&p, now)
	}
	return p
}

// ComponentUptime is one component's bars on the page: a day each, the
// oldest first, and its uptime over them.
type ComponentUptime struct {
	ID, Name string
	Percent  *float64 // nil: no data at all
	Auto     bool     // states set from hosts while no responder published
	Days     []DayUptime
}

// DayUptime is one bar: the day, its uptime (nil: no data), and the
// worst state seen that day, for its colour and its words.
type DayUptime struct {
	Date    string
	Percent *float64
	Worst   string // a component status, or "no_data"
}

// PercentText is a percent as the page writes it.
func PercentText(p *float64) string {
	if p == nil {
		return "no data"
	}
	return fmt.Sprintf("%.2f%%", *p)
}

// Label is the day in words, for a screen reader and a title.
func (d DayUptime) Label() string {
	if d.Percent == nil {
		return d.Date + ": no data"
	}
	return fmt.Sprintf("%s: %s up, worst %s", d.Date, PercentText(d.Percent), statusWords(d.Worst))
}

func statusWords(s string) string {
	if l, ok := statusLabel[s]; ok {
		return l
	}
	return "no data"
}

// PercentLabel is the component's 90-day uptime in words.
func (c ComponentUptime) PercentLabel() string {
	if c.Percent == nil {
		return "no data"
	}
	return PercentText(c.Percent) + " uptime"
}

// Worse is the days below 100% or without data, newest first.
func (c ComponentUptime) Worse() []DayUptime {
	var out []DayUptime
	for i := len(c.Days) - 1; i >= 0; i-- {
		if d := c.Days[i]; d.Percent == nil || *d.Percent < 100 {
			out = append(out, d)
		}
	}
	return out
}

// Down says the day had an outage: its bar is drawn full height, so the
// bars read without colour.
func (d DayUptime) Down() bool { return d.Worst == PartialOutage || d.Worst == MajorOutage }
