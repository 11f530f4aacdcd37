package subscribers

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestStoreLifecycle(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
	s, err := Open(dir, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.SignUp("a@Example.COM", []string{"mail"})
	if err != nil || tok == "" {
		t.Fatalf("sign-up: %q %v", tok, err)
	}
	if _, err := s.SignUp("not an address", nil); err == nil {
		t.Fatal("a bad address was taken")
	}
	if got := s.Confirmed(nil); len(got) != 0 {
		t.Fatalf("unconfirmed listed: %+v", got)
	}
	if ok, _ := s.Confirm("nope"); ok {
		t.Fatal("a wrong token confirmed")
	}
	if ok, err := s.Confirm(tok); !ok || err != nil {
		t.Fatalf("confirm: %v %v", ok, err)
	}
	if again, _ := s.SignUp("a@example.com", nil); again != "" {
		t.Fatal("a confirmed address is mailed again")
	}
	for _, tc := range []struct {
		comps []string
		want  int
	}{{nil, 1}, {[]string{"mail"}, 1}, {[]string{"web"}, 0}, {[]string{"web", "mail"}, 1}} {
		if got := s.Confirmed(tc.comps); len(got) != tc.want {
			t.Errorf("subscribers of %v: %d, want %d", tc.comps, len(got), tc.want)
		}
	}
	// The store is read back as written.
	s2, err := Open(dir, clk.now)
	if err != nil || len(s2.Confirmed(nil)) != 1 || s2.Confirmed(nil)[0].Email != "a@example.com" {
		t.Fatalf("reopened: %v %+v", err, s2.Confirmed(nil))
	}
	sub := s.Confirmed(nil)[0]
	u := s.UnsubscribeToken(sub.ID)
	if ok, _ := s.Unsubscribe(sub.ID + ".0000"); ok {
		t.Fatal("a forged unsubscribe token worked")
	}
	if ok, err := s.Unsubscribe(u); !ok || err != nil {
		t.Fatalf("unsubscribe: %v %v", ok, err)
	}
	assertNowhere(t, dir, "a@example.com")

	// Unconfirmed sign-ups are forgotten after 7 days.
	tok, _ = s.SignUp("late@example.com", nil)
	clk.add(ConfirmWithin + time.Minute)
	if err := s.Expire(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Confirm(tok); ok || s.Len() != 0 {
		t.Fatalf("an expired sign-up confirmed (len %d)", s.Len())
	}
	assertNowhere(t, dir, "late@example.com")
}

func assertNowhere(t *testing.T, dir, addr string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if bytes.Contains(b, []byte(addr)) {
			t.Errorf("%s still holds %s", e.Name(), addr)
		}
	}
}

func TestHandlerAnswersAlikeAndLimits(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 22, 2, 0, 0, 0, time.UTC)}
	s, err := Open(t.TempDir(), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	sent := make(chan string, 10)
	h := &Handler{Store: s, BaseURL: "https://status.example.com", SiteName: "Example", Now: clk.now, PerClient: 2, Window: time.Minute,
		Components: []protocol.Component{{ID: "mail", Name: "Mail"}},
		Mail:       func(_ context.Context, to, _, body, _ string) error { sent <- to + " " + body; return nil }}
	mux := http.NewServeMux()
	for p, hd := range h.Routes() {
		mux.Handle(p, hd)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.Run(ctx) }()
	defer func() { cancel(); <-done }()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	postForm := func(v url.Values) (int, string) {
		resp, err := http.PostForm(srv.URL+"/status/subscribe", v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	c1, b1 := postForm(url.Values{"email": {"a@example.com"}, "components": {"mail", "nonexistent"}})
	if c1 != http.StatusAccepted {
		t.Fatalf("sign-up: %d", c1)
	}
	if m := <-sent; !strings.HasPrefix(m, "a@example.com ") || !strings.Contains(m, "https://status.example.com/status/confirm/") {
		t.Fatalf("confirmation: %q", m)
	}
	if got := s.subs[0].Components; len(got) != 1 || got[0] != "mail" {
		t.Fatalf("components kept: %v", got)
	}
	c2, b2 := postForm(url.Values{"email": {"a@example.com"}})
	if c2 != c1 || b2 != b1 {
		t.Fatalf("known address answered %d %q", c2, b2)
	}
	if c, _ := postForm(url.Values{"email": {"b@example.com"}}); c != http.StatusTooManyRequests {
		t.Fatalf("3rd sign-up in the window: %d", c)
	}
	clk.add(time.Minute)
	if c, _ := postForm(url.Values{"email": {"b@example.com"}}); c != http.StatusAccepted {
		t.Fatalf("after the window: %d", c)
	}
}
