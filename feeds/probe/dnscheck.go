package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// DNS is what a dns check asks and expects.
type DNS struct {
	Record string   // A, AAAA, CNAME, MX, TXT or NS
	Server string   // host:port; empty is the system resolver
	Answer []string // the expected set; empty accepts any non-empty answer
}

// DNSRecords are the record types a dns check asks for.
var DNSRecords = map[string]uint16{
	"A": dns.TypeA, "AAAA": dns.TypeAAAA, "CNAME": dns.TypeCNAME,
	"MX": dns.TypeMX, "TXT": dns.TypeTXT, "NS": dns.TypeNS,
}

// ResolvConf is where the system resolver is read from.
var ResolvConf = "/etc/resolv.conf"

func systemResolver() (string, error) {
	cc, err := dns.ClientConfigFromFile(ResolvConf)
	if err != nil {
		return "", fmt.Errorf("system resolver: %w", err)
	}
	if len(cc.Servers) == 0 {
		return "", fmt.Errorf("system resolver: no nameserver in %s", ResolvConf)
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port), nil
}

func (c *Check) runDNS(ctx context.Context) Result {
	qtype, ok := DNSRecords[strings.ToUpper(c.Record)]
	if !ok {
		return Result{protocol.StateUnknown, "unknown record type " + c.Record}
	}
	server := c.Server
	if server == "" {
		var err error
		if server, err = systemResolver(); err != nil {
			return Result{protocol.StateUnknown, err.Error()}
		}
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(c.Target), qtype)
	client := &dns.Client{}
	if dl, ok := ctx.Deadline(); ok {
		client.Timeout = time.Until(dl)
	}
	resp, _, err := client.ExchangeContext(ctx, q, server)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			return Result{protocol.StateUnknown, fmt.Sprintf("%s %s: no answer from %s in time", c.Record, c.Target, server)}
		}
		return Result{protocol.StateUnknown, fmt.Sprintf("%s %s: asking %s: %s", c.Record, c.Target, server, shortErr(err))}
	}
	return c.judgeAnswer(resp, server)
}

// judgeAnswer compares a DNS response with the expected set.
func (c *Check) judgeAnswer(resp *dns.Msg, server string) Result {
	what := strings.ToUpper(c.Record) + " " + c.Target
	if resp.Rcode != dns.RcodeSuccess {
		rcode := dns.RcodeToString[resp.Rcode]
		if rcode == "" {
			rcode = "rcode " + strconv.Itoa(resp.Rcode)
		}
		state := protocol.StateDown
		if resp.Rcode == dns.RcodeServerFailure || resp.Rcode == dns.RcodeRefused {
			state = protocol.StateUnknown // the server, not the record
		}
		return Result{state, fmt.Sprintf("%s: %s from %s", what, rcode, server)}
	}
	got := AnswerSet(resp, DNSRecords[strings.ToUpper(c.Record)])
	want := NormalizeAnswers(c.Record, c.Answer)
	switch {
	case len(got) == 0:
		return Result{protocol.StateDown, fmt.Sprintf("%s: no %s record (want %s)", what, strings.ToUpper(c.Record), showSet(want))}
	case len(want) > 0 && !slices.Equal(got, want):
		return Result{protocol.StateDown, fmt.Sprintf("%s: got %s, want %s", what, showSet(got), showSet(want))}
	}
	return Result{protocol.StateOK, what + ": " + showSet(got)}
}

func showSet(s []string) string {
	if len(s) == 0 {
		return "[]"
	}
	return "[" + strings.Join(s, " ") + "]"
}

// AnswerSet is the answer section's records of type qtype, each as a
// check's answer list writes it, sorted and without duplicates.
func AnswerSet(resp *dns.Msg, qtype uint16) []string {
	var out []string
	for _, rr := range resp.Answer {
		if rr == nil || rr.Header().Rrtype != qtype {
			continue
		}
		var v string
		switch r := rr.(type) {
		case *dns.A:
			v = r.A.String()
		case *dns.AAAA:
			v = r.AAAA.String()
		case *dns.CNAME:
			v = r.Target
		case *dns.NS:
			v = r.Ns
		case *dns.MX:
			v = strconv.Itoa(int(r.Preference)) + " " + r.Mx
		case *dns.TXT:
			v = strings.Join(r.Txt, "")
		default:
			continue
		}
		out = append(out, normalizeAnswer(rr.Header().Rrtype, v))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// NormalizeAnswers writes an expected set the way AnswerSet writes an
// answer: names lower case without the final dot, addresses canonical.
func NormalizeAnswers(record string, answers []string) []string {
	qtype := DNSRecords[strings.ToUpper(record)]
	out := make([]string, 0, len(answers))
	for _, a := range answers {
		out = append(out, normalizeAnswer(qtype, strings.TrimSpace(a)))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func normalizeAnswer(qtype uint16, v string) string {
	switch qtype {
	case dns.TypeA, dns.TypeAAAA:
		if ip := net.ParseIP(v); ip != nil {
			return ip.String()
		}
	case dns.TypeCNAME, dns.TypeNS:
		return strings.ToLower(strings.TrimSuffix(v, "."))
	case dns.TypeMX:
		pref, host, ok := strings.Cut(strings.TrimSpace(v), " ")
		if ok {
			return pref + " " + strings.ToLower(strings.TrimSuffix(strings.TrimSpace(host), "."))
		}
	}
	return v
}
