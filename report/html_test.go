package report_test

import (
	"regexp"
	"strings"
	"testing"
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
