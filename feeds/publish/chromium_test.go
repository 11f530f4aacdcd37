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
	"strconv"
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

// probePage loads /status in a frame of each width and writes what it
// measured in each into its own DOM, for --dump-dom to read: the status
// page itself stays free of JavaScript. One browser measures every width.
func probePage(widths ...int) string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html><body style="margin:0">`)
	for _, w := range widths {
		fmt.Fprintf(&b, `<p data-width="%d"></p><iframe src="/status" style="display:block;width:%dpx;height:900px;border:0"></iframe>`, w, w)
	}
	b.WriteString(`<script>
document.querySelectorAll('iframe').forEach(function (f) {
  f.addEventListener('load', function () {
    var d = this.contentDocument, root = d.documentElement;
    var bg = getComputedStyle(d.body).backgroundColor;
    this.previousElementSibling.setAttribute('data-measured', root.scrollWidth + '/' + root.clientWidth + '/' + bg);
  });
});
</script></body></html>`)
	return b.String()
}

// serveProbe serves probePage at /probe, for the widths of its w
// parameters (/probe?w=390&w=1280).
func serveProbe(mux *http.ServeMux) {
	mux.HandleFunc("/probe", func(rw http.ResponseWriter, r *http.Request) {
		var widths []int
		for _, w := range r.URL.Query()["w"] {
			n, err := strconv.Atoi(w)
			if err != nil {
				http.Error(rw, err.Error(), http.StatusBadRequest)
				return
			}
			widths = append(widths, n)
		}
		fmt.Fprint(rw, probePage(widths...))
	})
}

// probeURL is the probe of base's /status at widths, and the window
// that holds the widest.
func probeURL(base string, widths ...int) (url, windowSize string) {
	q := make([]string, len(widths))
	widest := 0
	for i, w := range widths {
		q[i] = fmt.Sprintf("w=%d", w)
		widest = max(widest, w)
	}
	return base + "/probe?" + strings.Join(q, "&"), fmt.Sprintf("--window-size=%d,900", widest+20)
}

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
	serveProbe(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

var measured = regexp.MustCompile(`data-width="(\d+)" data-measured="(\d+)/(\d+)/([^"]*)"`)

// measuredAt is what the probe measured in its frame of width: the
// page's scrollWidth, its clientWidth and its background; nil if nothing.
func measuredAt(dom string, width int) []string {
	for _, m := range measured.FindAllStringSubmatch(dom, -1) {
		if m[1] == strconv.Itoa(width) {
			return m[2:]
		}
	}
	return nil
}

func TestStatusPageInChromium(t *testing.T) {
	t.Parallel() // waits on chromium
	bin := chromium(t)
	srv := statusServer(t)
	dir := t.TempDir()
	if d := os.Getenv("VIGIL_STATUS_SCREENSHOTS"); d != "" {
		dir = d // docs/publishing.md's screenshot: VIGIL_STATUS_SCREENSHOTS=docs go test -run InChromium ./feeds/publish
	}
	shots := []struct {
		name string
		w, h int
	}{{"status-page.png", 390, 844}, {"status-page-desktop.png", 1280, 1000}}

	// The phone's screenshot is of the page whose DOM is read: one browser.
	dom := headless(t, bin, "--window-size=390,844", "--hide-scrollbars", "--screenshot="+filepath.Join(dir, shots[0].name), "--dump-dom", srv.URL+"/status")
	for _, want := range []string{"Mail", "Web hosting", "DNS", "Partial outage", "We found the cause: a stuck mail queue.", "Web server upgrade", "DNS answers again. Sorry."} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %q", want)
		}
	}

	cases := []struct {
		width int
		dark  bool
		bg    string
	}{
		{390, false, "rgb(255, 255, 255)"},
		{1280, false, "rgb(255, 255, 255)"},
		{390, true, "rgb(13, 17, 23)"},
	}
	// One browser for each colour scheme measures its widths.
	probed := map[bool]string{}
	for _, dark := range []bool{false, true} {
		var widths []int
		for _, tc := range cases {
			if tc.dark == dark {
				widths = append(widths, tc.width)
			}
		}
		url, window := probeURL(srv.URL, widths...)
		args := []string{window, "--virtual-time-budget=2000", "--dump-dom"}
		if dark {
			args = append(args, "--force-dark-mode", "--blink-settings=preferredColorScheme=0")
		}
		probed[dark] = headless(t, bin, append(args, url)...)
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dpx dark=%v", tc.width, tc.dark), func(t *testing.T) {
			out := probed[tc.dark]
			m := measuredAt(out, tc.width)
			if m == nil {
				t.Fatalf("the probe measured nothing:\n%s", out)
			}
			if m[0] != m[1] {
				t.Errorf("the page is %spx wide in a %spx viewport: it overflows horizontally", m[0], m[1])
			}
			if m[2] != tc.bg {
				t.Errorf("background %s, want %s", m[2], tc.bg)
			}
		})
	}

	for _, shot := range shots[1:] {
		headless(t, bin, fmt.Sprintf("--window-size=%d,%d", shot.w, shot.h), "--hide-scrollbars", "--screenshot="+filepath.Join(dir, shot.name), srv.URL+"/status")
	}
	for _, shot := range shots {
		f, err := os.Open(filepath.Join(dir, shot.name))
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
