package publish

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-oncall/vigil/feeds/protocol"
)

// chromium finds a headless browser, or skips: CI installs Debian's
// chromium (.ci/run) and sets VIGIL_REQUIRE_CHROMIUM so it cannot skip
// there.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("VIGIL_REQUIRE_CHROMIUM") != "" {
		t.Fatal("VIGIL_REQUIRE_CHROMIUM is set but no chromium is installed (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH: the status page is not checked in a browser here (apt-get install chromium; CI does)")
	return ""
}

// headless runs chromium once with args and returns what it printed.
func headless(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

// probe is a page that loads /status in a frame of the given width and
// writes what it measured into its own DOM, for --dump-dom to read: the
// status page itself stays free of JavaScript.
const probe = `<!doctype html><html><body style="margin:0">
<iframe id="f" src="/status" style="width:%dpx;height:900px;border:0"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {
  var d = this.contentDocument, root = d.documentElement;
  var bg = getComputedStyle(d.body).backgroundColor;
  document.body.setAttribute('data-measured', root.scrollWidth + '/' + root.clientWidth + '/' + bg);
});
</script></body></html>`

func statusServer(t *testing.T) *httptest.Server {
	t.Helper()
	long := "See https://status.example.com/help/mail/" + strings.Repeat("very-long-path-segment-", 8) + "end for what to do."
	b := scenario()
	open := inc("INC-42", "SEV2", "outage", protocol.StatusIdentified, t0, "mail")
	open.Title = "Mail delayed"
	for _, m := range published(open, "c-8", long, t0.Add(40*time.Minute)) {
		b.Observe(m)
	}
	mux := http.NewServeMux()
	mux.Handle("/status", Handler(b, func() time.Time { return t0.Add(time.Hour) }))
	for _, w := range []int{390, 1280} {
		mux.HandleFunc(fmt.Sprintf("/probe-%d", w), func(rw http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(rw, probe, w)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

var measured = regexp.MustCompile(`data-measured="(\d+)/(\d+)/([^"]*)"`)

func TestStatusPageInChromium(t *testing.T) {
	bin := chromium(t)
	srv := statusServer(t)

	dom := headless(t, bin, "--window-size=390,844", "--dump-dom", srv.URL+"/status")
	for _, want := range []string{"Mail", "Web hosting", "DNS", "Partial outage", "We found the cause: a stuck mail queue.", "Web server upgrade", "DNS answers again. Sorry."} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %q", want)
		}
	}

	for _, tc := range []struct {
		width int
		dark  bool
		bg    string
	}{
		{390, false, "rgb(255, 255, 255)"},
		{1280, false, "rgb(255, 255, 255)"},
		{390, true, "rgb(13, 17, 23)"},
	} {
		t.Run(fmt.Sprintf("%dpx dark=%v", tc.width, tc.dark), func(t *testing.T) {
			args := []string{fmt.Sprintf("--window-size=%d,900", tc.width+20), "--virtual-time-budget=2000", "--dump-dom"}
			if tc.dark {
				args = append(args, "--force-dark-mode", "--blink-settings=preferredColorScheme=0")
			}
			out := headless(t, bin, append(args, fmt.Sprintf("%s/probe-%d", srv.URL, tc.width))...)
			m := measured.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("the probe measured nothing:\n%s", out)
			}
			if m[1] != m[2] {
				t.Errorf("the page is %spx wide in a %spx viewport: it overflows horizontally", m[1], m[2])
			}
			if m[3] != tc.bg {
				t.Errorf("background %s, want %s", m[3], tc.bg)
			}
		})
	}

	dir := t.TempDir()
	if d := os.Getenv("VIGIL_STATUS_SCREENSHOTS"); d != "" {
		dir = d // docs/publishing.md's screenshot: VIGIL_STATUS_SCREENSHOTS=docs go test -run InChromium ./feeds/publish
	}
	for _, shot := range []struct {
		name string
		w, h int
	}{{"status-page.png", 390, 844}, {"status-page-desktop.png", 1280, 1000}} {
		path := filepath.Join(dir, shot.name)
		headless(t, bin, fmt.Sprintf("--window-size=%d,%d", shot.w, shot.h), "--hide-scrollbars", "--screenshot="+path, srv.URL+"/status")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", shot.name, err)
		}
		if b := img.Bounds(); b.Dx() != shot.w || b.Dy() != shot.h {
			t.Fatalf("%s is %v, want %dx%d", shot.name, b, shot.w, shot.h)
		}
	}
}
