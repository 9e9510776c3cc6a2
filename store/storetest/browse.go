package storetest

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/gownscan/gown"
)

// testBrowse checks the dashboard's reads (gown.Browser): pages of a scan's
// findings filtered by severity, store, class, rule, host and origin, sorted
// each way, paged without gaps or repeats; a scan's summary counts; the
// trend over scans; the apps; one finding with its result.
func testBrowse(t *testing.T, s gown.Store) {
	br, ok := s.(gown.Browser)
	if !ok {
		t.Fatalf("%T does not implement gown.Browser", s)
	}
	ctx := t.Context()
	first := begin(t, s)
	add(t, s, first, Open(Target("10.0.0.1", 6379), "redis", gown.Database{Name: "db0", Items: 5, Bytes: 50}))
	id := begin(t, s)
	var recs []gown.Record
	for i := range 30 {
		tg := Target(fmt.Sprintf("10.0.1.%d", i), 6379)
		switch i % 3 {
		case 0:
			r := Open(tg, "redis", gown.Database{Name: "db0", Items: uint64(i + 1), Bytes: uint64(10 * (i + 1))})
			// A class list whose name holds LIKE's wildcards must match
			// only itself.
			r.Findings[0].Classes = []string{"email", "a_b%"}
			if i == 0 {
				r.Findings[0].Classes = []string{"phone"}
			}
			recs = append(recs, r)
		case 1:
			recs = append(recs, Auth(tg, "mysql"))
		default:
			recs = append(recs, Closed(tg))
		}
	}
	// A hostile server's saturated count must not break the sums.
	huge := Open(Target("10.0.2.1", 9200), "elasticsearch", gown.Database{Name: "i", Items: math.MaxUint64, Bytes: math.MaxUint64})
	huge2 := Open(Target("10.0.2.2", 9200), "elasticsearch", gown.Database{Name: "i", Items: math.MaxUint64, Bytes: 1})
	app := []gown.Finding{AppFinding("com.example.shop", "hardcoded-credential", 7)}
	recs = append(recs, huge, huge2, gown.Record{Findings: app})
	add(t, s, id, recs...)

	page := func(q gown.FindingQuery) gown.FindingPage {
		t.Helper()
		p, err := br.FindingPage(ctx, id, q)
		if err != nil {
			t.Fatalf("FindingPage(%+v): %v", q, err)
		}
		return p
	}
	all := page(gown.FindingQuery{Limit: gown.MaxFindingPage})
	if all.Total != 23 || len(all.Rows) != 23 {
		t.Fatalf("all findings: total %d, %d rows; want 23 (12 open, 10 auth, 1 app)", all.Total, len(all.Rows))
	}
	for i := 1; i < len(all.Rows); i++ {
		if all.Rows[i].Severity > all.Rows[i-1].Severity {
			t.Fatalf("default order is not most severe first at %d: %v after %v", i, all.Rows[i].Severity, all.Rows[i-1].Severity)
		}
	}
	// Pages of 5 in every sort, both ways, cover every finding once.
	for _, sort := range gown.FindingSorts {
		for _, asc := range []bool{false, true} {
			seen := map[string]bool{}
			for off := 0; off < 30; off += 5 {
				for _, r := range page(gown.FindingQuery{Sort: sort, Asc: asc, Offset: off, Limit: 5}).Rows {
					if seen[r.ID] {
						t.Errorf("sort %s asc=%v: %s on two pages", sort, asc, r.ID)
					}
					seen[r.ID] = true
				}
			}
			if len(seen) != 23 {
				t.Errorf("sort %s asc=%v: pages covered %d findings, want 23", sort, asc, len(seen))
			}
		}
	}
	byItems := page(gown.FindingQuery{Sort: gown.SortItems, Limit: 1})
	if byItems.Rows[0].Items != math.MaxInt64 {
		t.Errorf("biggest finding first holds %d items, want the clamped maximum", byItems.Rows[0].Items)
	}
	for _, c := range []struct {
		q    gown.FindingQuery
		want int64
	}{
		{gown.FindingQuery{Severities: []gown.Severity{gown.SeverityLow}}, 10},
		{gown.FindingQuery{Severities: []gown.Severity{gown.SeverityLow, gown.SeverityMedium}}, 11},
		{gown.FindingQuery{Store: "redis"}, 10},
		{gown.FindingQuery{Store: "redis", Severities: []gown.Severity{gown.SeverityLow}}, 0},
		{gown.FindingQuery{Class: "email"}, 9},
		{gown.FindingQuery{Class: "a_b%"}, 9},
		{gown.FindingQuery{Class: "axb"}, 0},
		{gown.FindingQuery{Class: "phone"}, 1},
		{gown.FindingQuery{Rule: "auth-without-tls"}, 10},
		{gown.FindingQuery{Host: "10.0.1.4"}, 1},
		{gown.FindingQuery{Origin: "app"}, 1},
		{gown.FindingQuery{Origin: "cli"}, 22},
	} {
		if got := page(c.q); got.Total != c.want || int64(len(got.Rows)) != min(c.want, 100) {
			t.Errorf("FindingPage(%+v): total %d, %d rows; want %d", c.q, got.Total, len(got.Rows), c.want)
		}
	}
	appRow := page(gown.FindingQuery{Origin: "app"}).Rows[0]
	if appRow.Target.Host != "com.example.shop" || len(appRow.Locations) != 1 || appRow.Status != "" {
		t.Errorf("app finding row %+v: want the app's id, its location and no result", appRow)
	}
	redisRow := page(gown.FindingQuery{Host: "10.0.1.4"}).Rows[0]
	if redisRow.Product != "MariaDB" || redisRow.Status != gown.StatusAuthRequired || redisRow.TLS != gown.TLSNone {
		t.Errorf("service finding row %+v: want its result's product, status and TLS", redisRow)
	}
	if _, err := br.FindingPage(ctx, id, gown.FindingQuery{Sort: "title; DROP TABLE scans"}); err == nil {
		t.Error("an unknown sort was accepted")
	}
	if _, err := br.FindingPage(ctx, id, gown.FindingQuery{Limit: gown.MaxFindingPage + 1}); err == nil {
		t.Error("a page over the cap was accepted")
	}

	sum, err := br.ScanSummary(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Services != 22 || sum.Open != 12 || sum.Hosts != 22 || sum.Apps != 1 || sum.Scan.ID != id {
		t.Errorf("summary services %d open %d hosts %d apps %d; want 22, 12, 22, 1", sum.Services, sum.Open, sum.Hosts, sum.Apps)
	}
	if sum.Items < math.MaxInt64 || sum.BySeverity[gown.SeverityHigh] != 12 || sum.BySeverity[gown.SeverityLow] != 10 ||
		sum.BySeverity[gown.SeverityMedium] != 1 {
		t.Errorf("summary items %d, by severity %v", sum.Items, sum.BySeverity)
	}
	var redisItems uint64
	for i := 0; i < 30; i += 3 {
		redisItems += uint64(i + 1)
	}
	if st := sum.ByStore; len(st) != 3 || st[2] != (gown.StoreCount{Store: "redis", Services: 10, Open: 10, Items: redisItems, Bytes: 10 * redisItems}) {
		t.Errorf("by store %+v; want elasticsearch, mysql, then redis with 10 open holding %d items", st, redisItems)
	}
	if c := sum.ByClass; len(c) != 3 || c[0] != (gown.NameCount{Name: "a_b%", Count: 9}) || c[2] != (gown.NameCount{Name: "phone", Count: 1}) {
		t.Errorf("by class %+v", c)
	}
	fc, err := br.Facets(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if fc.BySeverity != sum.BySeverity || len(fc.Stores) != 3 || fc.Stores[0] != "elasticsearch" || fc.Stores[2] != "redis" {
		t.Errorf("facets %+v; want the summary's severities and elasticsearch, mysql, redis", fc)
	}

	trend, err := br.Trend(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(trend) != 2 || trend[0].Meta.ID != first || trend[1].Meta.ID != id || trend[0].Open != 1 || trend[0].Items != 5 ||
		trend[1].BySeverity[gown.SeverityLow] != 10 || trend[1].Open != 12 {
		t.Errorf("trend %+v", trend)
	}
	apps, err := br.Apps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 1 || apps[0] != (gown.AppSummary{ID: "com.example.shop", Scan: id, Findings: 1, Worst: gown.SeverityMedium, FirstSeen: id}) {
		t.Errorf("apps %+v", apps)
	}

	d, err := br.FindingDetail(ctx, id, recs[0].Findings[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Result == nil || len(d.Result.Evidence) != 1 || len(d.Result.Inventory.Databases) != 1 || d.FirstSeen != id || d.LastSeen != id ||
		d.Finding.Title != recs[0].Findings[0].Title || d.Finding.Classes[0] != "phone" {
		t.Errorf("detail %+v (result %+v)", d, d.Result)
	}
	d, err = br.FindingDetail(ctx, id, app[0].ID)
	if err != nil || d.Result != nil || len(d.Finding.Locations) != 1 || d.Finding.Target.Origin != "app" {
		t.Errorf("app finding detail %+v, %v", d, err)
	}
	if _, err := br.FindingDetail(ctx, first, app[0].ID); !errors.Is(err, gown.ErrNoFinding) {
		t.Errorf("a finding of another scan: %v, want ErrNoFinding", err)
	}
}
