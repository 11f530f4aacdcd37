package credits

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/customers"
	"github.com/vigil-oncall/vigil/feeds/export"
	"github.com/vigil-oncall/vigil/feeds/journal"
	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/feeds/server"
)

func at(s string) protocol.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return protocol.At(t)
}

// writeJournal appends a November to a real journal and closes it once
// every record is durable.
func writeJournal(t *testing.T, dir string, msgs ...protocol.Message) {
	t.Helper()
	j, _, err := journal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	durable := make(chan struct{}, len(msgs))
	j.OnDurable(func(ms []journal.Message, err error) {
		if err != nil {
			t.Error(err)
		}
		for range ms {
			durable <- struct{}{}
		}
	})
	for _, m := range msgs {
		if _, err := j.Append("", m); err != nil {
			t.Fatal(err)
		}
	}
	for range msgs {
		<-durable
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCreditsFromAJournal(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeJournal(t, data,
		&protocol.Entry{Kind: protocol.EntryAlert, Actor: "shared-04", Host: "shared-04", Service: "exim", State: protocol.StateDown, Text: "exim on shared-04 ok → down", At: at("2026-11-22T02:00:00Z")},
		&protocol.IncidentMsg{Incident: protocol.Incident{ID: "INC-42", Title: "Mail down", Severity: "SEV2", Kind: "outage", Status: protocol.StatusInvestigating, OpenedAt: at("2026-11-22T02:05:00Z"), Checklist: []protocol.Item{}}},
		&protocol.Entry{Kind: protocol.EntrySystem, Actor: "shared-04", Host: "shared-04", Service: "exim", State: protocol.StateOK, Text: "exim on shared-04 down → ok", At: at("2026-11-22T03:30:00Z")},
		&protocol.Entry{Kind: protocol.EntryAlert, Actor: "shared-05", Host: "shared-05", Text: "shared-05 stopped reporting (silent 45s)", At: at("2026-11-23T10:00:00Z")},
		&protocol.Entry{Kind: protocol.EntrySystem, Actor: "shared-05", Host: "shared-05", Text: "shared-05 is reporting again after 10m", At: at("2026-11-23T10:10:00Z")},
		&protocol.Entry{Kind: protocol.EntryAlert, Actor: "shared-06", Host: "shared-06", Service: "exim", State: protocol.StateDown, Text: "exim on shared-06 ok → down", At: at("2026-10-22T02:00:00Z")},
		&protocol.Entry{Kind: protocol.EntrySystem, Actor: "shared-06", Host: "shared-06", Service: "exim", State: protocol.StateOK, Text: "exim on shared-06 down → ok", At: at("2026-10-22T05:00:00Z")},
	)
	os.WriteFile(filepath.Join(dir, "customers.csv"), []byte(customers.Columns[0]+",name,email,hosts,components,plan,monthly_fee\n"+
		"c1,\"Ada, Bakery\",ada@example.com,shared-04,mail,shared,20\n"+
		"c2,Bob,bob@example.com,shared-05,web,shared,10\n"+
		"c3,Cy,cy@example.com,shared-06,web,shared,10\n"), 0o600)
	conf := filepath.Join(dir, "vigil.toml")
	os.WriteFile(conf, []byte("[serve]\ndata_dir = \"data\"\n[serve.customers]\nfile = \"customers.csv\"\n[[serve.sla]]\nplan = \"shared\"\ntarget = 99.9\ncredits = [ { below = 99.9, percent = 10 }, { below = 99.0, percent = 25 } ]\n"), 0o600)

	run := func(format string) string {
		var out, errs bytes.Buffer
		if err := Run(context.Background(), []string{"--month", "2026-11", "--journal", data, "--config", conf, "--format", format}, &out, &errs); err != nil {
			t.Fatalf("%v\n%s", err, errs.String())
		}
		return out.String()
	}
	want := "customer,name,plan,down_minutes,availability,credit_percent,credit,incidents\n" +
		"c1,\"Ada, Bakery\",shared,90,99.792,10,2.00,INC-42\n" +
		"c2,Bob,shared,10,99.977,0,0.00,INC-42\n"
	if got := run("csv"); got != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", got, want)
	}
	var doc customers.JSONCredits
	if err := json.Unmarshal([]byte(run("json")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Month != "2026-11" || len(doc.Customers) != 2 || len(doc.Due) != 1 || doc.Due[0] != (customers.JSONDue{Percent: 10, Customers: 1, Amount: 2}) {
		t.Fatalf("json: %+v", doc)
	}
	src, err := export.FromJournal(data)
	if err != nil {
		t.Fatal(err)
	}
	report, err := export.Build(src, "INC-42")
	if err != nil {
		t.Fatal(err)
	}
	if err := Enrich(report, src, conf, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	report.Markdown(&md)
	if !strings.Contains(md.String(), "## Customers and credits\n\n2 customers affected") || !strings.Contains(md.String(), "| c1 | Ada, Bakery | shared | 90 | 99.792% | 10% | 2.00 | INC-42 |") {
		t.Fatalf("export lacks the customers section:\n%s", md.String())
	}
	if md := run("md"); !strings.Contains(md, `| c1 | Ada, Bakery | shared | 90 | 99.792% | 10% | 2.00 | INC-42 |`) || !strings.Contains(md, "1 customer due 10% (2.00).") {
		t.Fatalf("md:\n%s", md)
	}
}

func TestCreditsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--journal", "x"},
		{"--month", "2026-11"},
		{"--month", "2026-11", "--journal", "x", "--feed", "ws://127.0.0.1:1/feed"},
		{"--month", "11/2026", "--journal", "x"},
		{"--month", "2026-11", "--journal", "x", "--format", "xls"},
	} {
		err := Run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{})
		var ue UsageError
		if !asUsage(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func asUsage(err error, ue *UsageError) bool {
	u, ok := err.(UsageError)
	*ue = u
	return ok
}

// The same month from a hub's feed: its replay is compacted (November is
// past its replay window), so the command pages the history back.
func TestCreditsFromAFeed(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	var msgs []protocol.Message
	// Many transitions, so paging takes more than one page.
	for i := range 1500 {
		at0 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 20 * time.Minute)
		msgs = append(msgs,
			&protocol.Entry{Kind: protocol.EntryAlert, Actor: "shared-04", Host: "shared-04", Service: "exim", State: protocol.StateDown, Text: "exim on shared-04 ok → down", At: protocol.At(at0)},
			&protocol.Entry{Kind: protocol.EntrySystem, Actor: "shared-04", Host: "shared-04", Service: "exim", State: protocol.StateOK, Text: "exim on shared-04 down → ok", At: protocol.At(at0.Add(time.Minute))})
	}
	writeJournal(t, data, msgs...)
	j, _, err := journal.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	hub := server.NewHub(j, server.Options{Name: "hub"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); server.Serve(ctx, hub, ln, "/feed", "", "") }()
	defer func() { cancel(); <-done; j.Close() }()

	os.WriteFile(filepath.Join(dir, "customers.csv"), []byte("id,name,email,hosts,components,plan,monthly_fee\nc1,Ada,ada@example.com,shared-04,,shared,20\n"), 0o600)
	conf := filepath.Join(dir, "vigil.toml")
	os.WriteFile(conf, []byte("[serve.customers]\nfile = \"customers.csv\"\n[[serve.sla]]\nplan = \"shared\"\ntarget = 99.9\ncredits = [ { below = 99.9, percent = 10 }, { below = 99.0, percent = 25 } ]\n"), 0o600)
	var out, errs bytes.Buffer
	if err := Run(context.Background(), []string{"--month", "2026-11", "--feed", "ws://" + ln.Addr().String() + "/feed", "--config", conf}, &out, &errs); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	// 1,500 outages of a minute each: 1,500 minutes, all of them.
	want := "c1,Ada,shared,1500,96.528,25,5.00,\n"
	if !strings.HasSuffix(out.String(), want) {
		t.Fatalf("csv:\n%s\nwant the row %q", out.String(), want)
	}
}
