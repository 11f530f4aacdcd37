// Package journaltest holds the tests every journal.Backend passes,
// whatever keeps it: the file journal and the cluster's JetStream stream
// run the same ones (a backend's own failure modes are tested beside it).
package journaltest

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// Opener opens the backend whose data lives in dir: the first time an
// empty one, after Close the same one again.
type Opener func(t testing.TB, dir string) journal.Backend

// Run runs every test against the backend open opens.
func Run(t *testing.T, open Opener) {
	t.Run("AppendReopenKeepsEverything", func(t *testing.T) { appendReopen(t, open) })
	t.Run("ReadsAgreeAcrossReopen", func(t *testing.T) { readsAgree(t, open) })
	t.Run("SeqAtFindsTheWindow", func(t *testing.T) { seqAt(t, open) })
}

// durability follows a backend's OnDurable reports so a test can wait.
type durability struct {
	mu   sync.Mutex
	cond *sync.Cond
	seq  uint64
	err  error
}

func follow(b journal.Backend) *durability {
	d := &durability{}
	d.cond = sync.NewCond(&d.mu)
	b.OnDurable(func(msgs []journal.Message, err error) {
		d.mu.Lock()
		if err != nil {
			d.err = err
		} else {
			d.seq = msgs[len(msgs)-1].Seq
		}
		d.cond.Broadcast()
		d.mu.Unlock()
	})
	return d
}

func (d *durability) wait(seq uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.seq < seq && d.err == nil {
		d.cond.Wait()
	}
	return d.err
}

func note(incident, text string) *protocol.Entry {
	return &protocol.Entry{Incident: incident, At: protocol.At(time.Now()), Actor: "alice", Kind: "note", Text: text}
}

func incidentFrame(id, status string) *protocol.IncidentMsg {
	return &protocol.IncidentMsg{Incident: protocol.Incident{ID: id, Title: "t " + id, Status: status, OpenedAt: protocol.At(time.Now())}}
}

