//go:build unix

package httpapi_test

// The API reference at GET /docs rendered by a real browser: headless Chromium loads the page from a running
// atende, and the test checks that Redoc drew every tag and operation of the contract, that a screenshot of
// it is not blank, and that the page fetched nothing beyond its own origin.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"image"
	"image/png"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/atende/atende/internal/apitest"
	"github.com/atende/atende/internal/store"
)

// Environment variables read by the /docs rendering test.
const (
	// envRequireChromium set to 1 fails the test, instead of skipping it, when Chromium is not installed.
	envRequireChromium = "ATENDE_TEST_REQUIRE_CHROMIUM"
	// envDocsScreenshotOut names a file to keep the screenshot of /docs in; a relative path is taken from the
	// module root.
	envDocsScreenshotOut = "ATENDE_DOCS_SCREENSHOT_OUT"
)

const (
	chromiumPath = "/usr/bin/chromium"
	// chromiumRunTimeout bounds one Chromium run. Rendering the contract takes seconds; the margin is for a
	// machine busy with the rest of the test suite.
	chromiumRunTimeout = 3 * time.Minute
	// redocVirtualTime is how much virtual time Chromium grants the page after it loads: Redoc renders the
	// inlined contract asynchronously, and --dump-dom and --screenshot would otherwise capture the empty
	// page.
	redocVirtualTime = "2000"
	// The screenshot's size.
	shotWidth, shotHeight = 1440, 2200
)

// TestDocsRenderInChromium loads /docs in headless Chromium, which dumps the rendered DOM, where every tag
// and every operation of the served contract must appear, and takes a screenshot, which must not be blank.
// Chromium runs behind a proxy that records every request it is asked to forward; loopback bypasses it, so
// any request it sees is the page reaching beyond atende.
//
// It does not run in parallel: rendering the whole contract is CPU-bound, and sharing the CPU with the
// package's parallel tests makes it several times slower.
func TestDocsRenderInChromium(t *testing.T) {
	chromium := chromiumOrSkip(t)
	env := apitest.New(t, store.SQLite)

	// The contract exactly as served: /docs inlines the same document.
	_, specYAML := env.Do(http.MethodGet, "/openapi.yaml", "", nil, nil)
	spec, err := openapi3.NewLoader().LoadFromData(specYAML)
	if err != nil {
		t.Fatalf("parse the served contract: %v", err)
	}
	resp, page := env.Do(http.MethodGet, "/docs", "", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /docs answered %d", resp.StatusCode)
	}
	if ext := remoteResources(string(page), env.URL); len(ext) > 0 {
		t.Errorf("the served /docs page loads resources from elsewhere: %q", ext)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("/docs must confine the page to its own origin with a Content-Security-Policy, got %q", csp)
	}

	// One run both dumps the DOM and takes the screenshot: rendering the whole contract is the slow part.
	proxy := newRecordingProxy(t)
	shotFile := filepath.Join(t.TempDir(), "api-docs.png")
	dom := runChromium(t, chromium, proxy.URL, "--dump-dom", "--screenshot="+shotFile,
		fmt.Sprintf("--window-size=%d,%d", shotWidth, shotHeight), "--hide-scrollbars", env.URL+"/docs")
	if reqs := proxy.pageRequests(t); len(reqs) > 0 {
		t.Errorf("rendering /docs reached beyond atende: %q", reqs)
	}
	checkRenderedDOM(t, string(dom), spec, env.URL)
	shot, err := os.ReadFile(shotFile)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	checkScreenshot(t, shot)
	if out := os.Getenv(envDocsScreenshotOut); out != "" {
		keepScreenshot(t, out, shot)
	}
}

// chromiumOrSkip returns Chromium's path, or skips the test when it is not installed (fails it when
// envRequireChromium is 1).
func chromiumOrSkip(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv(envRequireChromium) == "1" {
			t.Fatalf("%s=1 but %s is not usable (%v): install it with .ci/install-chromium", envRequireChromium, chromiumPath, err)
		}
		t.Skipf("%s is not installed (set %s=1 to fail instead)", chromiumPath, envRequireChromium)
	}
	return chromiumPath
}

