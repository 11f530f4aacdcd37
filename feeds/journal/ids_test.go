package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A sealed segment's ids file is what says a resent command was already
// applied: one lost, damaged or lying is rebuilt from its segment, at
// start and while running, and never lets the command apply again.
func TestDamagedIDsFileNeverLetsACommandApplyTwice(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, ids string)
	}{
		{"deleted", func(t *testing.T, ids string) { must(t, os.Remove(ids)) }},
		{"garbage", func(t *testing.T, ids string) { must(t, os.WriteFile(ids, []byte("\x00garbage\xffbytes"), 0o640)) }},
		{"emptied with a good checksum", func(t *testing.T, ids string) {
			must(t, writeIDs(strings.TrimSuffix(ids, ".ids")+".wal", map[string]uint64{}))
		}},
		{"one id dropped with a good checksum", func(t *testing.T, ids string) {
			seg := strings.TrimSuffix(ids, ".ids") + ".wal"
			all, err := readIDs(seg)
			must(t, err)
			delete(all, "c-5")
			must(t, writeIDs(seg, all))
		}},
		{"another segment's", func(t *testing.T, ids string) {
			others, _ := filepath.Glob(filepath.Join(filepath.Dir(ids), "*.ids"))
			data, err := os.ReadFile(others[1])
			must(t, err)
			must(t, os.WriteFile(ids, data, 0o640))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opts := Options{SegmentBytes: 4 << 10}
			j, _, err := OpenWith(dir, opts)
			must(t, err)
			d := follow(j)
			for i := 1; i <= 200; i++ {
				appendWait(t, j, d, fmt.Sprintf("c-%d", i), note("", fmt.Sprintf("n %d", i)))
			}
			first, _ := j.Applied("c-5")
			j.Close()
			ids := strings.TrimSuffix(segPath(dir, 1), ".wal") + ".ids"
			tc.damage(t, ids)

			j, rec, err := OpenWith(dir, opts)
			must(t, err)
			defer j.Close()
			if !strings.Contains(strings.Join(rec.Rebuilt, "\n"), filepath.Base(ids)) {
				t.Fatalf("recovery names no rebuilt ids file: %q", rec.Rebuilt)
			}
			if seq, ok := j.Applied("c-5"); !ok || seq != first {
				t.Fatalf("resent c-5 after restart: applied=%v at %d, first applied at %d", ok, seq, first)
			}
			if _, err := readIDs(segPath(dir, 1)); err != nil {
				t.Fatalf("ids file not rewritten: %v", err)
			}
			// Lost again while running: the segment still answers.
			must(t, os.Remove(ids))
			j.idsCache = nil
			if seq, ok := j.Applied("c-6"); !ok || seq != first+1 {
				t.Fatalf("resent c-6 with the ids file gone while running: applied=%v at %d", ok, seq)
			}
			if _, ok := j.Applied("c-never"); ok {
				t.Fatal("an id never applied was found")
			}
		})
	}
}

// A clean journal's start reads every ids file and rebuilds none.
func TestWholeIDsFilesAreNotRebuilt(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 4 << 10}
	j, _, err := OpenWith(dir, opts)
	must(t, err)
	d := follow(j)
	for i := 1; i <= 100; i++ {
		appendWait(t, j, d, fmt.Sprintf("c-%d", i), note("", "n"))
	}
	j.Close()
	j, rec, err := OpenWith(dir, opts)
	must(t, err)
	defer j.Close()
	if len(rec.Rebuilt) != 0 {
		t.Fatalf("rebuilt on a clean start: %q", rec.Rebuilt)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A byte flipped in the middle of a sealed segment, whose index would
// spare reading it, refuses the start naming the file, line and seq: a
// hub started over it would fail every full replay while saying ok.
func TestDamagedSealedSegmentRefusesToStart(t *testing.T) {
	for _, lost := range []bool{false, true} {
		t.Run(fmt.Sprintf("index lost %v", lost), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			opts := Options{SegmentBytes: 4 << 10}
			j, _, err := OpenWith(dir, opts)
			must(t, err)
			d := follow(j)
			for i := 1; i <= 100; i++ {
				appendWait(t, j, d, fmt.Sprintf("c-%d", i), note("", fmt.Sprintf("note number %d", i)))
			}
			j.Close()
			seg := segPath(dir, 1)
			if lost {
				must(t, os.Remove(indexPath(seg)))
			}
			data, err := os.ReadFile(seg)
			must(t, err)
			lines := strings.SplitAfter(string(data), "\n")
			// line 8 holds seq 7; flip one byte of its text
			lines[7] = strings.Replace(lines[7], "note number 7", "note numbex 7", 1)
			must(t, os.WriteFile(seg, []byte(strings.Join(lines, "")), 0o640))
			_, _, err = OpenWith(dir, opts)
			if !errors.Is(err, ErrDamaged) {
				t.Fatalf("opened over a damaged sealed segment: %v", err)
			}
			for _, want := range []string{filepath.Base(seg), "line 8", "seq 7", "checksum mismatch"} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("%q does not say %q", err, want)
				}
			}
		})
	}
}

// A segment whose ids file is lost while serving and whose records no
// longer read back cannot say whether a command was applied: the journal
// refuses every append from then on, as damaged, rather than apply it
// twice.
func TestUnreadableIDsStopAppends(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 4 << 10}
	j, _, err := OpenWith(dir, opts)
	must(t, err)
	d := follow(j)
	for i := 1; i <= 100; i++ {
		appendWait(t, j, d, fmt.Sprintf("c-%d", i), note("", fmt.Sprintf("note number %d", i)))
	}
	j.Close()
	j, _, err = OpenWith(dir, opts)
	must(t, err)
	defer j.Close()
	seg := segPath(dir, 1)
	must(t, os.Remove(idsPath(seg)))
	data, err := os.ReadFile(seg)
	must(t, err)
	must(t, os.WriteFile(seg, []byte(strings.Replace(string(data), "note number 3", "note numbex 3", 1)), 0o640))
	j.idsCache = nil
	if _, ok := j.Applied("c-5"); ok {
		t.Fatal("an id read from a damaged segment")
	}
	_, err = j.Append("c-5", note("", "again"))
	if !errors.Is(err, ErrDamaged) || !errors.Is(err, ErrFailed) {
		t.Fatalf("append after the ids could not be read: %v", err)
	}
}
