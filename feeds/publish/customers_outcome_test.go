package publish

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// TestCustomerMailOutcomes pins what a customers send reports when the
// relay cannot be reached, refuses many, or the send is cancelled.
func TestCustomerMailOutcomes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	refuseAll := map[string]*smtp.SMTPError{}
	for i := range 12 {
		refuseAll[fmt.Sprintf("c%d@example.com", i)] = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	for _, c := range []struct {
		name      string
		refuse    map[string]*smtp.SMTPError
		addr      string // "" for the relay
		n         int
		perSecond float64
		ctx       context.Context
		want      string // the outcome's start
		wantErr   string // the error's start, or ""
	}{
		{name: "relay unreachable", addr: closed, n: 2, ctx: context.Background(), wantErr: "customers affected: 0 of 2 accepted; relay: "},
		{name: "twelve refused, ten named", refuse: refuseAll, n: 12, ctx: context.Background(),
			want: "customers affected: 0 of 12 accepted, failed; c0: "},
		{name: "paced", n: 3, perSecond: 1000, ctx: context.Background(), want: "customers affected: 3 of 3 accepted"},
		{name: "cancelled", addr: closed, n: 2, ctx: cancelled, wantErr: context.Canceled.Error()},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &personalRelay{got: map[string]int{}, refuse: c.refuse}
			addr := c.addr
			if addr == "" {
				addr = servePersonal(t, r)
			}
			cm, m := customerMail(t, addr, c.n)
			cm.PerSecond = c.perSecond
			out, err := cm.Send(c.ctx, m)
			switch {
			case c.wantErr != "":
				if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) || out != "" {
					t.Fatalf("Send = %q, %v; want error %q…", out, err, c.wantErr)
				}
				if c.ctx.Err() != nil && !errors.Is(err, context.Canceled) {
					t.Fatalf("error %v is not the context's", err)
				}
			case err != nil || !strings.HasPrefix(out, c.want):
				t.Fatalf("Send = %q, %v; want %q…", out, err, c.want)
			}
			if c.refuse != nil && (!strings.HasSuffix(out, "; and 2 more") || strings.Contains(out, "c9:")) {
				t.Fatalf("outcome %q: want ten named and the rest counted", out)
			}
		})
	}
}