// runChromium runs headless Chromium on a fresh profile with args appended and returns its standard output.
// The run is bounded by chromiumRunTimeout, and Chromium's whole process group is killed when it ends.
func runChromium(t *testing.T, chromium, proxyURL string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), chromiumRunTimeout)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--mute-audio", "--no-default-browser-check",
		"--disable-client-side-phishing-detection", "--disable-domain-reliability",
		"--disable-features=NetworkTimeServiceQuerying,OptimizationHints,OptimizationHintsFetching," +
			"OptimizationGuideModelDownloading,AutofillServerCommunication,MediaRouter,Translate",
		"--user-data-dir=" + t.TempDir(),
		"--proxy-server=" + proxyURL,
		"--virtual-time-budget=" + redocVirtualTime,
	}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if cmd.Process != nil {
		// Renderers and helpers left behind by the browser process share its group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("no result within %s: %w", chromiumRunTimeout, err)
		}
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, chromiumLog(stderr.String()))
	}
	t.Logf("chromium took %s", time.Since(start).Round(time.Millisecond))
	return stdout.Bytes()
}

// chromiumLog keeps Chromium's stderr lines worth reading: it complains about the missing D-Bus on every
// run.
func chromiumLog(stderr string) string {
	var b strings.Builder
	for line := range strings.Lines(stderr) {
		if !strings.Contains(line, "dbus") {
			b.WriteString(line)
		}
	}
	return b.String()
}

var (
	// scriptElement is a script element; the page inlines the Redoc bundle, whose text is no markup.
	scriptElement = regexp.MustCompile(`(?is)<script\b([^>]*)>.*?</script\s*>`)
	// styleElement is a style element, whose text may load URLs.
	styleElement = regexp.MustCompile(`(?is)<style\b[^>]*>(.*?)</style\s*>`)
	// loadingElement is the start tag of an element that fetches what its attributes name.
	loadingElement = regexp.MustCompile(`(?is)<(?:link|img|iframe|frame|source|embed|object|video|audio|track|input|image|use)\b[^>]*>`)
	// urlAttribute is an attribute holding a URL to fetch.
	urlAttribute = regexp.MustCompile(`(?is)\s(?:src|href|xlink:href|data|poster)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)`)
	// cssURL is a URL in a style sheet.
	cssURL = regexp.MustCompile(`(?is)(?:url\(\s*|@import\s+)("[^"]*"|'[^']*'|[^)\s;]+)`)
)

// remoteResources returns the URLs the markup loads from an origin other than origin. Inline data, blobs
// and fragments are local; a link to follow (an a element) loads nothing.
func remoteResources(markup, origin string) []string {
	var urls []string
	addAttrs := func(tag string) {
		for _, m := range urlAttribute.FindAllStringSubmatch(tag, -1) {
			urls = append(urls, unquote(m[1]))
		}
	}
	for _, m := range scriptElement.FindAllStringSubmatch(markup, -1) {
		addAttrs(m[1])
	}
	markup = scriptElement.ReplaceAllString(markup, "")
	for _, m := range styleElement.FindAllStringSubmatch(markup, -1) {
		for _, u := range cssURL.FindAllStringSubmatch(m[1], -1) {
			urls = append(urls, unquote(u[1]))
		}
	}
	for _, tag := range loadingElement.FindAllString(markup, -1) {
		addAttrs(tag)
	}
	self, _ := url.Parse(origin)
	var remote []string
	for _, raw := range urls {
		u, err := url.Parse(strings.TrimSpace(raw))
		switch {
		case err != nil:
			remote = append(remote, raw)
		case u.Scheme == "data" || u.Scheme == "blob":
			// Inline data, or an object the page made.
		case u.Host == "" && u.Scheme == "":
			// Relative: same origin.
		case u.Host != self.Host:
			remote = append(remote, raw)
		}
	}
	return remote
}

// unquote returns an attribute's value as written, quotes and character references removed.
func unquote(s string) string {
	s = strings.Trim(s, `"'`)
	return html.UnescapeString(s)
}

var (
	// tagName matches a start or end tag.
	tagName = regexp.MustCompile(`(?s)<[^>]*>`)
	// heading is an h2 element, the heading Redoc gives each tag and operation section.
	heading = regexp.MustCompile(`(?is)<h2\b[^>]*>(.*?)</h2>`)
	// menuItem is a start tag of an entry in Redoc's side menu.
	menuItem = regexp.MustCompile(`(?is)<li\b[^>]*\brole="menuitem"[^>]*>`)
	// ariaLabel is an aria-label attribute.
	ariaLabel = regexp.MustCompile(`(?is)\saria-label="([^"]*)"`)
	// httpVerb is the method badge, followed by the path, in an operation's endpoint box.
	httpVerb = regexp.MustCompile(`(?is)class="[^"]*\bhttp-verb ([a-z]+)"[^>]*>[^<]*</span>\s*<span\b[^>]*>([^<]*)</span>`)
)

