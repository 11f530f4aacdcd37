package tui

import (
	"reflect"
	"testing"
	"unsafe"

	"charm.land/bubbles/v2/key"
)

// bindings is every key.Binding of a KeyMap, by field name, embedded
// pane keymaps included.
func bindings(v reflect.Value, out map[string]key.Binding) {
	for i := 0; i < v.NumField(); i++ {
		ft := v.Type().Field(i)
		// The pane keymaps are unexported embedded fields: read them
		// through their address, as reflect will not hand them out.
		f := reflect.NewAt(ft.Type, unsafe.Pointer(v.Field(i).UnsafeAddr())).Elem()
		if b, ok := f.Interface().(key.Binding); ok {
			out[ft.Name] = b
		} else if ft.Anonymous {
			bindings(f, out)
		}
	}
}

func allBindings(k KeyMap) map[string]key.Binding {
	out := map[string]key.Binding{}
	bindings(reflect.ValueOf(&k).Elem(), out)
	return out
}

// A pane's bindings answer whatever has the focus, so two bindings on one
// key would leave the second dead.
func TestNoKeyIsBoundTwice(t *testing.T) {
	owner := map[string]string{}
	for name, b := range allBindings(DefaultKeyMap()) {
		for _, k := range b.Keys() {
			if other, ok := owner[k]; ok {
				t.Errorf("key %q is bound to both %s and %s", k, other, name)
			}
			owner[k] = name
		}
	}
}

// Every binding shows in the ? overlay once, and every one the root
// answers does something: a key added to a pane's keymap without help or
// without a handler fails here.
func TestEveryBindingHasHelpAndAHandler(t *testing.T) {
	k := DefaultKeyMap()
	all := allBindings(k)
	shown := map[string]int{}
	for _, col := range k.FullHelp() {
		for _, b := range col {
			shown[b.Help().Desc]++
		}
	}
	handled := map[string]bool{}
	for _, h := range rootKeys {
		handled[h.binding(&k).Help().Desc] = true
	}
	for name, b := range all {
		if n := shown[b.Help().Desc]; n != 1 {
			t.Errorf("%s shows %d times in the full help, want once", name, n)
		}
		if !handled[b.Help().Desc] {
			t.Errorf("%s has no handler", name)
		}
	}
	if len(rootKeys) != len(all) {
		t.Errorf("%d handlers for %d bindings", len(rootKeys), len(all))
	}
}
