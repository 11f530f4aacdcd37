package protocol

import (
	"encoding/json"
	"testing"
)

// The paging examples of PROTOCOL.md, as written there.
var pagingExamples = []string{
	`{"type":"page","seq":2101,"page":{"id":"PG-12","title":"shared-04: exim down, load crit","status":"triggered","urgency":"high","rule":"default","escalation":"default","opened_at":"2026-11-22T02:11:40.000Z","events":[{"at":"2026-11-22T02:11:40.000Z","host":"shared-04","service":"exim","what":"down","text":"connect …: refused"}],"level":1,"round":0,"next_at":"2026-11-22T02:16:40.000Z","notified":[{"person":"alice","via":"email","at":"2026-11-22T02:11:41.000Z","outcome":"250 accepted","level":1}],"acked_by":null,"acked_at":null,"resolved_at":null,"incident":null}}`,
	`{"type":"oncall","rotations":[{"name":"primary","now":"alice","until":"2026-12-14T08:00:00.000Z","next":"bob"}],"silences":[{"id":"SIL-3","hosts":["web-*"],"services":["*"],"until":"2026-11-22T04:00:00.000Z","by":"carol","reason":"disk swap"}]}`,
	`{"type":"command","id":"c-1","actor":"alice","op":"summon","who":"person:dana","text":"need a DBA"}`,
}

func TestPagingExamplesDecodeAndRoundTrip(t *testing.T) {
	m, err := Decode([]byte(pagingExamples[0]))
	if err != nil {
		t.Fatal(err)
	}
	pm := m.(*PageMsg)
	p := pm.Page
	if pm.Seq != 2101 || p.ID != "PG-12" || p.Status != PageTriggered || p.Level != 1 || p.NextAt == nil || len(p.Events) != 1 || p.Events[0].What != WhatDown ||
		len(p.Notified) != 1 || p.Notified[0].Outcome != "250 accepted" || p.AckedBy != nil || p.Incident != nil {
		t.Fatalf("%+v", p)
	}
	again, err := Decode(MustEncode(pm))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(again.(*PageMsg).Page)
	b, _ := json.Marshal(p)
	if string(a) != string(b) {
		t.Fatalf("round trip:\n%s\n%s", a, b)
	}
	o, err := Decode([]byte(pagingExamples[1]))
	if err != nil {
		t.Fatal(err)
	}
	if oc := o.(*Oncall); len(oc.Rotations) != 1 || oc.Rotations[0].Next != "bob" || oc.Silences[0].ID != "SIL-3" {
		t.Fatalf("%+v", oc)
	}
	c, err := Decode([]byte(pagingExamples[2]))
	if err != nil || c.(*Command).Who != "person:dana" {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []string{`{"type":"page","seq":1,"page":{"status":"triggered","opened_at":"2026-11-22T02:11:40Z"}}`, `{"type":"page","seq":1,"page":{"id":"PG-1","opened_at":"2026-11-22T02:11:40Z"}}`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func FuzzDecodePaging(f *testing.F) {
	for _, e := range pagingExamples {
		f.Add([]byte(e))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := Decode(frame)
		if err != nil {
			return
		}
		// What decodes encodes, and decodes again to the same frame.
		out, err := Encode(m)
		if err != nil {
			t.Fatalf("%T does not encode: %v", m, err)
		}
		m2, err := Decode(out)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", out, err)
		}
		if out2, _ := Encode(m2); string(out2) != string(out) {
			t.Fatalf("not stable:\n%s\n%s", out, out2)
		}
	})
}
