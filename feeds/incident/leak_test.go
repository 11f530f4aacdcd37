package incident

import (
	"reflect"
	"testing"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func TestInternalNamesIn(t *testing.T) {
	names := []Internal{{"service", "mysql"}, {"host", "web-1"}, {"host", "db1.example.com"}, {"service", "mail"}, {"host", "vm"}, {"host", "a"}}
	public := []protocol.Component{{ID: "mail", Name: "Mail"}}
	tests := []struct {
		text string
		want []Internal
	}{
		{"Disruption to Mail\nWe are investigating.", nil},
		{"MySQL down on web-1, sites erroring", []Internal{{"host", "web-1"}, {"service", "mysql"}}},
		{"web-10 is slow", nil},
		{"the rack of xweb-1", nil},
		{"(web-1)", []Internal{{"host", "web-1"}}},
		{"WEB-1.", []Internal{{"host", "web-1"}}},
		{"db1.example.com is back", []Internal{{"host", "db1.example.com"}}},
		{"db1.example.community", nil},
		{"a vm is down", []Internal{{"host", "vm"}}},
		{"a b c", nil}, // one letter: every sentence has them
		{"mysqld restarted", nil},
		{"web-1 web-1 web-1", []Internal{{"host", "web-1"}}},
	}
	for _, tt := range tests {
		if got := InternalNamesIn(tt.text, names, public); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("InternalNamesIn(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}

func TestPublicChannels(t *testing.T) {
	for ch, want := range map[string]bool{"page": true, "subscribers": true, "ops-mail": false, "webhook": false} {
		if Public(ch) != want {
			t.Errorf("Public(%q) = %v", ch, !want)
		}
	}
}

func FuzzInternalNamesIn(f *testing.F) {
	f.Add("MySQL down on web-1", "web-1")
	f.Fuzz(func(t *testing.T, text, name string) {
		got := InternalNamesIn(text, []Internal{{"host", name}}, nil)
		if len(got) > 1 {
			t.Fatalf("%q reported %d times", name, len(got))
		}
	})
}
