package config

import (
	"strings"

	"github.com/BurntSushi/toml"
)

// locator finds the line of a key in TOML source. BurntSushi/toml reports
// lines for parse errors only; unknown keys and invalid values need them
// too, so this follows table headers and keys line by line.
type locator struct {
	keys []locatedKey
}

type locatedKey struct {
	table string // dotted table path
	index int    // which [[array]] element, or -1
	key   string // "" for the header line itself
	line  int
}

func newLocator(src string) *locator {
	l := &locator{}
	table, index := "", -1
	counts := map[string]int{}
	var inline *inlineScan
	for i, raw := range strings.Split(src, "\n") {
		if inline != nil {
			if inline.scan(l, raw, i+1) {
				inline = nil
			}
			continue
		}
		line := strings.TrimSpace(raw)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "[["):
			table = strings.TrimSpace(strings.Trim(strings.SplitN(line, "#", 2)[0], "[] \t"))
			index = counts[table]
			counts[table]++
			// An [[a.b]] element belongs to the newest [[a]] element; keep the
			// parent's index for keys of nested arrays.
			l.keys = append(l.keys, locatedKey{table: table, index: index, line: i + 1})
		case strings.HasPrefix(line, "["):
			table = strings.TrimSpace(strings.Trim(strings.SplitN(line, "#", 2)[0], "[] \t"))
			index = -1
			l.keys = append(l.keys, locatedKey{table: table, index: index, line: i + 1})
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			k = strings.Trim(strings.TrimSpace(k), `"'`)
			l.keys = append(l.keys, locatedKey{table: table, index: index, key: k, line: i + 1})
			if v = strings.TrimSpace(v); strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{") {
				inline = &inlineScan{table: joinKey(table, k), counts: counts, index: -1, expectKey: false}
				if inline.scan(l, v, i+1) {
					inline = nil
				}
			}
		}
	}
	return l
}

func joinKey(table, key string) string {
	if table == "" {
		return key
	}
	return table + "." + key
}

// inlineScan follows an array or inline table value across lines, so that
// the keys of inline tables (credits = [{below = 99.9, …}, …]) are located
// like those of [[array]] tables: each {…} of an array is one element,
// counted with the [[…]] elements of the same path.
type inlineScan struct {
	table            string
	counts           map[string]int
	brackets, braces int
	index            int
	expectKey        bool
	quote            byte
	key              strings.Builder
}

// scan reads one line (or the rest of the key's line) of the value and
// reports whether the value ended on it.
func (s *inlineScan) scan(l *locator, text string, line int) bool {
	for i := 0; i < len(text); i++ {
		c := text[i]
		if s.quote != 0 {
			i = s.quoted(text, i)
			continue
		}
		if c == '#' {
			return false
		}
		if s.structure(l, c, line) {
			continue
		}
		if s.expectKey && c != '{' {
			s.key.WriteByte(c)
		}
		if s.brackets == 0 && s.braces == 0 {
			return true
		}
	}
	return false
}

// quoted reads text[i] inside a string and returns the index read up to.
func (s *inlineScan) quoted(text string, i int) int {
	c := text[i]
	switch {
	case c == '\\' && s.quote == '"' && i+1 < len(text):
		if s.expectKey {
			s.key.WriteByte(c)
		}
		i++
		c = text[i]
	case c == s.quote:
		s.quote = 0
	}
	if s.expectKey {
		s.key.WriteByte(c)
	}
	return i
}

// structure follows c when it opens or closes something, or separates or
// ends a key; it reports whether c is consumed.
func (s *inlineScan) structure(l *locator, c byte, line int) bool {
	switch {
	case c == '"' || c == '\'':
		s.quote = c
	case c == '[':
		s.brackets++
	case c == ']':
		s.brackets--
	case c == '{':
		s.braces++
		if s.braces == 1 {
			s.open(l, line)
		}
	case c == '}':
		s.braces--
	case c == ',' && s.braces == 1 && s.brackets <= 1:
		s.expectKey = true
		return true
	case c == '=' && s.expectKey:
		key := strings.Trim(strings.TrimSpace(s.key.String()), `"'`)
		l.keys = append(l.keys, locatedKey{table: s.table, index: s.index, key: key, line: line})
		s.key.Reset()
		s.expectKey = false
		return true
	}
	return false
}

// open starts an inline table: an element of the array, or the value itself.
func (s *inlineScan) open(l *locator, line int) {
	s.index = -1
	if s.brackets > 0 {
		s.index = s.counts[s.table]
		s.counts[s.table]++
	}
	l.keys = append(l.keys, locatedKey{table: s.table, index: s.index, line: line})
	s.expectKey = true
	s.key.Reset()
}

// lineAt returns the line of key (table path then key) in the index-th
// element of an array of tables (index -1: a plain table), falling back to
// the table's header, or 0.
func (l *locator) lineAt(path []string, index int) int {
	if len(path) == 0 {
		return 0
	}
	table, key := strings.Join(path[:len(path)-1], "."), path[len(path)-1]
	header := 0
	for _, k := range l.keys {
		if k.table != table || (index >= 0 && k.index != index) {
			continue
		}
		if k.key == key {
			return k.line
		}
		if k.key == "" && header == 0 {
			header = k.line
		}
	}
	if header == 0 && index < 0 {
		// A top-level key or one in an unnamed position.
		for _, k := range l.keys {
			if k.table == table && k.key == key {
				return k.line
			}
		}
	}
	return header
}

// line returns the first line of an undecoded key.
func (l *locator) line(k toml.Key) int {
	if len(k) == 0 {
		return 0
	}
	table, key := strings.Join(k[:len(k)-1], "."), k[len(k)-1]
	for _, lk := range l.keys {
		if lk.table == table && lk.key == key {
			return lk.line
		}
	}
	// A whole unknown table: its header.
	full := k.String()
	for _, lk := range l.keys {
		if lk.table == full && lk.key == "" {
			return lk.line
		}
	}
	return 0
}
