//go:build !unix

package probe

import "os/exec"

// killGroupOnCancel leaves exec's default, killing the command itself:
// without process groups its children may outlive the timeout.
func killGroupOnCancel(*exec.Cmd) {}
