package ssh

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// A session's key is in the journal and the log beside its name: which
// key acted is never a guess afterwards.
func TestSessionKeyIsJournaledAndLogged(t *testing.T) {
	t.Parallel()
	need(t, "ssh", "tmux")
	f := startFixture(t, time.Hour, 0)
	data, err := os.ReadFile(f.keys["alice"])
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	fp := gossh.FingerprintSHA256(signer.PublicKey())
	x := f.openTmux("alice", f.sshArgs("alice"))
	x.waitFor("the dashboard", contains("INC-1"))
	want := "alice signed in over ssh with key " + fp + ", acting"
	eventually(t, "the sign-in journaled", func() bool {
		found := false
		f.jn.Range(1, f.hub.Seq(), func(m journal.Message) bool {
			msg, _ := m.Decode()
			if e, ok := msg.(*protocol.Entry); ok && e.Actor == "alice" && e.Text == want {
				found = true
			}
			return !found
		})
		return found
	})
	eventually(t, "the key in the log", func() bool {
		log, _ := os.ReadFile(filepath.Join(f.dir, "hub.log"))
		return strings.Contains(string(log), "ssh: session started") && strings.Contains(string(log), "key="+fp)
	})
}
