package web_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/store/sqlite"
	"github.com/gownscan/gown/web"
)

// Hostile names a server's owner (or an attacker who got there first) can
// give databases and keys: script tags, an attribute breaking out of its
// quotes into an event handler, and terminal escapes. The payloads either
// open a dialog (alert) or set a sentinel global; neither may happen.
var hostile = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`'><svg onload=window.__gownPwned=1>`,
	"\x1b[31mred\x1b]0;pwned\x07",
}

// TestHostileNamesInChromium plants hostile names in real test-bed servers
// (the bed writes them; gown only reads): Redis keys named like ransom notes
// (they become the "where" of a compromise sign and part of a finding's
// title) and a hash whose field names carry payloads (sampled field paths),
// and MariaDB schemas named with payloads (the data listing). It scans them
// with the real pipeline, serves the store, and opens every page that shows
// them in Chromium: no dialog opens, the sentinel stays unset, no CSP
// violation is reported (so no inline script was even attempted), no
// element the payloads would make exists, and each name shows as text,
// terminal escapes as visible \x1b.
func TestHostileNamesInChromium(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "mariadb-open")
	ctx := t.Context()
	note := "All your data is backed up. To restore it pay 0.01 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh within 48 hours"
	cmds := [][]string{{"SELECT", "4"}}
	for i, h := range hostile {
		cmds = append(cmds, []string{"SET", "READ_ME_" + h, note}, []string{"HSET", fmt.Sprintf("user:%d", i), h + "email", "ann.lee@example.com"})
	}
	if err := redisDo(ctx, bed.Get("redis-open").Addr.String(), cmds); err != nil {
		t.Fatal(err)
	}
	maria := bed.Get("mariadb-open").Addr
	var sql strings.Builder
	for _, h := range hostile {
		q := strings.ReplaceAll(h, "`", "``")
		fmt.Fprintf(&sql, "CREATE DATABASE `%s`; CREATE TABLE `%s`.t (email VARCHAR(64)); INSERT INTO `%s`.t VALUES ('bo.kim@example.com');\n", q, q, q)
	}
	mctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(mctx, "mariadb", "--protocol=TCP", "-h", maria.Addr().String(), "-P", fmt.Sprint(maria.Port()),
		"-u", "root", "--default-character-set=utf8mb4", "-e", sql.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("plant MariaDB schemas: %v\n%s", err, out)
	}

	path := filepath.Join(t.TempDir(), "hostile.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	targets := []gown.Target{BedTarget(bed.Get("redis-open")), BedTarget(bed.Get("mariadb-open"))}
	for range 2 { // two scans, so that the diff page has both sides
		if err := RunScan(ctx, st, targets, ""); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	srv, _ := serve(t, path, web.Config{})
	var page struct{ Findings []gown.FindingRow }
	getJSON(t, srv.URL, "/api/scans/2/findings?per_page=500", &page)
	pages := []string{"/", "/scans", "/scans/2", "/scans/2?store=redis", "/diff?a=1&b=2", "/scans/2?class=email"}
	for _, f := range page.Findings {
		pages = append(pages, "/scans/2/findings/"+f.ID)
	}
	b := newBrowser(t, srv.URL)
	shown := map[string]bool{}
	for _, p := range pages {
		b.open(t, p)
		if v := eval[string](t, b, `String(window.__gownPwned)`); v != "undefined" {
			t.Errorf("%s: the sentinel was set (%s): a payload ran", p, v)
		}
		made := eval[[]string](t, b, `[...document.querySelectorAll('img[src="x"], svg[onload], [onerror], [onload], script:not([src="/assets/app.js"])')].map(e => e.outerHTML)`)
		for _, m := range made {
			t.Errorf("%s: a payload became an element: %s", p, m)
		}
		text := eval[string](t, b, `document.body.innerText`)
		if strings.ContainsAny(text, "\x1b\x07") {
			t.Errorf("%s: a raw terminal escape reached the page", p)
		}
		for _, h := range hostile {
			if want := visible(h); strings.Contains(text, want) {
				shown[h] = true
			}
		}
		if p == "/scans/2?store=redis" {
			b.shot(t, "hostile-names")
		}
		if strings.Contains(text, `READ_ME_<script>alert(1)</script>`) && strings.HasPrefix(p, "/scans/2/findings/") && !shown["shot"] {
			shown["shot"] = true
			b.shot(t, "hostile-finding")
		}
	}
	for _, h := range hostile {
		if !shown[h] {
			t.Errorf("%q never showed as text on any page", visible(h))
		}
	}
	t.Logf("visited %d pages; every hostile name showed as text: %q", len(pages), func() []string {
		var v []string
		for _, h := range hostile {
			v = append(v, visible(h))
		}
		return v
	}())
	b.checkClean(t)
}

// visible is how a name shows: control characters as escapes.
func visible(s string) string {
	return strings.NewReplacer("\x1b", `\x1b`, "\x07", `\x07`).Replace(s)
}
