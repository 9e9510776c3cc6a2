package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store/sqlite"
	"github.com/gownscan/gown/store/storetest"
	"github.com/gownscan/gown/web"
)

// benchFindings is how many findings the benchmark store holds.
const benchFindings = 100_000

// bigStore is a store of one scan with benchFindings findings, written
// through the store API as a scan writes them: 50,000 open stores, each
// with its inventory, evidence, an open-store finding and a sensitive-data
// finding naming data classes; built once per test binary.
var bigStore struct {
	once sync.Once
	path string
	err  error
}

var benchClasses = [][]string{{"email", "phone"}, {"payment-card", "name"}, {"password-hash", "email"}, {"geo"}, {"access-token", "ip-address"}}

func bigDB(b *testing.B) string {
	bigStore.once.Do(func() {
		ctx := context.WithoutCancel(b.Context())
		began := time.Now()
		bigStore.path = filepath.Join(tmpRoot, "big.db")
		st, err := sqlite.Open(ctx, bigStore.path)
		if err != nil {
			bigStore.err = err
			return
		}
		defer st.Close()
		id, err := st.BeginScan(ctx, gown.ScanMeta{Args: []string{"-l", "big.txt"}, Version: "bench"})
		if err != nil {
			bigStore.err = err
			return
		}
		stores := []string{"redis", "elasticsearch", "mongodb", "couchdb", "mysql"}
		batch := make([]gown.Record, 0, 500)
		for i := range benchFindings / 2 {
			tg := storetest.Target(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), 6379+i%5)
			kind := stores[i%len(stores)]
			rec := storetest.Open(tg, kind, gown.Database{Name: "users", Items: uint64(100 + i%900), Bytes: uint64(4096 * (1 + i%50))},
				gown.Database{Name: "orders", Items: uint64(i % 77), Bytes: 1024})
			sens := gown.Finding{Rule: "sensitive-data", Store: kind, Target: tg, Severity: gown.SeverityCritical,
				Title: "holds personal data", Items: rec.Findings[0].Items, Bytes: rec.Findings[0].Bytes, Classes: benchClasses[i%len(benchClasses)]}
			sens.ID = gown.FindingID(sens.Rule, kind, tg)
			if i%3 == 0 {
				sens.Severity, sens.Rule = gown.SeverityMedium, "outdated-version"
				sens.ID, sens.Classes = gown.FindingID(sens.Rule, kind, tg), nil
			}
			rec.Findings = append(rec.Findings, sens)
			batch = append(batch, rec)
			if len(batch) == cap(batch) {
				if err := addBatch(ctx, st, id, batch); err != nil {
					bigStore.err = err
					return
				}
				batch = batch[:0]
			}
		}
		if err := addBatch(ctx, st, id, batch); err != nil {
			bigStore.err = err
			return
		}
		bigStore.err = st.FinishScan(ctx, id, gown.ScanDone)
		b.Logf("built a store of %d findings in %v", benchFindings, time.Since(began).Round(time.Millisecond))
	})
	if bigStore.err != nil {
		b.Fatal(bigStore.err)
	}
	return bigStore.path
}

func addBatch(ctx context.Context, st gown.Store, id gown.ScanID, batch []gown.Record) error {
	if len(batch) == 0 {
		return nil
	}
	return st.AddResults(ctx, id, batch)
}

// BenchmarkFindingsPage times the server's whole answer (request to last
// byte) for pages of a scan holding 100,000 findings: the first page as a
// reader opens it, a filtered one, the last page, the overview, and the
// API's first page.
func BenchmarkFindingsPage(b *testing.B) {
	srv, _ := serve(b, bigDB(b), web.Config{})
	for _, c := range []struct{ name, path string }{
		{"first", "/scans/1"},
		{"filtered", "/scans/1?severity=critical&store=redis&class=email"},
		{"last", "/scans/1?page=1000"},
		{"sorted-bytes", "/scans/1?sort=bytes"},
		{"overview", "/?scan=1"},
		{"api-first", "/api/scans/1/findings"},
	} {
		b.Run(c.name, func(b *testing.B) {
			var n int64
			for b.Loop() {
				resp, err := http.Get(srv.URL + c.path)
				if err != nil {
					b.Fatal(err)
				}
				m, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("GET %s: %d", c.path, resp.StatusCode)
				}
				n = m
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
			b.ReportMetric(float64(n), "bytes/page")
		})
	}
}

// BenchmarkFindingsPageChromium times the first render of the findings
// page of a scan holding 100,000 findings in headless Chromium, from the
// Navigation Timing and Paint Timing of each load: time to first byte,
// DOMContentLoaded and first contentful paint, averaged.
func BenchmarkFindingsPageChromium(b *testing.B) {
	srv, _ := serve(b, bigDB(b), web.Config{})
	br := newBrowser(b, srv.URL)
	br.open(b, "/scans/1") // warm the browser and the database's page cache
	var ttfb, dcl, fcp float64
	for b.Loop() {
		br.open(b, fmt.Sprintf("/scans/1?n=%d", b.N))
		ctx, cancel := context.WithTimeout(br.ctx, 30*time.Second)
		v, err := chromedp.Run(ctx, chromedp.Poll[[]float64](`(() => {
			const n = performance.getEntriesByType("navigation")[0];
			const p = performance.getEntriesByName("first-contentful-paint")[0];
			return n && p && n.domContentLoadedEventEnd > 0 ? [n.responseStart, n.domContentLoadedEventEnd, p.startTime] : null })()`))
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		ttfb, dcl, fcp = ttfb+v[0], dcl+v[1], fcp+v[2]
	}
	n := float64(b.N)
	b.ReportMetric(ttfb/n, "ttfb-ms")
	b.ReportMetric(dcl/n, "domcontentloaded-ms")
	b.ReportMetric(fcp/n, "fcp-ms")
}
