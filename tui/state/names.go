package state

import (
	"sort"

	"github.com/vigil-oncall/vigil/feeds/incident"
)

// InternalNames are the hosts and services the dashboard knows: the
// names a text for customers must not carry. Hosts come from load
// reports and from the services checked on them; sorted, each once.
func (s *State) InternalNames() []incident.Internal {
	hosts := map[string]bool{}
	services := map[string]bool{}
	for name := range s.hosts {
		hosts[name] = true
	}
	for _, sv := range s.services {
		hosts[sv.Host] = true
		services[sv.Name] = true
	}
	out := make([]incident.Internal, 0, len(hosts)+len(services))
	for _, h := range sortedKeys(hosts) {
		out = append(out, incident.Internal{Kind: "host", Name: h})
	}
	for _, sv := range sortedKeys(services) {
		out = append(out, incident.Internal{Kind: "service", Name: sv})
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