func appendWait(t testing.TB, b journal.Backend, d *durability, cmd string, msgs ...protocol.Message) []journal.Message {
	t.Helper()
	out, err := b.Append(cmd, msgs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.wait(out[len(out)-1].Seq); err != nil {
		t.Fatal(err)
	}
	return out
}

func texts(t testing.TB, b journal.Backend, from, to uint64) string {
	t.Helper()
	var out []string
	err := b.Range(from, to, func(m journal.Message) bool {
		msg, err := m.Decode()
		if err != nil {
			t.Fatal(err)
		}
		switch v := msg.(type) {
		case *protocol.Entry:
			out = append(out, fmt.Sprintf("%d:%s", m.Seq, v.Text))
		case *protocol.IncidentMsg:
			out = append(out, fmt.Sprintf("%d:%s/%s", m.Seq, v.Incident.ID, v.Incident.Status))
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}

func appendReopen(t *testing.T, open Opener) {
	dir := t.TempDir()
	b := open(t, dir)
	d := follow(b)
	id := b.ID()
	appendWait(t, b, d, "c-1", note("INC-1", "one"), incidentFrame("INC-1", "investigating"))
	appendWait(t, b, d, "", note("", "two"))
	b.Close()
	b = open(t, dir)
	defer b.Close()
	if b.ID() != id || b.Seq() != 3 || b.Oldest() != 1 {
		t.Fatalf("reopened: id %s seq %d oldest %d", b.ID(), b.Seq(), b.Oldest())
	}
	if seq, ok := b.Applied("c-1"); !ok || seq != 2 {
		t.Fatalf("applied c-1 = %d %v", seq, ok)
	}
	if got := texts(t, b, 1, 3); got != "1:one 2:INC-1/investigating 3:two" {
		t.Fatalf("messages = %s", got)
	}
	if got := texts(t, b, 3, 3); got != "3:two" {
		t.Fatalf("messages from 3 = %s", got)
	}
	d = follow(b)
	if out := appendWait(t, b, d, "c-2", note("", "three")); out[0].Seq != 4 {
		t.Fatalf("appended after reopen at %d", out[0].Seq)
	}
}

// history appends n records, pipelined: every 7th belongs to one of 5
// incidents (an entry, and every 3rd an incident frame too), the rest to
// none; each has a command id.
func history(t testing.TB, b journal.Backend, d *durability, n int) (incidents map[string][]uint64, heads map[string]uint64) {
	incidents, heads = map[string][]uint64{}, map[string]uint64{}
	var last uint64
	for i := 1; i <= n; i++ {
		cmd := fmt.Sprintf("c-%d", i)
		msgs := []protocol.Message{note("", fmt.Sprintf("fleet %d", i))}
		id := fmt.Sprintf("INC-%d", i%5+1)
		if i%7 == 0 {
			msgs = []protocol.Message{note(id, fmt.Sprintf("note %d", i))}
			if i%3 == 0 {
				msgs = append(msgs, incidentFrame(id, fmt.Sprintf("s%d", i)))
			}
		}
		out, err := b.Append(cmd, msgs...)
		if err != nil {
			t.Fatal(err)
		}
		last = out[len(out)-1].Seq
		if i%7 != 0 {
			continue
		}
		for _, m := range out {
			incidents[id] = append(incidents[id], m.Seq)
			if _, ok := m.Msg.(*protocol.IncidentMsg); ok {
				heads[id] = m.Seq
			}
		}
	}
	if err := d.wait(last); err != nil {
		t.Fatal(err)
	}
	return incidents, heads
}

func checkReads(t *testing.T, b journal.Backend, incidents map[string][]uint64, heads map[string]uint64, n int) {
	t.Helper()
	var want, got []string
	for s := 100; s <= 350; s++ {
		want = append(want, strconv.Itoa(s))
	}
	b.Range(100, 350, func(m journal.Message) bool { got = append(got, strconv.FormatUint(m.Seq, 10)); return true })
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("range 100-350 = %v", got)
	}
	for id, seqs := range incidents {
		if fmt.Sprint(b.IncidentSeqs(id)) != fmt.Sprint(seqs) {
			t.Fatalf("%s seqs = %v, want %v", id, b.IncidentSeqs(id), seqs)
		}
		var read []uint64
		if err := b.Seqs(seqs, func(m journal.Message) bool {
			msg, err := m.Decode()
			if err != nil {
				t.Fatal(err)
			}
			in := ""
			switch v := msg.(type) {
			case *protocol.Entry:
				in = v.Incident
			case *protocol.IncidentMsg:
				in = v.Incident.ID
			}
			_, isIncident := msg.(*protocol.IncidentMsg)
			if in != id || m.IsIncident() != isIncident {
				t.Fatalf("seq %d belongs to %q, not %s", m.Seq, in, id)
			}
			read = append(read, m.Seq)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(read) != fmt.Sprint(seqs) {
			t.Fatalf("%s read %v", id, read)
		}
	}
	hs := b.Heads()
	if len(hs) != len(heads) {
		t.Fatalf("%d heads, want %d", len(hs), len(heads))
	}
	for _, h := range hs {
		id := h.Msg.(*protocol.IncidentMsg).Incident.ID
		if heads[id] != h.Seq {
			t.Fatalf("head of %s at %d, want %d", id, h.Seq, heads[id])
		}
	}
	for _, i := range []int{1, 2, n / 2, n - 1, n} {
		if seq, ok := b.Applied(fmt.Sprintf("c-%d", i)); !ok || seq == 0 {
			t.Fatalf("c-%d not applied", i)
		}
	}
	if _, ok := b.Applied("c-never"); ok {
		t.Fatal("an id never applied was found")
	}
}

func readsAgree(t *testing.T, open Opener) {
	dir := t.TempDir()
	b := open(t, dir)
	d := follow(b)
	const n = 600
	incidents, heads := history(t, b, d, n)
	checkReads(t, b, incidents, heads, n)
	b.Close()
	b = open(t, dir)
	defer b.Close()
	checkReads(t, b, incidents, heads, n)
}

func seqAt(t *testing.T, open Opener) {
	b := open(t, t.TempDir())
	defer b.Close()
	d := follow(b)
	for i := 1; i <= 10; i++ {
		appendWait(t, b, d, "", note("", strconv.Itoa(i)))
	}
	// Clocks here have milliseconds: keep the boundary clear of both sides.
	time.Sleep(20 * time.Millisecond)
	boundary := time.Now()
	time.Sleep(20 * time.Millisecond)
	for i := 11; i <= 20; i++ {
		appendWait(t, b, d, "", note("", strconv.Itoa(i)))
	}
	if got := b.SeqAt(boundary); got != 11 {
		t.Fatalf("SeqAt(boundary) = %d, want 11", got)
	}
	if got := b.SeqAt(boundary.Add(-time.Hour)); got != 1 {
		t.Fatalf("SeqAt(an hour before) = %d", got)
	}
	if got := b.SeqAt(time.Now().Add(time.Hour)); got != 21 {
		t.Fatalf("SeqAt(after the end) = %d", got)
	}
}
