package storetest

import (
	"fmt"
	"testing"

	"github.com/gownscan/gown"
)

// BenchWrite measures write throughput in batches of 256 records shaped like a
// real scan: a quarter open stores with inventory, evidence and a finding, a
// quarter auth-required with a finding, half closed ports. It reports
// records/s.
func BenchWrite(b *testing.B, s gown.Store) {
	id, err := s.BeginScan(b.Context(), gown.ScanMeta{Args: []string{"bench"}})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 256
	recs := make([]gown.Record, batch)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		for i := range recs {
			tg := Target(fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255), 6379)
			switch n % 4 {
			case 0:
				recs[i] = Open(tg, "redis", gown.Database{Name: "db0", Items: 120, Bytes: 4096}, gown.Database{Name: "db1", Items: 3})
			case 1:
				recs[i] = Auth(tg, "mysql")
			default:
				recs[i] = Closed(tg)
			}
			n++
		}
		if err := s.AddResults(b.Context(), id, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}

// BenchWriteApps measures storing the apps a fleet scan reads: each record
// an app with 40 endpoints (SampleApp's seven, repeated with other hosts)
// and one finding, 16 apps a batch. It reports apps/s and endpoints/s.
func BenchWriteApps(b *testing.B, s gown.Store) {
	id, err := s.BeginScan(b.Context(), gown.ScanMeta{Command: "fleet", Args: []string{"bench"}})
	if err != nil {
		b.Fatal(err)
	}
	base := SampleApp("bench.apk")
	const batch, perApp = 16, 40
	recs := make([]gown.Record, batch)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		for i := range recs {
			a := *base
			a.File = fmt.Sprintf("apps/%d.apk", n)
			a.Endpoints = make([]gown.Endpoint, perApp)
			for j := range a.Endpoints {
				e := base.Endpoints[j%len(base.Endpoints)]
				e.Host = fmt.Sprintf("h%d.%s", j, e.Host)
				a.Endpoints[j] = e
			}
			recs[i] = gown.Record{App: &a, Findings: []gown.Finding{AppFinding(a.File, "cleartext-transport", int64(n))}}
			n++
		}
		if err := s.AddResults(b.Context(), id, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "apps/s")
	b.ReportMetric(float64(n*perApp)/b.Elapsed().Seconds(), "endpoints/s")
}

// BenchWriteClosed measures what most of a wide scan stores: batches of
// 4,096 targets where nothing listened, as the Batcher commits them. The
// targets are the bench farm's shape, one address and many ports. It
// reports targets/s.
func BenchWriteClosed(b *testing.B, s gown.Store) {
	id, err := s.BeginScan(b.Context(), gown.ScanMeta{Args: []string{"bench"}})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 4096
	recs := make([]gown.Record, batch)
	n := 0
	b.ResetTimer()
	for b.Loop() {
		for i := range recs {
			tg := Target(fmt.Sprintf("127.%d.%d.%d", n>>16&255, n>>8&255, n&255), 6379)
			tg.Hint = "redis"
			recs[i] = Closed(tg)
			n++
		}
		if err := s.AddResults(b.Context(), id, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "targets/s")
}
