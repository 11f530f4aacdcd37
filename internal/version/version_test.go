package version

import (
	"runtime/debug"
	"testing"
)

func TestVersionLine(t *testing.T) {
	settings := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	tests := []struct {
		name string
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{"no info", nil, false, "vigil (no build information)"},
		{"release", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"},
			Settings: settings("vcs.revision", "abc123", "vcs.time", "2026-11-22T10:00:00Z", "vcs.modified", "false")},
			true, "vigil v1.2.0 revision abc123 2026-11-22T10:00:00Z go1.26.8"},
		{"dirty tree", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: settings("vcs.revision", "abc123", "vcs.modified", "true")},
			true, "vigil (devel) revision abc123 (modified) go1.26.8"},
		{"no vcs", &debug.BuildInfo{GoVersion: "go1.26.8"}, true, "vigil (devel) revision unknown (built without VCS information) go1.26.8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(tt.info, tt.ok); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
