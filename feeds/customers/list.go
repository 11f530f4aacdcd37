// Package customers knows who the hosting company's customers are (a CSV
// export of its control panel), which of them an incident touched, and
// what each is owed when a month's downtime breaks their plan's SLA. It
// is pure: journal messages and a file's bytes in, lists and figures out.
package customers

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Columns is the CSV header, in any order; every column is required.
var Columns = []string{"id", "name", "email", "hosts", "components", "plan", "monthly_fee"}

// Customer is one row of the customers file.
type Customer struct {
	ID         string
	Name       string
	Email      string
	Hosts      []string
	Components []string
	Plan       string
	MonthlyFee float64
}

// List is the customers file as read, indexed by id, host and component.
type List struct {
	customers   []Customer
	byID        map[string]int32
	byHost      map[string][]int32
	byComponent map[string][]int32
}

// Len is how many customers the list holds.
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.customers)
}

// All is every customer, in file order. The slice is the list's own.
func (l *List) All() []Customer {
	if l == nil {
		return nil
	}
	return l.customers
}

// Get returns the customer with id.
func (l *List) Get(id string) (Customer, bool) {
	if l == nil {
		return Customer{}, false
	}
	i, ok := l.byID[id]
	if !ok {
		return Customer{}, false
	}
	return l.customers[i], true
}

// OnHost is the customers with a host, in file order.
func (l *List) OnHost(host string) []Customer { return l.pick(l.byHostIdx(host)) }

// OfComponent is the customers of a public component, in file order.
func (l *List) OfComponent(id string) []Customer {
	if l == nil {
		return nil
	}
	return l.pick(l.byComponent[id])
}

func (l *List) byHostIdx(host string) []int32 {
	if l == nil {
		return nil
	}
	return l.byHost[host]
}

func (l *List) pick(idx []int32) []Customer {
	out := make([]Customer, len(idx))
	for i, j := range idx {
		out[i] = l.customers[j]
	}
	return out
}

// Error is a refused customers file: which file, which line, what.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Limits of one row: a field longer than this is a mistake, not a name.
const (
	maxField = 1024
	maxHosts = 1000
)

// Parse reads a customers file. plan, when not nil, says whether a plan
// name is configured; a row with another plan is refused. file names the
// source in errors.
func Parse(r io.Reader, file string, plan func(string) bool) (*List, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = 0
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &Error{File: file, Line: 1, Msg: "empty: expected the header " + strings.Join(Columns, ",")}
	}
	if err != nil {
		return nil, csvError(file, err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, dup := col[h]; dup {
			return nil, &Error{File: file, Line: 1, Msg: fmt.Sprintf("column %q appears twice", h)}
		}
		col[h] = i
	}
	idx := make([]int, len(Columns))
	for i, c := range Columns {
		j, ok := col[c]
		if !ok {
			return nil, &Error{File: file, Line: 1, Msg: fmt.Sprintf("missing column %q (expected %s)", c, strings.Join(Columns, ","))}
		}
		idx[i] = j
	}
	l := &List{byID: map[string]int32{}, byHost: map[string][]int32{}, byComponent: map[string][]int32{}}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(file, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		c, err := row(rec, idx)
		if err != nil {
			return nil, &Error{File: file, Line: line, Msg: err.Error()}
		}
		if plan != nil && !plan(c.Plan) {
			return nil, &Error{File: file, Line: line, Msg: fmt.Sprintf("customer %q: unknown plan %q (no [[serve.sla]] has it)", c.ID, c.Plan)}
		}
		if prev, dup := l.byID[c.ID]; dup {
			return nil, &Error{File: file, Line: line, Msg: fmt.Sprintf("customer id %q used twice (first for %q)", c.ID, l.customers[prev].Name)}
		}
		n := int32(len(l.customers))
		l.byID[c.ID] = n
		for _, h := range c.Hosts {
			l.byHost[h] = append(l.byHost[h], n)
		}
		for _, k := range c.Components {
			l.byComponent[k] = append(l.byComponent[k], n)
		}
		l.customers = append(l.customers, c)
	}
	return l, nil
}

func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{File: file, Line: pe.Line, Msg: pe.Err.Error()}
	}
	return &Error{File: file, Msg: err.Error()}
}

// row reads one record, its columns at idx (in the order of Columns).
func row(rec []string, idx []int) (Customer, error) {
	get := func(i int) string {
		if idx[i] >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[idx[i]])
	}
	for i := range Columns {
		if len(get(i)) > maxField {
			return Customer{}, fmt.Errorf("%s is longer than %d bytes", Columns[i], maxField)
		}
	}
	if len(rec) < len(Columns) {
		return Customer{}, fmt.Errorf("expected %d fields (%s), got %d", len(Columns), strings.Join(Columns, ","), len(rec))
	}
	c := Customer{ID: get(0), Name: get(1), Email: get(2), Plan: get(5)}
	if err := c.checkContact(); err != nil {
		return c, err
	}
	if err := c.readPlaces(get(3), get(4)); err != nil {
		return c, err
	}
	if c.Plan == "" {
		return c, fmt.Errorf("customer %q: plan is empty", c.ID)
	}
	if f := get(6); f != "" {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || v < 0 || v > 1e12 || v != v {
			return c, fmt.Errorf("customer %q: monthly_fee must be a non-negative number, got %q", c.ID, f)
		}
		c.MonthlyFee = v
	}
	return c, nil
}

// checkContact checks who the customer is and how a message reaches them.
func (c *Customer) checkContact() error {
	if err := protocol.CheckID("id", c.ID); err != nil {
		return err
	}
	if c.Name == "" || !printable(c.Name) {
		return fmt.Errorf("customer %q: name must be printable text, got %q", c.ID, c.Name)
	}
	a, err := mail.ParseAddress(c.Email)
	if err != nil || a.Address != c.Email || a.Name != "" {
		return fmt.Errorf("customer %q: bad email address %q", c.ID, c.Email)
	}
	return nil
}

// readPlaces reads the customer's hosts and components, each a
// space-separated list, each name once.
func (c *Customer) readPlaces(hosts, components string) error {
	if c.Hosts = strings.Fields(hosts); len(c.Hosts) > maxHosts {
		return fmt.Errorf("customer %q: more than %d hosts", c.ID, maxHosts)
	}
	for _, h := range c.Hosts {
		if err := protocol.CheckID("host", h); err != nil {
			return fmt.Errorf("customer %q: %v", c.ID, err)
		}
	}
	c.Hosts = dedupe(c.Hosts)
	c.Components = dedupe(strings.Fields(components))
	for _, k := range c.Components {
		if err := protocol.CheckID("component", k); err != nil {
			return fmt.Errorf("customer %q: %v", c.ID, err)
		}
	}
	return nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\ufffd' {
			return false
		}
	}
	return true
}

func dedupe(s []string) []string {
	if len(s) < 2 {
		return s
	}
	out := s[:0]
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
