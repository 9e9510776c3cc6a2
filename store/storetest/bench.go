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
