// Package version says which vigil this is, from the build information.
package version

import "runtime/debug"

// Line is what vigil version prints: the module version, the VCS
// revision the binary was built from (and whether the tree had changes),
// and the Go that built it, all from the build information.
func Line(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "vigil (no build information)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, when string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	line := "vigil " + v
	if rev == "" {
		line += " revision unknown (built without VCS information)"
	} else {
		line += " revision " + rev
		if modified {
			line += " (modified)"
		}
		if when != "" {
			line += " " + when
		}
	}
	return line + " " + info.GoVersion
}
