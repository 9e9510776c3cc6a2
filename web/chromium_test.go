package web_test

import (
	"strings"
	"testing"

	"github.com/gownscan/gown/web"
)

// TestDashboardInChromium loads every page of a dashboard over the store
// the real pipeline filled from the test bed in headless Chromium, uses the
// filters, the sorting and the pages as a reader would (clicks, the filter
// form's script), checks the DOM after each step against the API, and
// writes a screenshot of each page. Throughout, no request may leave the
// dashboard, no CSP violation or script error may occur.
func TestDashboardInChromium(t *testing.T) {
	srv, _ := serve(t, fixtureDB(t), web.Config{})
	b := newBrowser(t, srv.URL)

	b.open(t, "/")
	if n := eval[int](t, b, `document.querySelectorAll("#cards .card").length`); n != 5 {
		t.Errorf("overview: %d summary cards, want 5", n)
	}
	for sel, least := range map[string]int{"#chart-bytes a.bar": 4, "#chart-records a.bar": 4, "#chart-severity a.bar": 5,
		"#chart-classes a.bar": 3, "#chart-trend-findings a.col": 2, "#chart-trend-bytes a.col": 2} {
		if n := eval[int](t, b, `document.querySelectorAll("`+sel+`").length`); n < least {
			t.Errorf("overview: %d × %s, want at least %d", n, sel, least)
		}
	}
	b.shot(t, "overview")

	// A severity bar is a link to the findings of that severity.
	b.click(t, "#chart-severity a.bar")
	b.waitFor(t, "the critical findings", `location.pathname === "/scans/2" && location.search.includes("severity=critical")`)
	checkRows(t, b, "critical", "")

	b.open(t, "/scans/2")
	total := eval[int](t, b, `Number(document.getElementById("total").dataset.total)`)
	if rows := eval[int](t, b, `document.querySelectorAll("tr.finding").length`); rows != total || total < 10 {
		t.Errorf("findings page: %d rows of %d", rows, total)
	}
	b.shot(t, "findings")

	// Filters apply on change (the page's script submits the form).
	b.click(t, `input[name=severity][value=high]`)
	b.waitFor(t, "the high filter", `location.search.includes("severity=high")`)
	checkRows(t, b, "high", "")
	eval[bool](t, b, `(() => { const s = document.querySelector("select[name=store]");
		s.value = "redis"; s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`)
	b.waitFor(t, "the store filter", `location.search.includes("store=redis")`)
	checkRows(t, b, "high", "redis")
	b.shot(t, "findings-filtered")
	b.click(t, "#clear")
	b.waitFor(t, "cleared filters", `location.search === ""`)
	eval[bool](t, b, `(() => { const s = document.querySelector("select[name=class]"); s.value = "email";
		s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`)
	b.waitFor(t, "the class filter", `location.search.includes("class=email")`)
	if n := eval[int](t, b, `[...document.querySelectorAll("tr.finding")].filter(r => !r.textContent.includes("email")).length`); n != 0 {
		t.Errorf("class filter: %d rows do not name email", n)
	}

	// Sorting by a column, then paging keeps the sort.
	b.open(t, "/scans/2?per_page=4")
	b.click(t, `th a[href*="sort=items"]`)
	b.waitFor(t, "sort by records", `location.search.includes("sort=items")`)
	if aria := eval[string](t, b, `document.querySelector('th[aria-sort]').textContent + " " + document.querySelector('th[aria-sort]').getAttribute("aria-sort")`); aria != "Records descending" {
		t.Errorf("sorted column: %q", aria)
	}
	items := eval[[]string](t, b, `[...document.querySelectorAll("tr.finding td:nth-child(5)")].map(td => td.textContent)`)
	b.click(t, "#next")
	b.waitFor(t, "page 2", `location.search.includes("page=2")`)
	if from := eval[string](t, b, `document.getElementById("from").textContent`); from != "5" {
		t.Errorf("page 2 starts at finding %s, want 5", from)
	}
	if !strings.Contains(eval[string](t, b, `location.search`), "sort=items") {
		t.Error("paging lost the sort")
	}
	t.Logf("records on page 1, most first: %v", items)

	// A finding, from its row: evidence, listing, what to do.
	b.open(t, "/scans/2?severity=critical&store=redis")
	b.click(t, "tr.finding a.title")
	b.waitFor(t, "a finding", `location.pathname.includes("/findings/")`)
	if n := eval[int](t, b, `document.querySelectorAll(".ex pre").length`); n < 2 {
		t.Errorf("finding page: %d evidence blocks", n)
	}
	if !eval[bool](t, b, `document.body.textContent.includes("Fix:") && !!document.getElementById("databases")`) {
		t.Error("finding page lacks the fix or the data listing")
	}
	b.shot(t, "finding")

	b.open(t, "/scans")
	if n := eval[int](t, b, `document.querySelectorAll("#scans tbody tr").length`); n != 2 {
		t.Errorf("scans page: %d rows, want 2", n)
	}
	b.shot(t, "scans")

	b.open(t, "/diff")
	b.click(t, `#kinds a[href*="kind=fixed"]`)
	b.waitFor(t, "the fixed findings", `location.search.includes("kind=fixed")`)
	if !eval[bool](t, b, `[...document.querySelectorAll("tr.change")].every(r => r.dataset.kind === "fixed") && document.querySelectorAll("tr.change").length > 0`) {
		t.Error("diff: the fixed filter shows other changes, or none")
	}
	b.open(t, "/diff")
	if n := eval[int](t, b, `document.querySelectorAll("tr.change[data-kind=grown]").length`); n != 1 {
		t.Errorf("diff: %d grown rows, want the open Redis's one", n)
	}
	b.shot(t, "diff")

	b.open(t, "/apps")
	b.shot(t, "apps")
	b.click(t, "#apps a")
	b.waitFor(t, "the app", `location.pathname === "/apps/com.gown.shop"`)
	if !eval[bool](t, b, `document.body.textContent.includes("shop.apk!classes.dex @0x")`) {
		t.Error("app page: no location in the app")
	}
	b.shot(t, "app")

	b.open(t, "/fleet")
	if !eval[bool](t, b, `document.getElementById("no-fleet").textContent.includes("gown fleet import")`) {
		t.Error("fleet page of a store without a fleet: it does not say how to get one")
	}
	b.checkClean(t)

	// The fleet view of a store holding the sample fleet and a fleet scan.
	fsrv, _ := serve(t, fleetDB(t), web.Config{})
	b.mu.Lock()
	b.origin, b.reqs = fsrv.URL, nil // a second dashboard: its own origin
	b.mu.Unlock()
	b.open(t, "/fleet")
	if n := eval[int](t, b, `document.querySelectorAll("#fleet-tree li.backend").length`); n != 4 {
		t.Errorf("fleet page: %d back ends in the tree, want 4", n)
	}
	if n := eval[int](t, b, `document.querySelectorAll("tr.fleet-device").length`); n != 50 {
		t.Errorf("fleet page: %d devices, want 50", n)
	}
	b.shot(t, "fleet")
	b.checkClean(t)
}

// checkRows asserts every finding row has the severity (and store) and
// their count is the page's total.
func checkRows(t *testing.T, b *browser, sev, store string) {
	t.Helper()
	rows := eval[[]map[string]string](t, b, `[...document.querySelectorAll("tr.finding")].map(r => ({sev: r.dataset.severity, store: r.dataset.store}))`)
	total := eval[int](t, b, `Number(document.getElementById("total").dataset.total)`)
	if len(rows) == 0 || len(rows) != total {
		t.Errorf("%s %s: %d rows, total %d", sev, store, len(rows), total)
	}
	for _, r := range rows {
		if r["sev"] != sev || store != "" && r["store"] != store {
			t.Errorf("filter %s %s let through a row %v", sev, store, r)
		}
	}
}
