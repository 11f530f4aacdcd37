package protocol

import (
	"reflect"
	"testing"
)

// onePassCases are frames whose type Decode may read without a decode of
// its own, and frames it must not: each must decode exactly as the
// general path does (a leading space sends a frame there).
var onePassCases = []string{
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07.000Z","load1":1.5,"cpus":4}`,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07.000Z","cpus":"four"}`,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07.000Z","type":"entry"}`,
	`{"type":"load","at":"2026-11-22T02:13:07.000Z"}`,
	`{"type":"lo\"ad","host":"h","at":"2026-11-22T02:13:07.000Z"}`,
	`{"type":"","host":"h"}`,
	`{"type":"weather","host":"h"}`,
	`{"type":"load","host":"h","at":"2026-11-22T02:13:07.000Z"`,
	`{"type":"command","id":"c-1","actor":"a","op":"note","incident":"INC-1","text":7}`,
	`{"type":"entry","seq":3,"text":"the \"type\" of thing","evidence":{"outputs":[{"name":"x","type":"y"}]}}`,
	`{"type":"synced","seq":"12"}`,
	// Load frames as vigil writes them, and ones the hand-written reader
	// must leave to the general path.
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07.120Z","interval":"5s","load1":12.8,"load5":9.1,"load15":4.2,"cpus":4,"mem_used_pct":71.5,"level":"crit"}`,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07Z","interval":"soon","load1":-0.0,"load5":1e3,"load15":2E-2,"cpus":-0}`,
	`{"type":"load","host":"web-3","at":"10000-01-01T00:00:00Z","load1":1}`,
	`{"type":"load","host":"wéb-3","at":"2026-11-22T02:13:07Z"}`,
	`{"type":"load","host":"web\u002d3","at":"2026-11-22T02:13:07Z"}`,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07Z","cpus":4.0}`,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07Z","cpus":99999999999999999999}`,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07Z","load1":1e999}`,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07Z","load1":01}`,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07Z","mem_used_pct":null}`,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07Z","host":"web-4"}`,
	`{"type":"load","Host":"web-3","at":"2026-11-22T02:13:07Z"}`,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07Z"} `,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07Z","extra":{"a":[1,2]}}`,
	`{"type":"load","host":"","at":"2026-11-22T02:13:07Z"}`,
	`{"type":"load","host":"web-3","at":"2026-11-22T02:13:07Z",}`,
}

func TestOnePassDecodesAsTheGeneralPath(t *testing.T) {
	for _, frame := range append(onePassCases, protocolExamples...) {
		assertSamePaths(t, []byte(frame))
	}
}

func FuzzOnePassDecode(f *testing.F) {
	for _, c := range append(onePassCases, protocolExamples...) {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, frame []byte) { assertSamePaths(t, frame) })
}

func assertSamePaths(t *testing.T, frame []byte) {
	t.Helper()
	m, err := Decode(frame)
	want, wantErr := Decode(append([]byte(" "), frame...))
	if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("%s:\n one pass: %v\n general:  %v", frame, err, wantErr)
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("%s:\n one pass: %#v\n general:  %#v", frame, m, want)
	}
}
