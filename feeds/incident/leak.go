package incident

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// ChannelSubscribers is the publish channel that mails the status page's
// subscribers (PROTOCOL.md, "Customers, subscribers, uptime").
const ChannelSubscribers = "subscribers"

// Public says whether channel reaches anyone who may read: the status
// page and its subscribers, where a host's name must never appear.
func Public(channel string) bool {
	return channel == protocol.ChannelPage || channel == ChannelSubscribers
}

// Internal is a name responders use and customers must not read: a host
// or a service the hub monitors.
type Internal struct {
	Kind string // "host" or "service"
	Name string
}

// InternalNamesIn returns the internal names text mentions as whole words
// (web-1 is not found in web-10), without case, each once, hosts first. A
// name that is also a public component's (a service called "mail" beside
// the component "Mail") is public wording and is not reported; nor is a
// one-letter name, which every sentence holds.
func InternalNamesIn(text string, names []Internal, public []protocol.Component) []Internal {
	lower := strings.ToLower(text)
	publicWords := map[string]bool{}
	for _, c := range public {
		publicWords[strings.ToLower(c.ID)] = true
		publicWords[strings.ToLower(c.Name)] = true
	}
	seen := map[Internal]bool{}
	var out []Internal
	for _, n := range names {
		name := strings.ToLower(strings.TrimSpace(n.Name))
		if utf8.RuneCountInString(name) < 2 || publicWords[name] || seen[Internal{n.Kind, name}] {
			continue
		}
		if containsWord(lower, name) {
			seen[Internal{n.Kind, name}] = true
			out = append(out, n)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Kind == "host" && out[j].Kind != "host" })
	return out
}

// containsWord reports whether word occurs in text with no name character
// (a letter, a digit, '-' or '_') right before or after it.
func containsWord(text, word string) bool {
	for from := 0; ; {
		i := strings.Index(text[from:], word)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(word)
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if (i == 0 || !nameRune(before)) && (end == len(text) || !nameRune(after)) {
			return true
		}
		from = i + 1
	}
}

func nameRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' }
