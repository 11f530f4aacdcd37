package tui

import (
	"os"
	"strings"
	"testing"
)

// The README's key table must name every key of the keymap, so the two
// cannot drift apart.
func TestREADMEListsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	k := DefaultKeyMap()
	for _, group := range k.FullHelp() {
		for _, b := range group {
			name := b.Help().Key
			for _, part := range strings.Split(name, "/") {
				if part == "pgup" || part == "pgdn" {
					continue
				}
				if !strings.Contains(readme, "`"+part+"`") && !strings.Contains(readme, part+"`") {
					t.Errorf("README's keys section does not mention %q (%s)", part, b.Help().Desc)
				}
			}
		}
	}
}
