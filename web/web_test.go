package web_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/web"
)

// get fetches a path and returns the response and its body.
func get(t *testing.T, base, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	return do(t, http.MethodGet, base, path, hdr...)
}

func do(t *testing.T, method, base, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func getJSON(t *testing.T, base, path string, v any, hdr ...string) {
	t.Helper()
	resp, body := get(t, base, path, hdr...)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %d %s\n%s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// checkHeaders asserts the headers every response carries.
func checkHeaders(t *testing.T, path string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") || strings.Contains(csp, "http") {
		t.Errorf("%s: CSP %q allows more than the dashboard itself", path, csp)
	}
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
		if h.Get(k) != v {
			t.Errorf("%s: %s %q, want %q", path, k, h.Get(k), v)
		}
	}
}

// everyPage lists one address of each page and API endpoint.
func everyPage(fid string) []string {
	return []string{"/", "/?scan=1", "/scans", "/scans/2", "/scans/2?severity=critical&store=redis&sort=items&order=asc&per_page=50&page=1",
		"/scans/2/findings/" + fid, "/diff", "/diff?a=1&b=2&kind=fixed", "/apps", "/apps/com.gown.shop", "/fleet",
		"/api/scans", "/api/scans/2", "/api/scans/2/findings?severity=high,critical", "/api/scans/2/findings/" + fid,
		"/api/trend", "/api/diff?a=1&b=2", "/api/apps", "/api/fleet", "/assets/app.css", "/assets/app.js", "/assets/icon.svg"}
}