// text returns the text of markup, with entities decoded and white space collapsed.
func text(markup string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagName.ReplaceAllString(markup, ""))), " ")
}

// checkRenderedDOM checks what Redoc drew: a section headed by each tag's name and by each operation's
// summary, the operation's method and path in its endpoint box, a side-menu entry for each, and no resource
// loaded from another origin.
func checkRenderedDOM(t *testing.T, dom string, spec *openapi3.T, origin string) {
	t.Helper()
	if ext := remoteResources(dom, origin); len(ext) > 0 {
		t.Errorf("the rendered /docs page loads resources from elsewhere: %q", ext)
	}
	markup := scriptElement.ReplaceAllString(dom, "")
	menu := map[string]bool{}
	for _, li := range menuItem.FindAllString(markup, -1) {
		if m := ariaLabel.FindStringSubmatch(li); m != nil {
			menu[text(m[1])] = true
		}
	}
	headings := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(markup, -1) {
		headings[text(m[1])] = true
	}
	if len(headings) == 0 {
		t.Fatalf("Redoc rendered no section: the DOM has no h2 (%d bytes)", len(dom))
	}

	// Every tag an operation is filed under; Redoc leaves out listed tags that have no operations.
	tags := map[string]bool{}
	var ops []docsOp
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, docsOp{method: strings.ToLower(method), path: path, op: op})
			for _, tag := range op.Tags {
				tags[tag] = true
			}
		}
	}
	if len(ops) == 0 {
		t.Fatal("the served contract has no operations")
	}
	for _, tag := range slices.Sorted(maps.Keys(tags)) {
		if !headings[tag] {
			t.Errorf("no section headed by tag %q", tag)
		}
		if !menu[tag] {
			t.Errorf("no menu entry for tag %q", tag)
		}
	}

	// Redoc renders every operation; one missing is a rendering failure, not a layout choice.
	sort.Slice(ops, func(i, j int) bool { return ops[i].String() < ops[j].String() })
	var missing []string
	for _, o := range ops {
		if problem := o.renderProblem(markup, menu); problem != "" {
			missing = append(missing, o.String()+": "+problem)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d operations are not rendered:\n  %s", len(missing), len(ops), strings.Join(missing, "\n  "))
	}
	t.Logf("rendered %d tags and %d operations (%d bytes of DOM)", len(tags), len(ops)-len(missing), len(dom))
}

// docsOp is an operation of the contract, to find in the rendered page.
type docsOp struct {
	method, path string
	op           *openapi3.Operation
}

func (o docsOp) String() string { return strings.ToUpper(o.method) + " " + o.path }

// title is what Redoc names the operation with: its summary, else its operationId, else the start of its
// description, else its path.
func (o docsOp) title() string {
	description := []rune(o.op.Description)
	for _, s := range []string{o.op.Summary, o.op.OperationID, string(description[:min(len(description), 50)]), o.path} {
		if s = strings.Join(strings.Fields(s), " "); s != "" {
			return s
		}
	}
	return ""
}

// renderProblem says what is missing of the operation in the rendered markup, or "" when nothing is.
func (o docsOp) renderProblem(markup string, menu map[string]bool) string {
	if !menu[o.title()] {
		return fmt.Sprintf("no menu entry %q", o.title())
	}
	if o.op.OperationID == "" {
		if !strings.Contains(markup, ">"+html.EscapeString(o.title())) {
			return fmt.Sprintf("no section headed %q", o.title())
		}
		return ""
	}
	// Redoc's section for an operation with an id carries id="operation/<operationId>"; it ends where the
	// next section starts.
	anchor := `id="operation/` + html.EscapeString(o.op.OperationID) + `"`
	start := strings.Index(markup, anchor)
	if start < 0 {
		return "no section " + anchor
	}
	section := markup[start:]
	if end := strings.Index(section[len(anchor):], `data-section-id="`); end >= 0 {
		section = section[:len(anchor)+end]
	}
	h := heading.FindStringSubmatch(section)
	if h == nil || text(h[1]) != o.title() {
		got := "none"
		if h != nil {
			got = fmt.Sprintf("%q", text(h[1]))
		}
		return fmt.Sprintf("section headed %s, want %q", got, o.title())
	}
	for _, m := range httpVerb.FindAllStringSubmatch(section, -1) {
		if m[1] == o.method && strings.HasSuffix(text(m[2]), o.path) {
			return ""
		}
	}
	return "no endpoint box showing " + o.String()
}

