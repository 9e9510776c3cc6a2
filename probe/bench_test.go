package probe_test

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
)

// storePorts are the ports a typical store scan visits on every host.
var storePorts = []int{6379, 3306, 5432, 11211}

// runEngine feeds n targets from next through an engine with every prober,
// the way gown scan does, and fails on any target that was not probed.
func runEngine(b *testing.B, cfg probe.Config, n int, next func(i int) gown.Target) (answered int) {
	b.Helper()
	eng, err := probe.New(cfg, all.Registry())
	if err != nil {
		b.Fatal(err)
	}
	in := make(chan gown.Target, cfg.Workers)
	go func() {
		defer close(in)
		for i := range n {
			in <- next(i)
		}
	}()
	got := 0
	if err := eng.Run(context.Background(), in, func(r *gown.Result) {
		got++
		if r.Status.Answered() {
			answered++
		}
	}); err != nil {
		b.Fatal(err)
	}
	if got != n {
		b.Fatalf("%d results for %d targets", got, n)
	}
	return answered
}

// BenchmarkEngineClosedPorts is the bulk of a real scan: hosts across
// 127.0.0.0/8 where nothing listens, every store port on each, so each
// target is one refused connect. It measures the engine's own cost per
// target (limits, dialer, result) on top of the kernel's connect.
func BenchmarkEngineClosedPorts(b *testing.B) {
	cfg := probe.Config{Workers: 256, All: true}
	b.ReportAllocs()
	b.ResetTimer()
	runEngine(b, cfg, b.N, func(i int) gown.Target {
		h := i / len(storePorts)
		a := netip.AddrFrom4([4]byte{127, 77 + byte(h>>16), byte(h >> 8), byte(h)})
		return gown.Target{Host: a.String(), Addr: a, Port: storePorts[i%len(storePorts)], Origin: "bench"}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "targets/s")
}

// BenchmarkRawConnect is the floor under BenchmarkEngineClosedPorts: the
// same targets and worker count, with nothing but net.Dialer's connect and
// close. The ratio of the two is the engine's overhead on a closed port.
func BenchmarkRawConnect(b *testing.B) {
	const workers = 256
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for range workers {
		wg.Go(func() {
			d := net.Dialer{Timeout: 3 * time.Second, KeepAlive: -1}
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				h := i / len(storePorts)
				a := netip.AddrFrom4([4]byte{127, 77 + byte(h>>16), byte(h >> 8), byte(h)})
				c, err := d.DialContext(context.Background(), "tcp", netip.AddrPortFrom(a, uint16(storePorts[i%len(storePorts)])).String())
				if err == nil {
					c.Close()
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "targets/s")
}

// BenchmarkEngineOpenServers probes real open servers of the test bed
// (Redis, MariaDB, PostgreSQL, memcached) over and over: verdict and
// inventory, then with sampling on (bounded record reads). Sub-benchmarks
// "all" cycle through the four; the others take one store each, which shows
// where the time goes (the SQL servers' own work, not gown's: gown's CPU
// stays in single-digit percent of the wall time there).
func BenchmarkEngineOpenServers(b *testing.B) {
	bed := testbed.Require(b, "redis-open", "mariadb-open", "postgres-trust", "memcached-open")
	groups := map[string][]gown.Target{}
	names := []string{"all"}
	for _, s := range bed.Servers {
		t := gown.Target{Host: s.Addr.Addr().String(), Addr: s.Addr.Addr(), Port: int(s.Addr.Port()), Hint: s.Kind}
		groups["all"] = append(groups["all"], t)
		groups[s.Kind] = []gown.Target{t}
		names = append(names, s.Kind)
	}
	for _, name := range names {
		targets := groups[name]
		for _, mode := range []string{"verdict+inventory", "with-sampling"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				cfg := probe.Config{Workers: 16, PerHost: 16, Dialer: probe.DialerConfig{Source: testbed.Source}}
				if mode == "with-sampling" {
					cfg.Sample = probe.DefaultSample
					cfg.Analyze = func(*gown.Result, []gown.Sample, bool) {}
				}
				b.ReportAllocs()
				b.ResetTimer()
				open := runEngine(b, cfg, b.N, func(i int) gown.Target { return targets[i%len(targets)] })
				if open != b.N {
					b.Fatalf("%d of %d probes answered", open, b.N)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "targets/s")
			})
		}
	}
}
