package web_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// updateShots writes the screenshots to docs/dashboard (committed) instead
// of the artifact folder: go test ./web/ -run Chromium -screenshots.
var updateShots = flag.Bool("screenshots", false, "write the dashboard screenshots to docs/dashboard/")

// shotDir is where screenshots go.
func shotDir(t testing.TB) string {
	dir := filepath.Join("..", "docs", "dashboard")
	if !*updateShots {
		if dir = os.Getenv("GOWN_ARTIFACTS"); dir == "" {
			dir = filepath.Join(os.TempDir(), "gown-artifacts", "dashboard")
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// requireChromium finds Debian's chromium (scripts/install-deps.sh installs
// it). Without it the test is skipped locally and fails in CI, where a
// skipped browser test would hide a broken dashboard.
func requireChromium(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("chromium")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("chromium is not installed (apt-get install chromium): %v", err)
	}
	t.Skipf("chromium is not installed (apt-get install chromium): %v", err)
	return ""
}

// browser is one headless Chromium tab with a record of what it did: every
// request it sent, every console or CSP message, every exception and every
// JavaScript dialog that opened (dismissed at once).
type browser struct {
	ctx    context.Context
	origin string
	mu     sync.Mutex
	reqs   []string
	logs   []string
	errs   []string
	dialog []string
}

// newBrowser starts Chromium for the test: headless, no sandbox (CI runs
// as root), no GPU, and none of the background traffic to Google (the
// flags scripts/install-deps.sh's note names), with a fresh profile.
func newBrowser(t testing.TB, origin string) *browser {
	path := requireChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1440, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.WithoutCancel(t.Context()), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	b := &browser{ctx: ctx, origin: origin}
	dialogs := make(chan struct{}, 64)
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			b.reqs = append(b.reqs, e.Request.URL)
		case *log.EventEntryAdded:
			b.logs = append(b.logs, fmt.Sprintf("%s %s: %s", e.Entry.Level, e.Entry.Source, e.Entry.Text))
		case *runtime.EventExceptionThrown:
			b.errs = append(b.errs, e.ExceptionDetails.Text)
		case *page.EventJavascriptDialogOpening:
			b.dialog = append(b.dialog, fmt.Sprintf("%s: %q", e.Type, e.Message))
			select {
			case dialogs <- struct{}{}:
			default:
			}
		}
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// A dialog blocks the page; close each so the test can go on and
	// report it rather than hang.
	go func() {
		for {
			select {
			case <-dialogs:
				chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			case <-ctx.Done():
				return
			}
		}
	}()
	return b
}

// open loads a page and waits until its script has run.
func (b *browser) open(t testing.TB, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(b.origin+path)); err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	b.waitFor(t, path, "true")
}

// eval evaluates a JavaScript expression in the page (through the
// DevTools protocol: the page's CSP does not apply to it).
func eval[T any](t testing.TB, b *browser, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("eval %s: %v", js, err)
	}
	return v
}

// waitFor waits until a JavaScript predicate holds (after a navigation
// a form or a link started). It evaluates the predicate afresh each time:
// a navigation destroys the page a running evaluation belongs to.
func (b *browser) waitFor(t testing.TB, what, js string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`) && document.readyState === "complete" && document.documentElement.dataset.js === "ready"`))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s (%s): %v", what, js, last)
}

// click clicks the first element a CSS selector matches.
func (b *browser) click(t testing.TB, sel string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// shot takes a full-page screenshot, checks it shows a page (a PNG of the
// window's width, more than a few colours), and writes it as name.png.
func (b *browser) shot(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	data, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", name, err)
	}
	if bd := img.Bounds(); bd.Dx() < 1000 || bd.Dy() < 400 {
		t.Errorf("screenshot %s is %v", name, bd)
	}
	if n := colours(img, 32); n < 12 {
		t.Errorf("screenshot %s has %d colours on a sample grid: a blank page", name, n)
	}
	p := filepath.Join(shotDir(t), name+".png")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", p, len(data))
}

func colours(img image.Image, step int) int {
	seen := map[[4]uint32]bool{}
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y += step {
		for x := bd.Min.X; x < bd.Max.X; x += step / 4 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

// checkClean asserts the browser sent no request off the dashboard, met
// no Content-Security-Policy violation, threw nothing and opened no dialog.
func (b *browser) checkClean(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.reqs) == 0 {
		t.Error("the browser recorded no request at all: the recorder is broken")
	}
	for _, u := range b.reqs {
		if !strings.HasPrefix(u, b.origin+"/") {
			t.Errorf("a request left the dashboard: %s", u)
		}
	}
	for _, l := range b.logs {
		if strings.Contains(l, "Content Security Policy") || strings.Contains(l, "Content-Security-Policy") || strings.HasPrefix(l, "error") {
			t.Errorf("browser log: %s", l)
		}
	}
	for _, e := range b.errs {
		t.Errorf("script exception: %s", e)
	}
	for _, d := range b.dialog {
		t.Errorf("a JavaScript dialog opened: %s", d)
	}
	t.Logf("%d requests, all to %s; %d log entries; no dialog, no exception", len(b.reqs), b.origin, len(b.logs))
}
