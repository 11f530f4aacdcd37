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
	for i, raw := range strings.Split(src, "\n") {
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
			k, _, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			k = strings.Trim(strings.TrimSpace(k), `"'`)
			l.keys = append(l.keys, locatedKey{table: table, index: index, key: k, line: i + 1})
		}
	}
	return l
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