// TestPagesAndAPI serves the store the real pipeline filled from the test
// bed and checks what each page and endpoint says against it.
func TestPagesAndAPI(t *testing.T) {
	srv, _ := serve(t, fixtureDB(t), web.Config{})
	var sum gown.ScanSummary
	getJSON(t, srv.URL, "/api/scans/2", &sum)
	if sum.Open < 4 || sum.Services < 5 || sum.Apps != 0 || sum.BySeverity[gown.SeverityCritical] == 0 || len(sum.ByClass) == 0 {
		t.Errorf("scan 2 summary: %+v; want the bed's open stores, critical findings and data classes", sum)
	}
	var all struct {
		Total    int64             `json:"total"`
		Pages    int64             `json:"pages"`
		Findings []gown.FindingRow `json:"findings"`
	}
	getJSON(t, srv.URL, "/api/scans/1/findings?per_page=500", &all)
	if all.Total < 8 || int64(len(all.Findings)) != all.Total {
		t.Fatalf("scan 1: %d findings, %d listed", all.Total, len(all.Findings))
	}
	var fid string
	stores := map[string]bool{}
	for _, f := range all.Findings {
		stores[f.Store] = true
		if f.Rule == "sensitive-data" && f.Store == "redis" {
			fid = f.ID
		}
	}
	for _, want := range []string{"redis", "mysql", "postgres", "memcached", "couchdb", ""} {
		if !stores[want] {
			t.Errorf("scan 1 has no finding of store %q (the app's have none): %v", want, stores)
		}
	}
	if fid == "" {
		t.Fatal("no sensitive-data finding on the open Redis")
	}
	for _, p := range everyPage(fid) {
		resp, body := get(t, srv.URL, p)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d\n%.500s", p, resp.StatusCode, body)
		}
		checkHeaders(t, p, resp.Header)
		// Every link and resource is the dashboard's own: server text
		// naming addresses (a cron job's URL) is only ever text.
		for _, attr := range []string{`src="http`, `href="http`, `src="//`, `href="//`, `action="http`} {
			if strings.Contains(body, attr) {
				t.Errorf("GET %s: the page holds %s…", p, attr)
			}
		}
	}

	// The findings page filters, sorts and pages as the API does.
	_, page := get(t, srv.URL, "/scans/1?severity=critical")
	var crit struct {
		Total int64 `json:"total"`
	}
	getJSON(t, srv.URL, "/api/scans/1/findings?severity=critical", &crit)
	if n := strings.Count(page, `<tr class="finding"`); int64(n) != crit.Total || n == 0 || strings.Count(page, `data-severity="critical"`) != n {
		t.Errorf("critical filter: %d rows, API total %d; every row must be critical", n, crit.Total)
	}
	if !strings.Contains(page, fmt.Sprintf(`data-total="%d"`, crit.Total)) {
		t.Error("the findings page does not state the filtered total")
	}
	var p1, p2 struct{ Findings []gown.FindingRow }
	getJSON(t, srv.URL, "/api/scans/1/findings?per_page=3&sort=target&order=asc", &p1)
	getJSON(t, srv.URL, "/api/scans/1/findings?per_page=3&sort=target&order=asc&page=2", &p2)
	if len(p1.Findings) != 3 || len(p2.Findings) != 3 || p1.Findings[2].Target.Host > p2.Findings[0].Target.Host {
		t.Errorf("pages by target: %v then %v", p1.Findings, p2.Findings)
	}
	var cls struct{ Findings []gown.FindingRow }
	getJSON(t, srv.URL, "/api/scans/1/findings?class=email", &cls)
	for _, f := range cls.Findings {
		if !strings.Contains(strings.Join(f.Classes, " "), "email") {
			t.Errorf("class filter let through %s with classes %v", f.ID, f.Classes)
		}
	}
	if len(cls.Findings) == 0 {
		t.Error("no finding names class email, though the bed planted e-mail addresses")
	}

	// A finding shows its evidence (redacted) and its data listing.
	_, fpage := get(t, srv.URL, "/scans/1/findings/"+fid)
	for _, want := range []string{"Evidence", "INFO", "Data listing", "db0", "What and where"} {
		if !strings.Contains(fpage, want) {
			t.Errorf("finding page lacks %q", want)
		}
	}
	// The diff: MariaDB stopped between the scans, the open Redis grew.
	var diff struct {
		Counts  map[string]int `json:"counts"`
		Entries []struct {
			Kind    string       `json:"kind"`
			Finding gown.Finding `json:"finding"`
		} `json:"entries"`
	}
	getJSON(t, srv.URL, "/api/diff?a=1&b=2", &diff)
	kinds := map[string]string{}
	for _, e := range diff.Entries {
		if e.Finding.Rule == "open-store" || e.Finding.Rule == "hardcoded-credential" {
			kinds[e.Finding.Store+" "+e.Finding.Rule] = e.Kind
		}
	}
	if kinds["mysql open-store"] != "fixed" || kinds["redis open-store"] != "grown" || kinds[" hardcoded-credential"] != "fixed" {
		t.Errorf("diff 1 → 2 kinds %v (counts %v): want MariaDB fixed, Redis grown, the app's credential fixed (not read again)", kinds, diff.Counts)
	}
	_, dpage := get(t, srv.URL, "/diff?a=1&b=2&kind=fixed")
	if strings.Count(dpage, `data-kind="fixed"`) != diff.Counts["fixed"] || strings.Contains(dpage, `data-kind="grown"`) {
		t.Error("the diff page's kind filter does not show exactly the fixed findings")
	}
	// Apps: the app read in scan 1, with where in it the credential is.
	_, apage := get(t, srv.URL, "/apps/com.gown.shop")
	if !strings.Contains(apage, "shop.apk!classes.dex @0x") || strings.Contains(apage, "s3cret-pw") {
		t.Error("the app page must show where in the app, and never the password")
	}
	// and the back ends it names, by party, as scan 1 stored the app.
	for _, w := range []string{"Back ends it names, by party", `<h3 class="party party-first">first party (2)</h3>`,
		"http://api.shop-gown.net/v1", "mongodb://db.shop-gown.net/app", "clear text allowed", "identity: package com.gown.shop"} {
		if !strings.Contains(apage, w) {
			t.Errorf("the app page lacks %q", w)
		}
	}
	// A store with no fleet scan: the fleet view says so, and shows none.
	_, fl := get(t, srv.URL, "/fleet")
	if !strings.Contains(fl, `id="no-fleet"`) || !strings.Contains(fl, "gown fleet import") || strings.Contains(fl, "<table") {
		t.Error("the fleet page of a store without fleet data must say so, and show none")
	}
	var nf struct {
		Available bool   `json:"available"`
		Reason    string `json:"reason"`
	}
	getJSON(t, srv.URL, "/api/fleet", &nf)
	if nf.Available || !strings.Contains(nf.Reason, "gown fleet scan") {
		t.Errorf("/api/fleet without fleet data: %+v", nf)
	}
}

// TestBadRequests: wrong parameters are 400, unknown scans and findings
// 404, each with the page or JSON error it should be.
func TestBadRequests(t *testing.T) {
	srv, _ := serve(t, fixtureDB(t), web.Config{})
	for p, want := range map[string]int{
		"/scans/1?severity=bogus": 400, "/api/scans/1/findings?sort=title": 400, "/api/scans/1/findings?per_page=100000": 400,
		"/api/scans/1/findings?page=0": 400, "/scans/999": 404, "/api/scans/999": 404, "/scans/1/findings/nope": 404,
		"/api/scans/x": 400, "/diff?kind=gone": 400, "/apps/no.such.app": 404, "/nowhere": 404, "/assets/secret": 404,
	} {
		resp, body := get(t, srv.URL, p)
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d\n%.300s", p, resp.StatusCode, want, body)
		}
		checkHeaders(t, p, resp.Header)
	}
}