// checkScreenshot checks the PNG is a shotWidth × shotHeight picture of a drawn page: text in the side menu
// and in the content column, and the many colours of antialiased text and Redoc's theme.
func checkScreenshot(t *testing.T, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot is no PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != shotWidth || b.Dy() != shotHeight {
		t.Fatalf("the screenshot is %d×%d, want %d×%d", b.Dx(), b.Dy(), shotWidth, shotHeight)
	}
	regions := []struct {
		name string
		area image.Rectangle
		// minInk is the least share of the region's pixels that must be dark: text, icons, rules.
		minInk float64
	}{
		// Redoc's side menu is 260 px wide and lists the tags from the top.
		{"side menu", image.Rect(0, 0, 250, 1000), 0.005},
		// The middle column holds the introduction and the operations' descriptions.
		{"content", image.Rect(290, 0, 940, shotHeight), 0.005},
	}
	for _, r := range regions {
		ink, colours := inkAndColours(img, r.area)
		t.Logf("%s: %.2f%% dark pixels, %d colours", r.name, 100*ink, colours)
		if ink < r.minInk || colours < 16 {
			t.Errorf("the %s looks blank: %.2f%% dark pixels (want ≥ %.2f%%), %d colours (want ≥ 16)",
				r.name, 100*ink, 100*r.minInk, colours)
		}
	}
	if _, colours := inkAndColours(img, img.Bounds()); colours < 100 {
		t.Errorf("the screenshot has %d colours, want ≥ 100: the page was not drawn", colours)
	}
}

// inkAndColours returns the share of pixels in area darker than mid-grey, and how many colours it holds.
func inkAndColours(img image.Image, area image.Rectangle) (float64, int) {
	colours := map[[3]uint32]bool{}
	dark, n := 0, 0
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
			// Rec. 601 luma on 16-bit channels.
			if (299*r+587*g+114*b)/1000 < 0x8000 {
				dark++
			}
			n++
		}
	}
	return float64(dark) / float64(n), len(colours)
}

// keepScreenshot writes the screenshot to out; a relative out is taken from the module root.
func keepScreenshot(t *testing.T, out string, shot []byte) {
	t.Helper()
	if !filepath.IsAbs(out) {
		root, err := moduleRoot()
		if err != nil {
			t.Fatal(err)
		}
		out = filepath.Join(root, out)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of /docs written to %s", out)
}

// moduleRoot is the nearest directory above the working directory holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// recordingProxy is an HTTP proxy that forwards nothing: it records each request and refuses it.
type recordingProxy struct {
	URL  string
	mu   sync.Mutex
	seen []string
}

func newRecordingProxy(t *testing.T) *recordingProxy {
	p := &recordingProxy{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		target := r.URL.String()
		if r.Method == http.MethodConnect {
			target = r.Host
		}
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+target)
		p.mu.Unlock()
		http.Error(w, "this proxy forwards nothing", http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// pageRequests returns what the proxy was asked to fetch, less what Chromium asks its own services for.
func (p *recordingProxy) pageRequests(t *testing.T) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var page []string
	for _, r := range p.seen {
		if browserServiceRequest(r) {
			t.Logf("ignored chromium's own request: %s", r)
			continue
		}
		page = append(page, r)
	}
	return page
}

// browserServices are hosts Chromium itself calls (time, updates, sign-in, hints, autofill) despite the
// flags that turn most of them off; no page loads from them.
var browserServices = []string{
	"clients2.google.com", "update.googleapis.com", "accounts.google.com",
	"optimizationguide-pa.googleapis.com", "content-autofill.googleapis.com",
}

// browserServiceRequest reports whether a request the proxy saw ("METHOD target") is for a browser service.
func browserServiceRequest(r string) bool {
	_, target, _ := strings.Cut(r, " ")
	host := target
	if u, err := url.Parse(target); err == nil && u.Host != "" {
		host = u.Host
	}
	if h, _, found := strings.Cut(host, ":"); found {
		host = h
	}
	return slices.Contains(browserServices, host)
}
