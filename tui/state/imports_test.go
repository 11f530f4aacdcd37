package state

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// The reducer takes plain values: it must not pull the transport (the
// feeds client, with its WebSocket and TLS) or the terminal into itself.
func TestReducerImportsNoTransport(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			for _, banned := range []string{"feeds/client", "websocket", "crypto/tls", "bubbletea", "net/http"} {
				if strings.Contains(path, banned) {
					t.Errorf("%s imports %s: the reducer must stay free of transport and terminal", f, path)
				}
			}
		}
	}
}