// TestReadOnly: every method but GET and HEAD is refused on every route,
// and crawling every page leaves the database files byte for byte as they
// were.
func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "copy.db")
	src, err := os.ReadFile(fixtureDB(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	srv, _ := serve(t, path, web.Config{})
	before := fileSums(t, path)
	for _, p := range append(everyPage("x"), "/login?token=x", "/nowhere") {
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"} {
			if m == "CONNECT" {
				continue // net/http clients cannot send CONNECT to a path
			}
			resp, _ := do(t, m, srv.URL, p)
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d (Allow %q), want 405", m, p, resp.StatusCode, resp.Header.Get("Allow"))
			}
		}
		if resp, body := do(t, "HEAD", srv.URL, p); resp.StatusCode >= 500 || body != "" {
			t.Errorf("HEAD %s: %d, body %q", p, resp.StatusCode, body)
		}
		get(t, srv.URL, p)
	}
	if after := fileSums(t, path); after != before {
		t.Errorf("serving changed the database files:\nbefore %v\nafter  %v", before, after)
	}
	// The fleet view over a store holding a fleet reads only, too.
	fpath := filepath.Join(t.TempDir(), "fleet.db")
	fsrc, err := os.ReadFile(fleetDB(t))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(fpath, fsrc, 0o600)
	fsrv, _ := serve(t, fpath, web.Config{})
	before = fileSums(t, fpath)
	for _, p := range []string{"/fleet", "/fleet?scan=1", "/api/fleet", "/api/fleet?scan=1"} {
		get(t, fsrv.URL, p)
	}
	if after := fileSums(t, fpath); after != before {
		t.Errorf("serving the fleet view changed the database files")
	}
}

// fileSums hashes the database and its WAL.
func fileSums(t *testing.T, path string) string {
	var out []string
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %x", filepath.Base(p), sha256.Sum256(b)))
	}
	return strings.Join(out, ", ")
}

// TestToken: with a token set, nothing but the assets answers without it;
// the Bearer header and the cookie /login sets both let a request in.
func TestToken(t *testing.T) {
	tok := web.NewToken()
	srv, _ := serve(t, fixtureDB(t), web.Config{TokenHash: web.HashToken(tok)})
	for _, p := range []string{"/", "/scans/1", "/api/scans", "/api/scans/1/findings"} {
		if resp, body := get(t, srv.URL, p); resp.StatusCode != 401 || strings.Contains(body, "redis") {
			t.Errorf("GET %s without a token: %d", p, resp.StatusCode)
		}
		if resp, _ := get(t, srv.URL, p, "Authorization", "Bearer "+web.NewToken()); resp.StatusCode != 401 {
			t.Errorf("GET %s with a wrong token: %d", p, resp.StatusCode)
		}
		if resp, _ := get(t, srv.URL, p, "Authorization", "Bearer "+tok); resp.StatusCode != 200 {
			t.Errorf("GET %s with the token: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := get(t, srv.URL, "/assets/app.css"); resp.StatusCode != 200 {
		t.Errorf("the style sheet needs no token: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv.URL, "/login?token="+web.NewToken()); resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Errorf("login with a wrong token: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	resp, _ := get(t, srv.URL, "/login?token="+tok)
	cs := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || len(cs) != 1 {
		t.Fatalf("login: %d to %q, cookies %v", resp.StatusCode, resp.Header.Get("Location"), cs)
	}
	c := cs[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Value == tok || strings.Contains(c.Value, tok) {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, and not the token", c)
	}
	if resp, _ := get(t, srv.URL, "/scans", "Cookie", c.Name+"="+c.Value); resp.StatusCode != 200 {
		t.Errorf("with the session cookie: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv.URL, "/scans", "Cookie", c.Name+"="+web.NewToken()); resp.StatusCode != 401 {
		t.Errorf("with a made-up session: %d", resp.StatusCode)
	}
}

// TestHostNames: a request naming another host (a DNS-rebinding page) is
// refused; IP addresses, localhost and allowed names are served.
func TestHostNames(t *testing.T) {
	srv, _ := serve(t, fixtureDB(t), web.Config{AllowedHosts: []string{"gown.lan"}})
	for host, want := range map[string]int{"evil.example": 421, "evil.example:80": 421, "localhost.evil.example": 421,
		"localhost:8080": 200, "127.0.0.1:8080": 200, "[::1]:8080": 200, "gown.lan": 200, "GOWN.LAN:443": 200} {
		if resp, _ := get(t, srv.URL, "/scans", "Host", host); resp.StatusCode != want {
			t.Errorf("Host %s: %d, want %d", host, resp.StatusCode, want)
		}
	}
}
