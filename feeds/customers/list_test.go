package customers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func plans(names ...string) func(string) bool {
	return func(p string) bool {
		for _, n := range names {
			if n == p {
				return true
			}
		}
		return false
	}
}

const header = "id,name,email,hosts,components,plan,monthly_fee\n"

func TestParse(t *testing.T) {
	l, err := Parse(strings.NewReader(header+
		"c1,Ada's Bakery,ada@example.com,shared-04 shared-05,mail web,shared,9.99\n"+
		"c2,\"Bob, Inc.\",bob@example.com,shared-04,,shared,\n"+
		"\n"+
		"c3,Carol,carol@example.com,,web,vps,20\n"), "customers.csv", plans("shared", "vps"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != 3 {
		t.Fatalf("len %d", l.Len())
	}
	c, _ := l.Get("c2")
	if c.Name != "Bob, Inc." || len(c.Hosts) != 1 || c.MonthlyFee != 0 {
		t.Fatalf("c2 = %+v", c)
	}
	if got := ids(l.OnHost("shared-04")); got != "c1 c2" {
		t.Errorf("on shared-04: %s", got)
	}
	if got := ids(l.OfComponent("web")); got != "c1 c3" {
		t.Errorf("of web: %s", got)
	}
	// Columns in another order read the same.
	l2, err := Parse(strings.NewReader("plan,monthly_fee,email,id,name,hosts,components\nshared,5,x@example.com,x,X,h1,\n"), "f", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := l2.Get("x"); c.Email != "x@example.com" || c.MonthlyFee != 5 || c.Hosts[0] != "h1" {
		t.Fatalf("reordered: %+v", c)
	}
}

func ids(cs []Customer) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.ID)
	}
	return strings.Join(s, " ")
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, csv, want string
	}{
		{"missing column", "id,name,email,hosts,plan,monthly_fee\n", `customers.csv:1: missing column "components"`},
		{"empty", "", "customers.csv:1: empty"},
		{"duplicate id", header + "c1,A,a@example.com,h,,shared,1\nc1,B,b@example.com,h,,shared,1\n", `customers.csv:3: customer id "c1" used twice`},
		{"bad address", header + "c1,A,a@example.com,h,,shared,1\nc2,B,not-an-address,h,,shared,1\n", `customers.csv:3: customer "c2": bad email address "not-an-address"`},
		{"named address", header + "c1,A,A <a@example.com>,h,,shared,1\n", `customers.csv:2: customer "c1": bad email address`},
		{"unknown plan", header + "c1,A,a@example.com,h,,shared,1\n\nc2,B,b@example.com,h,,gold,1\n", `customers.csv:4: customer "c2": unknown plan "gold"`},
		{"short row", header + "c1,A,a@example.com\n", "customers.csv:2: "},
		{"bad fee", header + "c1,A,a@example.com,h,,shared,-3\n", `customers.csv:2: customer "c1": monthly_fee`},
		{"bad id", header + "c 1,A,a@example.com,h,,shared,1\n", "customers.csv:2: id"},
		{"bad quote", header + "c1,\"A,a@example.com,h,,shared,1\n", "customers.csv:2: "},
		{"control in name", header + "c1,A\x1b[31m,a@example.com,h,,shared,1\n", `customers.csv:2: customer "c1": name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.csv), "customers.csv", plans("shared"))
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("got %v, want prefix %q", err, tc.want)
			}
		})
	}
}

func TestSourceKeepsOldListOnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "customers.csv")
	write := func(s string, mod time.Time) {
		if err := os.WriteFile(path, []byte(header+s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	write("c1,A,a@example.com,h1,,shared,1\n", t0)
	src, err := Open(path, plans("shared"))
	if err != nil {
		t.Fatal(err)
	}
	tick := make(chan time.Time)
	reports := make(chan error, 4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.Watch(ctx, tick, func(_ *List, err error) { reports <- err })
	}()
	write("c1,A,a@example.com,h1,,shared,1\nc2,B,bad,h2,,shared,1\n", t0.Add(time.Minute))
	tick <- t0
	if err := <-reports; err == nil || !strings.Contains(err.Error(), path+":3:") {
		t.Fatalf("bad row reported as %v", err)
	}
	if src.List().Len() != 1 {
		t.Fatalf("old list replaced by a refused one: %d", src.List().Len())
	}
	write("c1,A,a@example.com,h1,,shared,1\nc2,B,b@example.com,h2,,shared,1\n", t0.Add(2*time.Minute))
	tick <- t0
	if err := <-reports; err != nil {
		t.Fatal(err)
	}
	if c, ok := src.List().Get("c2"); !ok || c.Email != "b@example.com" {
		t.Fatalf("new list not taken: %+v", c)
	}
	cancel()
	<-done
}

// synth writes n customers, two hosts each out of n/20 hosts.
func synth(n int) []byte {
	var b bytes.Buffer
	b.WriteString(header)
	for i := range n {
		fmt.Fprintf(&b, "cust-%06d,Customer number %d Ltd,billing%d@example.com,shared-%03d shared-%03d,mail web,shared,%d.99\n",
			i, i, i, i%(n/20+1), (i+7)%(n/20+1), 5+i%40)
	}
	return b.Bytes()
}

// BenchmarkLoad50k reads 50,000 customers; MiB/list is the heap the list
// keeps.
func BenchmarkLoad50k(b *testing.B) {
	data := synth(50000)
	for b.Loop() {
		_, err := Parse(bytes.NewReader(data), "bench.csv", plans("shared"))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	l, _ := Parse(bytes.NewReader(data), "bench.csv", plans("shared"))
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB/list")
	runtime.KeepAlive(l)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(header + "c1,A,a@example.com,h1 h2,web,shared,1.5\n"))
	f.Add([]byte("plan,id\n"))
	f.Add([]byte(header + "c1,\"A\"\"B\",a@example.com,,,shared,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Parse(bytes.NewReader(data), "fuzz.csv", plans("shared"))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.File != "fuzz.csv" {
				t.Fatalf("error without file: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, c := range l.All() {
			if seen[c.ID] || c.Plan != "shared" || c.MonthlyFee < 0 {
				t.Fatalf("accepted a bad row: %+v", c)
			}
			seen[c.ID] = true
			if got, ok := l.Get(c.ID); !ok || got.Email != c.Email {
				t.Fatalf("index lost %q", c.ID)
			}
		}
	})
}
