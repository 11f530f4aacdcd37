// Package testprog finds the real programs vigil's tests drive (tmux, the
// OpenSSH client, node_exporter, Alertmanager). Where one is missing a
// test skips and says what to install; in CI (CI=true, or
// VIGIL_REQUIRE_TMUX set, as .ci/run does) it fails instead, so a test
// can never pass there by not running.
package testprog

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Need returns the path of program name, installed by Debian's package
// pkg, or ends the test as the package says.
func Need(t testing.TB, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not installed: this test drives the real program (apt-get install %s to run it)", name, pkg)
	if os.Getenv("CI") == "true" || os.Getenv("VIGIL_REQUIRE_TMUX") != "" {
		t.Fatal(msg + "; CI must have it")
	}
	t.Skip(msg)
	return ""
}
