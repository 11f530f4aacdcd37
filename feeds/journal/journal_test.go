package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

func note(text string) *protocol.Entry {
	return &protocol.Entry{Incident: "INC-1", At: protocol.At(time.Now()), Actor: "alice", Kind: "note", Text: text}
}

func TestAppendReopenKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	j, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := j.ID()
	if _, err := j.Append("c-1", note("one"), &protocol.IncidentMsg{Incident: protocol.Incident{ID: "INC-1", Title: "t", Status: protocol.StatusInvestigating, OpenedAt: protocol.At(time.Now())}}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append("", note("two")); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j, rec, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if rec.TornBytes != 0 || j.ID() != id || j.Seq() != 3 {
		t.Fatalf("reopened: id %s seq %d rec %+v", j.ID(), j.Seq(), rec)
	}
	if seq, ok := j.Applied("c-1"); !ok || seq != 2 {
		t.Fatalf("applied c-1 = %d %v", seq, ok)
	}
	if got := j.Messages(2); len(got) != 1 || got[0].Msg.(*protocol.Entry).Text != "two" {
		t.Fatalf("messages since 2 = %+v", got)
	}
}

func TestTornLastLineIsCutAndReported(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := Open(dir)
	j.Append("c-1", note("kept"))
	j.Close()
	path := filepath.Join(dir, FileName)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"cmd":"c-2","msgs":[{"type":"entry","seq":2,"te`)
	f.Close()
	j, rec, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rec.TornLine != 3 || rec.TornBytes == 0 || j.Seq() != 1 {
		t.Fatalf("rec %+v seq %d", rec, j.Seq())
	}
	// The journal goes on cleanly after the cut.
	if _, err := j.Append("c-3", note("after")); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j, rec, err = Open(dir)
	if err != nil || rec.TornBytes != 0 || j.Seq() != 2 {
		t.Fatalf("after repair: %v %+v seq %d", err, rec, j.Seq())
	}
	j.Close()
}

func TestDamageBeforeTheEndRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := Open(dir)
	j.Append("", note("a"))
	j.Append("", note("b"))
	j.Close()
	path := filepath.Join(dir, FileName)
	data, _ := os.ReadFile(path)
	lines := strings.Split(string(data), "\n")
	lines[1] = "garbage"
	os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o640)
	if _, _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v", err)
	}
}

type failingFile struct {
	File
	writeErr error
	partial  int
}

func (f *failingFile) Write(p []byte) (int, error) {
	if f.writeErr != nil {
		n, _ := f.File.Write(p[:f.partial])
		return n, f.writeErr
	}
	return f.File.Write(p)
}

func TestFailingDiskKeepsNothingHalfWritten(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := Open(dir)
	j.Append("", note("before"))
	real := j.f
	j.SetFile(&failingFile{File: real, writeErr: errors.New("no space left on device"), partial: 10})
	if _, err := j.Append("c-x", note("lost")); err == nil {
		t.Fatal("append on a full disk succeeded")
	}
	if j.Seq() != 1 {
		t.Fatalf("seq = %d after a failed append", j.Seq())
	}
	if _, ok := j.Applied("c-x"); ok {
		t.Fatal("failed command recorded as applied")
	}
	j.SetFile(real)
	if _, err := j.Append("c-y", note("after")); err != nil {
		t.Fatal(err)
	}
	j.Close()
	msgs, rec, err := ReadFile(filepath.Join(dir, FileName))
	if err != nil || rec.TornBytes != 0 || len(msgs) != 2 {
		t.Fatalf("file after failure: %d msgs, %+v, %v", len(msgs), rec, err)
	}
}

func FuzzReadFile(f *testing.F) {
	dir := f.TempDir()
	j, _, _ := Open(dir)
	j.Append("c-1", note("one"), &protocol.IncidentMsg{Incident: protocol.Incident{ID: "INC-1", Title: "t", Status: protocol.StatusInvestigating, OpenedAt: protocol.At(time.Now())}})
	j.Close()
	good, _ := os.ReadFile(filepath.Join(dir, FileName))
	f.Add(good)
	f.Add(good[:len(good)-7])
	f.Add([]byte("{\"journal\":\"j\"}\n{\"msgs\":[{\"type\":\"entry\",\"seq\":9}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), FileName)
		os.WriteFile(path, data, 0o600)
		msgs, _, err := ReadFile(path)
		if err != nil {
			return
		}
		for i, m := range msgs {
			if m.Seq != uint64(i+1) {
				t.Fatalf("accepted a journal whose seq %d is at position %d", m.Seq, i+1)
			}
		}
	})
}
