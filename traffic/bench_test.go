package traffic

import (
	"bufio"
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchCapture writes a pcap of about mb megabytes: rounds of synthFlows
// (DNS, HTTP with personal data, TLS, Redis, PostgreSQL, memcached) plus a
// 48 KB download each round, every round on new client ports so that
// every connection is a new flow.
func benchCapture(b *testing.B, mb int) string {
	p := filepath.Join(b.TempDir(), "bench.pcap")
	if keep := os.Getenv("GOWN_TRAFFIC_BENCH_FILE"); keep != "" {
		p = keep // kept, for timing gown traffic itself on it
	}
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	blob := bytes.Repeat([]byte("GIF89a binary image bytes "), 48<<10/26)
	resp := append([]byte("HTTP/1.1 200 OK\r\nContent-Type: image/gif\r\nContent-Length: "+strconv.Itoa(len(blob))+"\r\n\r\n"), blob...)
	n := 0
	var size int64
	for round := 0; size < int64(mb)<<20; round++ {
		frames := synthFlows(round)
		cl := netip.AddrFrom4([4]byte{10, byte(round >> 16), byte(round >> 8), byte(round)})
		frames = append(frames, conversation(netip.AddrPortFrom(cl, 40000), netip.MustParseAddrPort("192.0.2.20:8080"),
			[]byte("GET /img/1.gif HTTP/1.1\r\nHost: cdn.shop.example\r\n\r\n"), resp)...)
		if err := writePcap(w, frames, n); err != nil {
			b.Fatal(err)
		}
		for _, fr := range frames {
			size += int64(16 + len(fr))
		}
		n += len(frames)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkRead reads a generated capture of GOWN_TRAFFIC_BENCH_MB
// megabytes (default 64; BENCHMARKS.md has the 1 GB figure; with
// GOWN_TRAFFIC_BENCH_FILE=PATH the capture is written there and kept) and reports
// the throughput and the peak heap, sampled every 10 ms while reading:
// memory stays flat however large the capture.
func BenchmarkRead(b *testing.B) {
	mb := 64
	if s := os.Getenv("GOWN_TRAFFIC_BENCH_MB"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("GOWN_TRAFFIC_BENCH_MB=%q", s)
		}
		mb = v
	}
	p := benchCapture(b, mb)
	st, _ := os.Stat(p)
	b.SetBytes(st.Size())
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	b.ResetTimer()
	var rep *Report
	for b.Loop() {
		a, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		if err := a.ReadFile(b.Context(), p); err != nil {
			b.Fatal(err)
		}
		rep = a.Report()
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(rep.Counts.Packets), "packets")
	b.ReportMetric(float64(rep.Counts.TCPFlows), "tcp-flows")
	if len(rep.Backends) == 0 || len(rep.Credentials) == 0 {
		b.Fatalf("nothing read: %+v", rep.Counts)
	}
}
