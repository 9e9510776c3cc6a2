package scan_test

import (
	"context"
	"io"
	"net/netip"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/report"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/store/sqlite"
)

// BenchmarkScanClosedPorts runs the whole pipeline the way gown scan -l
// LIST --json does, over targets where nothing listens (the bulk of a real
// scan: hosts across 127.0.0.0/8, every store port on each), with the
// results store on (SQLite in a temp folder) and off. Each target is one
// refused connect, then the pipeline's own work: assessment, the store's
// finished-target record, the writer. The engine's share is
// probe's BenchmarkEngineClosedPorts; the difference is the pipeline's.
func BenchmarkScanClosedPorts(b *testing.B) {
	ports := []int{6379, 3306, 5432, 11211}
	for _, mode := range []string{"store", "no-store"} {
		b.Run(mode, func(b *testing.B) {
			var st gown.Store
			if mode == "store" {
				s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "gown.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				st = s
			}
			w := report.NewJSONL(io.Discard)
			cfg := scan.Config{Registry: all.Registry(), Store: st, Probe: probe.Config{Workers: 256, Detect: true}}
			s, err := scan.Begin(b.Context(), cfg, w)
			if err != nil {
				b.Fatal(err)
			}
			n := b.N
			src := func(ctx context.Context, out chan<- gown.Target) error {
				for i := range n {
					h := i / len(ports)
					a := netip.AddrFrom4([4]byte{127, 77 + byte(h>>16), byte(h >> 8), byte(h)})
					select {
					case out <- gown.Target{Host: a.String(), Addr: a, Port: ports[i%len(ports)], Origin: "bench"}:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				return nil
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			sum, err := s.Run(b.Context(), src)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if sum.Targets != n {
				b.Fatalf("%d targets probed of %d", sum.Targets, n)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "targets/s")
			// CPU time, the process's user and system, per target: on a
			// machine other jobs load, wall time measures them as much as
			// gown; CPU time much less.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(n), "cpu-µs/target")
		})
	}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
