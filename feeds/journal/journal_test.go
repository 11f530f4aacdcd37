package journal

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// backends are the journal kinds the same tests run against: the file
// journal now, a replicated one beside it later.
var backends = []struct {
	name string
	open func(t testing.TB, dir string, opts Options) Backend
}{
	{"file", func(t testing.TB, dir string, opts Options) Backend {
		t.Helper()
		j, _, err := OpenWith(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}},
}

// durability follows a backend's OnDurable reports so a test can wait.
type durability struct {
	mu   sync.Mutex
	cond *sync.Cond
	seq  uint64
	err  error
}

func follow(b Backend) *durability {
	d := &durability{}
	d.cond = sync.NewCond(&d.mu)
	b.OnDurable(func(msgs []Message, err error) {
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

// appendWait appends one record and waits until it is durable.
func appendWait(t testing.TB, b Backend, d *durability, cmd string, msgs ...protocol.Message) []Message {
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

func texts(t testing.TB, b Backend, from, to uint64) []string {
	t.Helper()
	var out []string
	err := b.Range(from, to, func(m Message) bool {
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
	return out
}

// history builds a journal of n records over small segments: every 7th
// record belongs to one of 5 incidents (an entry, and every 3rd an
// incident frame as well), the rest to none; each has a command id.
func history(t testing.TB, b Backend, d *durability, n int) (incidents map[string][]uint64, heads map[string]uint64) {
	incidents, heads = map[string][]uint64{}, map[string]uint64{}
	for i := 1; i <= n; i++ {
		cmd := fmt.Sprintf("c-%d", i)
		if i%7 != 0 {
			if _, err := b.Append(cmd, note("", fmt.Sprintf("fleet %d", i))); err != nil {
				t.Fatal(err)
			}
			continue
		}
		id := fmt.Sprintf("INC-%d", i%5+1)
		msgs := []protocol.Message{note(id, fmt.Sprintf("note %d", i))}
		if i%3 == 0 {
			msgs = append(msgs, incidentFrame(id, fmt.Sprintf("s%d", i)))
		}
		out, err := b.Append(cmd, msgs...)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out {
			incidents[id] = append(incidents[id], m.Seq)
			if _, ok := m.Msg.(*protocol.IncidentMsg); ok {
				heads[id] = m.Seq
			}
		}
	}
	if err := d.wait(b.(interface{ nextSeq() uint64 }).nextSeq() - 1); err != nil {
		t.Fatal(err)
	}
	return incidents, heads
}

func (j *Journal) nextSeq() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.next
}

func checkReads(t *testing.T, b Backend, incidents map[string][]uint64, heads map[string]uint64, n int) {
	t.Helper()
	want := []string{}
	for s := 100; s <= 350; s++ {
		want = append(want, strconv.Itoa(s))
	}
	var got []string
	b.Range(100, 350, func(m Message) bool { got = append(got, strconv.FormatUint(m.Seq, 10)); return true })
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("range 100-350 = %v", got)
	}
	for id, seqs := range incidents {
		if fmt.Sprint(b.IncidentSeqs(id)) != fmt.Sprint(seqs) {
			t.Fatalf("%s seqs = %v, want %v", id, b.IncidentSeqs(id), seqs)
		}
		var read []uint64
		if err := b.Seqs(seqs, func(m Message) bool {
			msg, err := m.Decode()
			if err != nil {
				t.Fatal(err)
			}
			_, isIncident := msg.(*protocol.IncidentMsg)
			if in := incidentOfMsg(msg); in != id || m.IsIncident() != isIncident {
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

func incidentOfMsg(m protocol.Message) string {
	switch v := m.(type) {
	case *protocol.Entry:
		return v.Incident
	case *protocol.IncidentMsg:
		return v.Incident.ID
	}
	return ""
}

func TestSegmentsIndexesAndReadsAgree(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{SegmentBytes: 8 << 10}
			b := be.open(t, dir, opts)
			d := follow(b)
			const n = 600
			incidents, heads := history(t, b, d, n)
			checkReads(t, b, incidents, heads, n)
			b.Close()
			segs, _ := filepath.Glob(filepath.Join(dir, "journal-*.wal"))
			if len(segs) < 4 {
				t.Fatalf("only %d segments at 8 KiB each", len(segs))
			}
			// From the index files...
			b = be.open(t, dir, opts)
			checkReads(t, b, incidents, heads, n)
			b.Close()
			// ...and with every index lost: the same answers, from the segments.
			for _, pat := range []string{"*.idx", "*.ids"} {
				files, _ := filepath.Glob(filepath.Join(dir, pat))
				for _, f := range files {
					os.Remove(f)
				}
			}
			b = be.open(t, dir, opts)
			defer b.Close()
			checkReads(t, b, incidents, heads, n)
			// And it goes on appending where it was.
			d = follow(b)
			before := b.Seq()
			out := appendWait(t, b, d, "c-after", note("", "after"))
			if out[0].Seq != before+1 || b.Seq() != before+1 {
				t.Fatalf("appended at %d after %d, seq now %d", out[0].Seq, before, b.Seq())
			}
		})
	}
}

func TestSeqAtFindsTheWindow(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			var mu sync.Mutex
			clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
			b := be.open(t, t.TempDir(), Options{SegmentBytes: 16 << 10, Now: now})
			defer b.Close()
			d := follow(b)
			for i := 1; i <= 1000; i++ {
				mu.Lock()
				clock = clock.Add(time.Minute)
				mu.Unlock()
				appendWait(t, b, d, "", note("", strconv.Itoa(i)))
			}
			// Record i was appended at minute i.
			for _, i := range []int{1, 200, 500, 999, 1000} {
				at := time.Date(2026, 1, 1, 0, i, 0, 0, time.UTC)
				got := b.SeqAt(at)
				if got != uint64(i) {
					t.Fatalf("SeqAt(minute %d) = %d", i, got)
				}
			}
			if got := b.SeqAt(clock.Add(time.Hour)); got != 1001 {
				t.Fatalf("SeqAt(after the end) = %d", got)
			}
		})
	}
}

// gatedFile holds every fsync until the test lets it go, and counts them.
type gatedFile struct {
	File
	entered chan struct{}
	release chan struct{}
	mu      sync.Mutex
	syncs   int
}

func (g *gatedFile) Sync() error {
	g.mu.Lock()
	g.syncs++
	g.mu.Unlock()
	g.entered <- struct{}{}
	<-g.release
	return g.File.Sync()
}

func TestOneFsyncCoversWhatArrivedDuringThePrevious(t *testing.T) {
	var gate *gatedFile
	entered, release := make(chan struct{}), make(chan struct{})
	j, _, err := OpenWith(t.TempDir(), Options{WrapFile: func(f File) File {
		gate = &gatedFile{File: f, entered: entered, release: release}
		return gate
	}})
	if err != nil {
		t.Fatal(err)
	}
	d := follow(j)
	j.Append("c-0", note("", "first"))
	<-entered // the first fsync runs...
	for i := 1; i <= 9; i++ {
		if _, err := j.Append(fmt.Sprintf("c-%d", i), note("", strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	if j.Seq() != 0 {
		t.Fatal("a record was durable before its fsync returned")
	}
	release <- struct{}{} // ...and ends; the nine that waited go in one more
	<-entered
	if d.seq != 1 {
		t.Fatalf("durable %d while the second fsync runs", d.seq)
	}
	release <- struct{}{}
	if err := d.wait(10); err != nil {
		t.Fatal(err)
	}
	if gate.syncs != 2 {
		t.Fatalf("%d fsyncs for 10 records", gate.syncs)
	}
	done := make(chan struct{})
	go func() { j.Close(); close(done) }()
	<-done
}

type failingFile struct {
	File
	syncErr error
}

func (f *failingFile) Sync() error {
	if f.syncErr != nil {
		return f.syncErr
	}
	return f.File.Sync()
}

func TestFailedFsyncStopsTheJournal(t *testing.T) {
	dir := t.TempDir()
	var ff *failingFile
	j, _, err := OpenWith(dir, Options{WrapFile: func(f File) File { ff = &failingFile{File: f}; return ff }})
	if err != nil {
		t.Fatal(err)
	}
	d := follow(j)
	appendWait(t, j, d, "c-1", note("", "kept"))
	ff.syncErr = errors.New("input/output error")
	out, err := j.Append("c-2", note("", "unknown"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.wait(out[0].Seq); err == nil || !errors.Is(j.Failed(), ErrFailed) {
		t.Fatalf("fsync failure reported %v, journal %v", err, j.Failed())
	}
	ff.syncErr = nil // the disk seems fine again: the journal still refuses
	if _, err := j.Append("c-3", note("", "after")); !errors.Is(err, ErrFailed) {
		t.Fatalf("append after a failed fsync: %v", err)
	}
	if _, ok := j.Applied("c-2"); ok {
		t.Fatal("a command whose fsync failed is taken as applied")
	}
	j.Close()
	// Reopened and verified: what was durable is there, and only that.
	j2, rec, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if j2.Seq() != 1 || rec.TornBytes != 0 {
		t.Fatalf("after reopen: seq %d, %+v", j2.Seq(), rec)
	}
	d2 := follow(j2)
	appendWait(t, j2, d2, "c-3", note("", "after"))
}

func activeSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "journal-*.wal"))
	if len(segs) == 0 {
		t.Fatal("no segment")
	}
	return segs[len(segs)-1]
}

func TestTornTailIsKeptThenCut(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := Open(dir)
	d := follow(j)
	appendWait(t, j, d, "c-1", note("", "kept"))
	j.Close()
	torn := `1234abcd {"seq":2,"t":1,"cmd":"c-2","msgs":[{"type":"entry","seq":2,"te`
	f, _ := os.OpenFile(activeSegment(t, dir), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(torn)
	f.Close()
	j, rec, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rec.TornLine != 3 || rec.TornBytes != len(torn) || j.Seq() != 1 {
		t.Fatalf("rec %+v seq %d", rec, j.Seq())
	}
	if kept, err := os.ReadFile(rec.TornCopy); err != nil || string(kept) != torn || filepath.Dir(rec.TornCopy) != dir {
		t.Fatalf("torn copy %s: %q %v", rec.TornCopy, kept, err)
	}
	d = follow(j)
	appendWait(t, j, d, "c-3", note("", "after"))
	j.Close()
	j, rec, err = Open(dir)
	if err != nil || rec.TornBytes != 0 || j.Seq() != 2 {
		t.Fatalf("after repair: %v %+v seq %d", err, rec, j.Seq())
	}
	j.Close()
}

func TestDamageBeforeTheEndRefusesToStart(t *testing.T) {
	for name, damage := range map[string]func(line string) string{
		// Still JSON, still plausible: only the checksum tells.
		"changed text": func(l string) string { return strings.Replace(l, `"text":"a"`, `"text":"b"`, 1) },
		"garbage":      func(string) string { return "garbage" },
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			j, _, _ := Open(dir)
			d := follow(j)
			appendWait(t, j, d, "", note("", "a"))
			appendWait(t, j, d, "", note("", "b"))
			j.Close()
			path := activeSegment(t, dir)
			data, _ := os.ReadFile(path)
			lines := strings.Split(string(data), "\n")
			lines[1] = damage(lines[1])
			os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o640)
			if _, _, err := Open(dir); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "line 2") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestWholeRecordWithTheWrongSeqIsDamageNotTorn(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := Open(dir)
	d := follow(j)
	appendWait(t, j, d, "", note("", "a"))
	j.Close()
	// What a second server on the same directory would have written: a
	// whole, checksummed record reusing seq 1.
	f, _ := os.OpenFile(activeSegment(t, dir), os.O_APPEND|os.O_WRONLY, 0)
	frame := protocol.MustEncode(&protocol.Entry{Seq: 1, Text: "second writer", Kind: "note"})
	f.Write(encodeRecord(nil, 1, 1, "", [][]byte{frame}))
	f.Close()
	if _, _, err := Open(dir); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "seq 1 where 2 was due") {
		t.Fatalf("err = %v", err)
	}
}

// format1 writes a journal as format 1 wrote it: journal.jsonl, a header
// line, then {"cmd","msgs"} lines without checksums.
func writeFormat1(t *testing.T, dir string, tail string) {
	t.Helper()
	at := protocol.At(time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC))
	e1 := protocol.MustEncode(&protocol.Entry{Seq: 1, Incident: "INC-1", At: at, Actor: "alice", Kind: "system", Text: "declared"})
	i2 := protocol.MustEncode(&protocol.IncidentMsg{Seq: 2, Incident: protocol.Incident{ID: "INC-1", Title: "Mail down", Severity: "SEV2", Status: "investigating", OpenedAt: at}})
	e3 := protocol.MustEncode(&protocol.Entry{Seq: 3, At: at, Actor: "web-3", Kind: "alert", Text: "exim on web-3 ok → down"})
	content := `{"journal":"j-0ld","created":"2026-11-20T01:00:00.000Z","format":1}` + "\n" +
		`{"cmd":"c-1","msgs":[` + string(e1) + `,` + string(i2) + `]}` + "\n" +
		`{"msgs":[` + string(e3) + `]}` + "\n" + tail
	if err := os.WriteFile(filepath.Join(dir, Format1Name), []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestFormat1JournalOpensAndLosesNothing(t *testing.T) {
	dir := t.TempDir()
	writeFormat1(t, dir, `{"cmd":"c-9","msgs":[{"type":"entry","se`)
	j, rec, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if j.ID() != "j-0ld" || j.Seq() != 3 || rec.Migrated == "" || rec.TornLine != 4 {
		t.Fatalf("migrated: id %s seq %d %+v", j.ID(), j.Seq(), rec)
	}
	if seq, ok := j.Applied("c-1"); !ok || seq != 2 {
		t.Fatalf("c-1 = %d %v", seq, ok)
	}
	if got := strings.Join(texts(t, j, 1, 3), " "); got != "1:declared 2:INC-1/investigating 3:exim on web-3 ok → down" {
		t.Fatalf("messages = %s", got)
	}
	if hs := j.Heads(); len(hs) != 1 || hs[0].Seq != 2 {
		t.Fatalf("heads = %+v", hs)
	}
	// The old file is kept, and still reads.
	old, _, err := ReadFile(rec.Migrated)
	if err != nil || len(old) != 3 {
		t.Fatalf("kept format-1 file: %d msgs, %v", len(old), err)
	}
	d := follow(j)
	appendWait(t, j, d, "c-2", note("INC-1", "after the upgrade"))
	j.Close()
	all, rec, err := ReadFile(dir)
	if err != nil || len(all) != 4 || rec.TornBytes != 0 {
		t.Fatalf("after upgrade: %d msgs, %+v, %v", len(all), rec, err)
	}
}

func TestFormat1DamagedBeforeItsEndIsNotMigrated(t *testing.T) {
	dir := t.TempDir()
	writeFormat1(t, dir, "")
	path := filepath.Join(dir, Format1Name)
	data, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(data), `"cmd":"c-1"`, `"cmd":c-1`, 1)), 0o640)
	if _, _, err := Open(dir); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal("the damaged format-1 file was moved")
	}
}

// A second Open of a locked directory in this process fails at once.
func TestSecondOpenOfOneDirectoryIsRefused(t *testing.T) {
	dir := t.TempDir()
	j, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Open(dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second open: %v", err)
	}
	j.Close()
	j, _, err = Open(dir)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	j.Close()
}

// holdEnv makes this test binary, re-executed, a process that holds a
// journal open until its standard input closes.
const holdEnv = "VIGIL_TEST_HOLD_JOURNAL"

func TestMain(m *testing.M) {
	if dir := os.Getenv(holdEnv); dir != "" {
		j, _, err := Open(dir)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("holding")
		bufio.NewReader(os.Stdin).ReadString('\n')
		j.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestAnotherProcessHoldingTheDirectoryIsNamed(t *testing.T) {
	dir := t.TempDir()
	holder := exec.Command(os.Args[0], "-test.run=^$")
	holder.Env = append(os.Environ(), holdEnv+"="+dir)
	stdin, _ := holder.StdinPipe()
	stdout, _ := holder.StdoutPipe()
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Wait()
	defer stdin.Close()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "holding\n" {
		t.Fatalf("holder said %q", line)
	}
	_, _, err := Open(dir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", holder.Process.Pid)) {
		t.Fatalf("open beside another process: %v", err)
	}
	stdin.Close()
	holder.Wait()
	j, _, err := Open(dir) // the lock dies with its holder
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
}

func FuzzReadFile(f *testing.F) {
	dir := f.TempDir()
	j, _, _ := OpenWith(dir, Options{})
	d := follow(j)
	appendWait(f, j, d, "c-1", note("INC-1", "one"), incidentFrame("INC-1", "investigating"))
	appendWait(f, j, d, "", note("", "two"))
	j.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "journal-*.wal"))
	good, _ := os.ReadFile(segs[0])
	f.Add(good)
	f.Add(good[:len(good)-7])
	f.Add([]byte("garbage\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(segPath(dir, 1), data, 0o600)
		msgs, _, err := ReadFile(dir)
		if err != nil {
			return
		}
		for i, m := range msgs {
			if m.Seq != uint64(i+1) {
				t.Fatalf("accepted a journal whose seq %d is at position %d", m.Seq, i+1)
			}
		}
		// What reads must open the same.
		j, _, err := Open(dir)
		if err != nil {
			t.Fatalf("ReadFile accepted what Open refuses: %v", err)
		}
		if j.Seq() != uint64(len(msgs)) {
			t.Fatalf("Open sees %d messages, ReadFile %d", j.Seq(), len(msgs))
		}
		j.Close()
	})
}

// An index is a cache: one that disagrees with its segment is set aside
// and the segment read instead.
func TestIndexThatDisagreesIsSetAside(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := Open(dir)
	d := follow(j)
	appendWait(t, j, d, "c-1", note("INC-1", "one"), incidentFrame("INC-1", "investigating"))
	appendWait(t, j, d, "c-2", note("", "two"))
	j.Close()
	seg := activeSegment(t, dir)
	ix, err := readIndex(seg)
	if err != nil {
		t.Fatal(err)
	}
	ix.Last += 5
	ix.Incidents["INC-9"] = []uint64{1}
	if err := writeIndex(seg, ix); err != nil {
		t.Fatal(err)
	}
	j, _, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Seq() != 3 || len(j.IncidentSeqs("INC-9")) != 0 || len(j.IncidentSeqs("INC-1")) != 2 {
		t.Fatalf("seq %d, INC-9 %v, INC-1 %v", j.Seq(), j.IncidentSeqs("INC-9"), j.IncidentSeqs("INC-1"))
	}
	if seq, ok := j.Applied("c-2"); !ok || seq != 3 {
		t.Fatalf("c-2 = %d %v", seq, ok)
	}
}
