package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// badConfigs are files check-config must refuse as vigil serve would, each
// with the file:line: key its message must name. %[1]s is a directory the
// test owns.
var badConfigs = []struct {
	name, src, where, want string
}{
	{"unclosed template", "[serve]\ndata_dir = \"%[1]s/data\"\nprobe_load = false\n\n[[runbooks]]\nkind = \"outage\"\n[[runbooks.steps]]\nid = \"tell\"\ntemplate = \"{{.Title\"\n",
		":9: runbooks.steps.template", "unclosed action"},
	{"template naming no field", "[serve]\ndata_dir = \"%[1]s/data\"\n[[runbooks]]\nkind = \"outage\"\n[[runbooks.steps]]\nid = \"tell\"\ntemplate = \"{{.Titel}}\"\n",
		":7: runbooks.steps.template", "Titel"},
	{"port out of range", "[serve]\nlisten = \"127.0.0.1:99999\"\ndata_dir = \"%[1]s/data\"\n",
		":2: serve.listen", "127.0.0.1:99999"},
	{"ssh port out of range", "[serve]\ndata_dir = \"%[1]s/data\"\n[serve.ssh]\nlisten = \"127.0.0.1:70000\"\nauthorized_keys = \"%[1]s/keys\"\n",
		":4: serve.ssh.listen", "127.0.0.1:70000"},
	{"unset serve token", "[serve]\ndata_dir = \"%[1]s/data\"\ntoken_env = [\"VIGIL_CHECK_UNSET\"]\n",
		":3: serve.token_env", "$VIGIL_CHECK_UNSET is unset or empty"},
	{"unset agent token", "[serve]\ndata_dir = \"%[1]s/data\"\n\n[[serve.agents]]\nhosts = [\"web-*\"]\ntoken_env = \"VIGIL_CHECK_UNSET\"\n",
		":6: serve.agents.token_env", "$VIGIL_CHECK_UNSET"},
	{"unset alertmanager token", "[serve]\ndata_dir = \"%[1]s/data\"\n[serve.alertmanager]\ntoken_env = \"VIGIL_CHECK_UNSET\"\n",
		":4: serve.alertmanager.token_env", "$VIGIL_CHECK_UNSET"},
	{"unset channel secret", "[serve]\ndata_dir = \"%[1]s/data\"\n[[serve.channels]]\nname = \"chat\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:1/hook\"\nsecret_env = \"VIGIL_CHECK_UNSET\"\n",
		":7: serve.channels.secret_env", "$VIGIL_CHECK_UNSET"},
	{"unset report token", "[serve]\n[serve.report]\nurls = [\"ws://127.0.0.1:1/feed\"]\ntoken_env = \"VIGIL_CHECK_UNSET\"\n",
		":4: serve.report.token_env", "$VIGIL_CHECK_UNSET"},
	{"unset feed token", "[[feeds]]\nname = \"hub\"\nurl = \"ws://127.0.0.1:1/feed\"\ntoken_env = \"VIGIL_CHECK_UNSET\"\n",
		":4: feeds.token_env", "$VIGIL_CHECK_UNSET"},
	{"missing authorized_keys", "[serve]\ndata_dir = \"%[1]s/data\"\n[serve.ssh]\nlisten = \"127.0.0.1:0\"\nauthorized_keys = \"%[1]s/nokeys\"\n",
		":5: serve.ssh.authorized_keys", "nokeys"},
	{"authorized_keys not OpenSSH", "[serve]\ndata_dir = \"%[1]s/data\"\n[serve.ssh]\nlisten = \"127.0.0.1:0\"\nauthorized_keys = \"%[1]s/vigil.toml\"\n",
		":5: serve.ssh.authorized_keys", "not an OpenSSH public key line"},
	{"two keys named carol", "[serve]\ndata_dir = \"%[1]s/data\"\n[serve.ssh]\nlisten = \"127.0.0.1:0\"\nauthorized_keys = \"%[1]s/keys\"\nread_only_keys = \"%[1]s/keys2\"\n",
		":6: serve.ssh.read_only_keys", "\"carol\" is already the name of another key"},
	{"missing TLS files", "[serve]\ndata_dir = \"%[1]s/data\"\ntls_cert = \"%[1]s/cert.pem\"\ntls_key = \"%[1]s/key.pem\"\n",
		":3: serve.tls_cert", "cert.pem"},
	{"missing feed CA", "[[feeds]]\nname = \"hub\"\nurl = \"wss://127.0.0.1:1/feed\"\nca_file = \"%[1]s/ca.pem\"\n",
		":4: feeds.ca_file", "ca.pem"},
	{"report CA not PEM", "[serve.report]\nurls = [\"wss://127.0.0.1:1/feed\"]\ntoken_env = \"VIGIL_CHECK_SET\"\nca_file = \"%[1]s/keys\"\n",
		":4: serve.report.ca_file", "no PEM certificate"},
	{"data_dir a file", "[serve]\ndata_dir = \"%[1]s/keys/data\"\n",
		":2: serve.data_dir", "not a directory"},
	{"inline check", "[serve]\ndata_dir = \"%[1]s/data\"\nchecks = [\n  {name = \"web\", type = \"tcp\", target = \"127.0.0.1:80\"},\n  {name = \"db\",\n   type = \"udp\", target = \"x\"},\n]\n",
		":6: serve.checks.type", "udp"},
}

