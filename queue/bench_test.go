package queue_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/queue"
)

// BenchmarkWorkers scans one list through 1, 2, 4, 8 and 16 gown worker
// processes on this machine (4 batch slots each, 32 partitions), and one
// worker with as many batch slots as four have:
// 2,000 targets, a tenth of them slow listeners that hold each connection
// for a second without a word (the Redis prober tries plaintext, then TLS:
// two seconds a target), the rest closed ports. The work is waiting, not
// computing; the curve shows what the waiting scales with. One iteration
// is one whole scan, submitted and run to done; run it with
//
//	go test -run='^$' -bench=Workers -benchtime=1x ./queue/
func BenchmarkWorkers(b *testing.B) {
	n := testbed.RequireNATS(b)
	dir := b.TempDir()
	const slowN, closedN = 200, 1800
	slow := newFarm(b, time.Second, addrs(110, slowN), 1).targets()
	closed := closedTargets(closedN/3, 3)
	var specs []string
	for i, c := range closed {
		specs = append(specs, c)
		if i%9 == 4 && i/9 < slowN {
			specs = append(specs, slow[i/9])
		}
	}
	cfg := queue.Config{URL: n.URL(), Partitions: 32}
	for _, c := range []struct{ workers, batches int }{{1, 4}, {2, 4}, {4, 4}, {8, 4}, {16, 4}, {1, 16}} {
		b.Run(fmt.Sprintf("workers=%d/batches=%d", c.workers, c.batches), func(b *testing.B) {
			url := freshDB(b)
			var ws []*proc
			for i := range c.workers {
				name := fmt.Sprintf("b%d-w%d", c.batches, i+1)
				ws = append(ws, startGown(b, dir, name, "worker", "--queue", n.URL(), "--db", url, "--name", name,
					"--batches", fmt.Sprint(c.batches), "--workers", "64", "--source", testbed.Source.String(), "-q"))
			}
			time.Sleep(500 * time.Millisecond) // connected, consumers made
			var targets int64
			for b.Loop() {
				id, sub := submit(b, cfg, url, specs, 32, probeCfg(16))
				if st := await(b, url, id, 10*time.Minute); st.Done != sub.Batches {
					b.Fatalf("scan ended %+v", st)
				}
				targets += sub.Targets
			}
			b.StopTimer()
			var cpu time.Duration
			for _, w := range ws {
				w.cmd.Process.Signal(syscall.SIGTERM)
				if code := w.wait(b, 30*time.Second); code != 0 {
					b.Errorf("%s exited %d: %s", w.name, code, strings.TrimSpace(w.output()))
				}
				cpu += w.cmd.ProcessState.UserTime() + w.cmd.ProcessState.SystemTime()
			}
			b.ReportMetric(float64(targets)/b.Elapsed().Seconds(), "targets/s")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "worker-cpu-s/op")
		})
	}
}

// BenchmarkSubmit cuts and publishes a /19 on every store port (8,192
// addresses × 15 ports: 122,880 targets) in batches of 64 and of 256: the
// submitter's side alone (expansion,
// partitioning, one acked publish per batch, the ledger told once a
// second), against nats-server and PostgreSQL on this machine.
func BenchmarkSubmit(b *testing.B) {
	n := testbed.RequireNATS(b)
	url := freshDB(b)
	for _, size := range []int{64, 256} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			var targets, batches int64
			run := 0
			for b.Loop() {
				// A stream of its own each time: the last run's batches
				// are not worked off.
				run++
				cfg := queue.Config{URL: n.URL(), Stream: fmt.Sprintf("SUB%d_%d", size, run), Subject: fmt.Sprintf("sub.b%d.r%d", size, run)}
				_, sub := submit(b, cfg, url, []string{"127.1.0.0/19"}, size, probeCfg(16))
				targets, batches = targets+sub.Targets, batches+sub.Batches
			}
			b.ReportMetric(float64(targets)/b.Elapsed().Seconds(), "targets/s")
			b.ReportMetric(float64(batches)/b.Elapsed().Seconds(), "batches/s")
		})
	}
}
