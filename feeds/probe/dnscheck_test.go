package probe

import (
	"context"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/vigil-oncall/vigil/feeds/protocol"
	"github.com/vigil-oncall/vigil/internal/testprog"
)

// startDnsmasq runs a real dnsmasq on a loopback high port answering
// only from its command line, and returns its address once it answers.
func startDnsmasq(t *testing.T, records ...string) string {
	t.Helper()
	bin := testprog.Need(t, "dnsmasq", "dnsmasq")
	// The port is free when chosen, not held: something may take it
	// before dnsmasq binds it, and dnsmasq exits. Another port then.
	var failed []string
	for range 5 {
		addr, out, ok := tryDnsmasq(t, bin, records)
		if ok {
			return addr
		}
		failed = append(failed, addr+": "+out)
	}
	t.Fatalf("dnsmasq never answered:\n%s", strings.Join(failed, "\n"))
	return ""
}

// tryDnsmasq starts dnsmasq on a port free a moment before and waits for
// it to answer; if it does not, it is stopped and its output returned.
func tryDnsmasq(t *testing.T, bin string, records []string) (addr, output string, ok bool) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	args := []string{"--no-daemon", "--port", strconv.Itoa(port), "--listen-address", "127.0.0.1", "--bind-interfaces",
		"--no-resolv", "--no-hosts", "--pid-file=", "--conf-file=/dev/null", "--log-facility=-"}
	if u, err := userName(); err == nil {
		args = append(args, "--user="+u)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append(args, records...)...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() { cancel(); <-exited }
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	q := new(dns.Msg)
	q.SetQuestion("ready.invalid.", dns.TypeA)
	client := &dns.Client{Timeout: 100 * time.Millisecond}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		// An answer, not the question: before dnsmasq binds the port, the
		// client's own socket may be given it, and read back what it sent.
		if r, _, err := client.Exchange(q, addr); err == nil && r.Response {
			t.Cleanup(stop)
			return addr, "", true
		}
		select {
		case <-exited:
			return addr, out.String(), false
		case <-time.After(10 * time.Millisecond):
		}
	}
	stop()
	return addr, "no answer in 10 s: " + out.String(), false
}

func userName() (string, error) {
	out, err := exec.Command("id", "-un").Output()
	return strings.TrimSpace(string(out)), err
}

func TestDNSCheckAgainstDnsmasq(t *testing.T) {
	t.Parallel()
	server := startDnsmasq(t,
		"--local=/test/", // answered here only: a name it lacks is NXDOMAIN
		"--address=/shop.test/127.0.0.7",
		"--address=/old.test/127.0.0.9", // the record a migration forgot
		"--host-record=v6.test,::7",
		"--mx-host=shop.test,mail.shop.test,10",
		"--txt-record=shop.test,v=spf1 -all",
		"--cname=www.shop.test,shop.test",
	)
	tests := []struct {
		target, record string
		answer         []string
		state, detail  string
	}{
		{"shop.test", "A", []string{"127.0.0.7"}, protocol.StateOK, "A shop.test: [127.0.0.7]"},
		{"old.test", "A", []string{"127.0.0.7"}, protocol.StateDown, "A old.test: got [127.0.0.9], want [127.0.0.7]"},
		{"shop.test", "A", nil, protocol.StateOK, "[127.0.0.7]"},
		{"v6.test", "AAAA", []string{"0::7"}, protocol.StateOK, "[::7]"},
		{"shop.test", "MX", []string{"10 Mail.Shop.Test."}, protocol.StateOK, "[10 mail.shop.test]"},
		{"shop.test", "MX", []string{"10 mx.new.test"}, protocol.StateDown, "got [10 mail.shop.test], want [10 mx.new.test]"},
		{"shop.test", "TXT", []string{"v=spf1 -all"}, protocol.StateOK, "[v=spf1 -all]"},
		{"www.shop.test", "CNAME", []string{"shop.test."}, protocol.StateOK, "[shop.test]"},
		{"nothing.test", "A", []string{"127.0.0.7"}, protocol.StateDown, "NXDOMAIN"},
	}
	for _, tc := range tests {
		c := Check{Type: "dns", Target: tc.target, Timeout: 2 * time.Second, DNS: DNS{Record: tc.record, Server: server, Answer: tc.answer}}
		r := c.Run(context.Background(), "")
		if r.State != tc.state || !strings.Contains(r.Detail, tc.detail) {
			t.Errorf("%s %s: got %s %q, want %s with %q", tc.record, tc.target, r.State, r.Detail, tc.state, tc.detail)
		}
	}
}

func TestDNSCheckTimeoutIsUnknown(t *testing.T) {
	t.Parallel()
	silent, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c := Check{Type: "dns", Target: "shop.test", Timeout: 200 * time.Millisecond, DNS: DNS{Record: "A", Server: silent.LocalAddr().String(), Answer: []string{"127.0.0.7"}}}
	r := c.Run(context.Background(), "")
	if r.State != protocol.StateUnknown || !strings.Contains(r.Detail, "no answer from "+silent.LocalAddr().String()) {
		t.Fatalf("got %+v", r)
	}
}

func TestNormalizeAnswers(t *testing.T) {
	for _, tc := range []struct {
		record string
		in     []string
		want   []string
	}{
		{"A", []string{"203.0.113.7", " 203.0.113.7", "10.0.0.1"}, []string{"10.0.0.1", "203.0.113.7"}},
		{"AAAA", []string{"2001:DB8:0::1"}, []string{"2001:db8::1"}},
		{"CNAME", []string{"Shop.Example.COM."}, []string{"shop.example.com"}},
		{"MX", []string{"10  MX1.example.com."}, []string{"10 mx1.example.com"}},
		{"TXT", []string{"Case Kept"}, []string{"Case Kept"}},
	} {
		if got := NormalizeAnswers(tc.record, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("%s %q: %q, want %q", tc.record, tc.in, got, tc.want)
		}
	}
}

// FuzzDNSAnswer feeds any DNS message to the answer handling: it never
// panics, and never says ok when the answer is not the expected set.
func FuzzDNSAnswer(f *testing.F) {
	for _, rr := range []string{"shop.test. 60 IN A 127.0.0.7", "shop.test. 60 IN MX 10 mail.shop.test.", "shop.test. 60 IN TXT \"a\" \"b\""} {
		m := new(dns.Msg)
		m.SetQuestion("shop.test.", dns.TypeA)
		r, _ := dns.NewRR(rr)
		m.Answer = append(m.Answer, r)
		if b, err := m.Pack(); err == nil {
			f.Add(b, "A")
		}
	}
	f.Add([]byte{0, 1, 0x81, 0x83, 0, 0, 0, 0, 0, 0, 0, 0}, "MX")
	f.Fuzz(func(t *testing.T, wire []byte, record string) {
		resp := new(dns.Msg)
		if resp.Unpack(wire) != nil {
			return
		}
		if _, ok := DNSRecords[record]; !ok {
			record = "A"
		}
		want := []string{"127.0.0.7"}
		c := Check{Target: "shop.test", DNS: DNS{Record: record, Answer: want}}
		r := c.judgeAnswer(resp, "127.0.0.1:53")
		if r.State == protocol.StateOK && !slices.Equal(AnswerSet(resp, DNSRecords[record]), NormalizeAnswers(record, want)) {
			t.Fatalf("ok for %v", resp.Answer)
		}
		if r.State == "" || r.Detail == "" {
			t.Fatalf("empty result %+v", r)
		}
	})
}