// writeBadConfig writes one of badConfigs into dir, beside an
// authorized_keys file (keys) that is not a CA.
func writeBadConfig(t *testing.T, dir, src string) string {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "keys"), []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1lT3QFWT2Dd2mUQmW1dvOXnD0bdDZpBiPPGMAKzUKw carol\n"), 0o600)
	// another key claiming carol's name
	os.WriteFile(filepath.Join(dir, "keys2"), []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKT0f/QZLf176yPabouo7t2WF388nt5sR2dMmrNMsoKi carol\n"), 0o600)
	path := filepath.Join(dir, "vigil.toml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(src, "%[1]s", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheckConfigRefusesWhatServeRefuses: check-config exits 2 on every
// bad file, naming file, line and key, and serve refuses the same file
// with the same words before it binds anything.
func TestCheckConfigRefusesWhatServeRefuses(t *testing.T) {
	t.Setenv("VIGIL_CHECK_UNSET", "")
	t.Setenv("VIGIL_CHECK_SET", "s3cret")
	for _, tt := range badConfigs {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeBadConfig(t, dir, tt.src)
			code, out, errOut := runCLI("check-config", path)
			if code != exitUsage || !strings.Contains(errOut, path+tt.where+": ") || !strings.Contains(errOut, tt.want) {
				t.Fatalf("check-config: exit %d (want 2, %s%s: … %s)\nstdout: %s\nstderr: %s", code, path, tt.where, tt.want, out, errOut)
			}
			if strings.HasPrefix(tt.name, "unset feed") || strings.HasPrefix(tt.name, "missing feed") {
				return // the dashboard's part: serve does not read it
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var sout, serr bytes.Buffer
			code = run(ctx, []string{"serve", "--config", path}, &sout, &serr)
			if code != exitUsage || !strings.Contains(serr.String(), path+tt.where+": ") || strings.Contains(serr.String(), "serving") {
				t.Fatalf("serve: exit %d (want 2, %s%s)\nstderr: %s", code, path, tt.where, serr.String())
			}
			if segs, _ := filepath.Glob(filepath.Join(dir, "data", "journal-*")); len(segs) != 0 {
				t.Fatalf("the journal was opened before the refusal: %v", segs)
			}
		})
	}
}

// TestServeNamesTheListenKeyWhenBindFails: an address check-config cannot
// know is taken (another process holds it) stops serve with the key named.
func TestServeNamesTheListenKeyWhenBindFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Held from the start: an address let go and taken again could be
	// another test's in between.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := ln.Addr().String()
	path := filepath.Join(dir, "vigil.toml")
	os.WriteFile(path, []byte(fmt.Sprintf("[serve]\nprobe_load = false\nlisten = %q\ndata_dir = %q\n", held, filepath.Join(dir, "data"))), 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"serve", "--config", path}, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), path+":3: serve.listen: ") || strings.Contains(errb.String(), "serving") {
		t.Fatalf("exit %d\nstderr: %s", code, errb.String())
	}
}
