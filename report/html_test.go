package report_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/gownscan/gown/report"
)

// TestHTMLInert checks that hostile server text stays text: one script
// element (gown's own), no element or attribute from the fixture's hostile
// strings, and nothing that would load from the network.
func TestHTMLInert(t *testing.T) {
	page := string(render(t, "html", fixtureMeta(), fixture()))
	if n := strings.Count(strings.ToLower(page), "<script"); n != 1 {
		t.Errorf("%d script elements, want only gown's own", n)
	}
	for _, bad := range []string{"<img", "<script>alert"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds live %q", bad)
		}
	}
	// An event handler inside a real tag would run; as escaped text it is inert.
	if m := regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+\s*=`).FindAllString(page, -1); len(m) > 0 {
		t.Errorf("page holds live event handlers: %q", m)
	}
	if !strings.Contains(page, "&lt;script&gt;alert(") {
		t.Error("hostile evidence is not shown escaped")
	}
	// Nothing may load or link out: no URL in src, href, action, srcset,
	// poster or CSS url(); absolute URLs may appear only as plain text.
	refs := regexp.MustCompile(`(?i)(\b(src|href|action|srcset|poster|data|formaction|xlink:href)\s*=\s*["']?\s*(https?:|//|file:|ftp:))|url\(\s*["']?\s*(https?:|//)|@import`)
	if m := refs.FindAllString(page, -1); len(m) > 0 {
		t.Errorf("page references the network: %q", m)
	}
	if !strings.Contains(page, `http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;`) {
		t.Error("page lacks its Content-Security-Policy")
	}
	for _, want := range []string{"Open stores", "Compromised", "read_me", "Findings by severity", "Services by store", "Masked examples", "redis-cron",
		"Sensitive data by class", `<details>`, `id="findings"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestHTMLGroupsEvidenceAppsCWE: findings grouped by store with the
// store's classes once; evidence shown with real line ends; the apps
// section lists the app (from its findings, and from the app object when
// given); each rule's CWE named.
func TestHTMLGroupsEvidenceAppsCWE(t *testing.T) {
	page := string(render(t, "html", fixtureMeta(), fixture()))
	if n := strings.Count(page, `<tbody class="group"`); n != 13 {
		t.Errorf("%d groups, want 13 (the app, the honeypot address, the 8 stores with findings, the 3 back ends the capture reached in clear)", n)
	}
	// MariaDB's classes appear once, on its group, not on each finding.
	if n := strings.Count(page, `<span class="chip">postal-address</span>`); n != 1 {
		t.Errorf("postal-address chip %d times, want once", n)
	}
	if !strings.Contains(page, "redis_version:7.0.15\nredis_mode:standalone\n") || strings.Contains(page, `redis_version:7.0.15\r\n`) {
		t.Error("evidence is not shown with real line ends")
	}
	if !strings.Contains(page, `<h2 id="s-apps">Apps</h2>`) || !strings.Contains(page, "build/shop.apk") {
		t.Error("no apps section for the app's findings")
	}
	for _, cwe := range []string{"CWE-306", "CWE-200", "CWE-798", "CWE-319"} {
		if !strings.Contains(page, `<span class="cwe">`+cwe+`</span>`) {
			t.Errorf("page lacks %s", cwe)
		}
	}
	// With the app object (gown app --json read back), its back ends.
	var b bytes.Buffer
	h := report.NewHTML(&b)
	h.Begin(fixtureMeta())
	if err := h.AddApp(fixtureApp()); err != nil {
		t.Fatal(err)
	}
	for _, e := range fixture() {
		h.Add(e.r, e.fs)
	}
	h.End()
	withApp := b.String()
	if !strings.Contains(withApp, "Apps read") || !strings.Contains(withApp, "http://api.shop-api.example/v1/") ||
		!strings.Contains(withApp, `<span class="chip fp">first party</span>`) {
		t.Error("the app object's back ends are not listed")
	}
}
