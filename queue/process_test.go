package queue_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/queue"
)

// proc is a gown process the test started, with its output in a file.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startGown(t testing.TB, dir, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	out, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(buildGown(t), args...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir)
	// Dies with the test binary, whatever happens to the test.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); out.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t testing.TB, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		t.Fatalf("%s still running after %s; its log:\n%s", p.name, limit, p.output())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("%s: %v", p.name, p.err)
	}
	return 0
}

func (p *proc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// counts are what the results store holds for one scan, by SQL.
type counts struct {
	Targets, DistinctTargets, Services, DistinctServices, Occurrences, DistinctFindings int
}

func countScan(t *testing.T, db *sql.DB, id gown.ScanID) counts {
	t.Helper()
	var c counts
	err := db.QueryRowContext(t.Context(), `SELECT
		(SELECT COUNT(*) FROM services WHERE scan_id = $1),
		(SELECT COUNT(*) FROM (SELECT DISTINCT target_key, store FROM services WHERE scan_id = $1) s),
		(SELECT COUNT(*) FROM occurrences WHERE scan_id = $1),
		(SELECT COUNT(DISTINCT finding_id) FROM occurrences WHERE scan_id = $1)`, id).
		Scan(&c.Services, &c.DistinctServices, &c.Occurrences, &c.DistinctFindings)
	if err != nil {
		t.Fatal(err)
	}
	keys := storedKeys(t, db, id)
	c.Targets = len(keys)
	slices.Sort(keys)
	c.DistinctTargets = len(slices.Compact(keys))
	return c
}

// findingSet is a scan's findings as id, severity and items (bytes drift:
// Redis used_memory changes between runs), and its results as target,
// store and status.
func findingSet(t *testing.T, db *sql.DB, id gown.ScanID) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT o.finding_id || ' ' || o.severity || ' ' || o.items FROM occurrences o WHERE o.scan_id = $1
		UNION ALL SELECT 'result ' || target_key || ' ' || store || ' ' || status FROM services WHERE scan_id = $1`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		rows.Scan(&s)
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// ledgerNow is the scan's queue state.
func ledgerNow(t *testing.T, l gown.Ledger, id gown.ScanID) gown.QueueState {
	t.Helper()
	q, _, err := l.QueueState(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// until polls cond every 20 ms for at most limit.
func until(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in %s", what, limit)
		}
	}
}

// TestDistributed is the acceptance run, with real processes: gown
// scan --queue --follow submits a list mixing test-bed servers, slow
// listeners and closed ports; three gown worker processes run it; one
// worker is SIGKILLed while it runs a batch; nats-server is restarted while
// the scan goes on. The scan must end done with exactly the targets,
// services and findings of a single-process gown scan of the same list into
// another database: nothing lost, nothing stored twice (SQL counts).
func TestDistributed(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "mariadb-open", "redis-password", "memcached-open")
	n := testbed.RequireNATS(t)
	url, refURL := freshDB(t), freshDB(t)
	dir := t.TempDir()
	// A slow target holds its batch 3 s: it starts a Redis error line and
	// never ends it, so the probe waits out --io-timeout (a silent one
	// would cost only the first-byte deadline, about 1 s). The batch's other
	// results are committed after 1 s (workers commit once a second), so a
	// batch is half stored from 1 s to 3 s: the kill's window.
	slow := newGreetingFarm(t, 4*time.Second, []byte("-"), addrs(100, 20), 1)
	closed := closedTargets(150, 3)
	list := writeList(t, dir, mix(closed, slow.targets(), bed))
	src := testbed.Source.String()
	probing := []string{"--all", "--connect-timeout", "2s", "--io-timeout", "3s", "--timeout", "8s"}
	qflags := []string{"--queue", n.URL(), "--partitions", "16"}

	sub := startGown(t, dir, "submitter", slices.Concat([]string{"scan", "-l", list, "--db", url, "--batch", "8",
		"--follow", "--fail-on", "high"}, probing, qflags)...)
	st := openStore(t, url)
	l := st.(gown.Ledger)
	const id = gown.ScanID(1)
	until(t, 30*time.Second, "sealed submission", func() bool { q, _, _ := l.QueueState(t.Context(), id); return q.Sealed })
	// Every batch, read off the stream before any worker takes one.
	batches := map[int64][]gown.Target{}
	for _, b := range streamBatches(t, queue.Config{URL: n.URL()}) {
		batches[b.ID] = b.Targets
	}
	total := ledgerNow(t, l, id)
	t.Logf("submitted: %d targets (%d slow, %d closed, %d test-bed servers) in %d batches over 16 partitions",
		total.Targets, 20, len(closed), len(bed.Servers), total.Batches)

	workerArgs := func(name string) []string {
		return slices.Concat([]string{"worker", "--db", url, "--name", name, "--batches", "2", "--workers", "32",
			"--source", src, "--ack-wait", "3s", "--nak-delay", "500ms"}, qflags)
	}
	w1 := startGown(t, dir, "w1", workerArgs("w1")...)
	w2 := startGown(t, dir, "w2", workerArgs("w2")...)
	w3 := startGown(t, dir, "w3", workerArgs("w3")...)
	db := sqlDB(t, url)

	sw := &scanWatch{t: t, l: l, db: db, id: id, batches: batches}
	killed := sw.killMidBatch(w1)
	atKill, batchAtKill := countScan(t, db, id), sw.storedOf(killed)
	qKill := ledgerNow(t, l, id)
	t.Logf("SIGKILL w1 while it ran batch %d (%d targets, %d of them stored): store holds %d targets, %d services, %d occurrences; ledger %d/%d done, %d running, %d queued",
		killed, len(batches[killed]), batchAtKill, atKill.Targets, atKill.Services, atKill.Occurrences, qKill.Done, qKill.Batches, qKill.Running, qKill.Queued())

	// Restart nats-server (same port, same store) while the scan goes on.
	until(t, 60*time.Second, "more batches done", func() bool { return ledgerNow(t, l, id).Done >= qKill.Done+3 })
	qRestart, atRestart := ledgerNow(t, l, id), countScan(t, db, id)
	if qRestart.Finished() {
		t.Fatalf("the scan finished before nats-server could be restarted: %+v", qRestart)
	}
	oldPid := n.Pid()
	if err := n.Restart(t.Context(), time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("nats-server restarted (pid %d → %d, down 1 s) with %d/%d batches done, %d running, %d queued; store held %d targets, %d services",
		oldPid, n.Pid(), qRestart.Done, qRestart.Batches, qRestart.Running, qRestart.Queued(), atRestart.Targets, atRestart.Services)

	code := sub.wait(t, 3*time.Minute)
	final := ledgerNow(t, l, id)
	got := countScan(t, db, id)
	t.Logf("after: ledger %d/%d done, %d dead, state %s; store holds %d targets (%d distinct), %d services (%d distinct), %d occurrences of %d findings",
		final.Done, final.Batches, final.Dead, final.State, got.Targets, got.DistinctTargets, got.Services, got.DistinctServices, got.Occurrences, got.DistinctFindings)
	if code != 3 {
		t.Errorf("gown scan --queue --follow --fail-on high exited %d, want 3 (redis-open holds data); its output:\n%s", code, sub.output())
	}
	if final.State != gown.ScanDone || final.Done != final.Batches || final.Dead != 0 || final.Running != 0 {
		t.Errorf("the scan ended %+v", final)
	}
	var by string
	var deliveries int
	db.QueryRowContext(t.Context(), `SELECT worker, deliveries FROM queue_batches WHERE scan_id = $1 AND batch = $2`, id, killed).Scan(&by, &deliveries)
	t.Logf("the killed batch %d: done by %s on delivery %d, %d of its %d targets stored", killed, by, deliveries, sw.storedOf(killed), len(batches[killed]))
	for _, w := range []*proc{w2, w3} {
		for _, line := range strings.Split(w.output(), "\n") {
			if strings.Contains(line, fmt.Sprintf("batch %d (", killed)) {
				t.Logf("%s: %s", w.name, line)
			}
		}
	}
	if by == "w1" || deliveries < 2 || sw.storedOf(killed) != len(batches[killed]) {
		t.Errorf("the batch w1 was killed in ended by %s on delivery %d with %d of %d targets stored", by, deliveries, sw.storedOf(killed), len(batches[killed]))
	}

	// The same list in one process, into another database.
	compareSingle(t, dir, refURL, slices.Concat([]string{"scan", "-l", list, "--source", src, "--json"}, probing), db, id, got, final)

	// The survivors stop on SIGTERM, cleanly.
	for _, w := range []*proc{w2, w3} {
		w.cmd.Process.Signal(syscall.SIGTERM)
		if code := w.wait(t, 20*time.Second); code != 0 {
			t.Errorf("%s exited %d on SIGTERM:\n%s", w.name, code, w.output())
		}
	}
	checkCLI(t, dir, url, final, got)
	if t.Failed() {
		for _, p := range []*proc{sub, w1, w2, w3} {
			t.Logf("%s:\n%s", p.name, p.output())
		}
	}
}

// diffOf lists what a holds and b does not.
func diffOf(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// runGown runs a short gown command and returns its standard output.
func runGown(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, buildGown(t), args...)
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("gown %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// compareSingle runs gown scan args in one process into the database at
// refURL and checks that the queued scan id of db holds the same: the same
// counts, every target once, and the same findings and results.
func compareSingle(t *testing.T, dir, refURL string, args []string, db *sql.DB, id gown.ScanID, got counts, final gown.QueueState) {
	t.Helper()
	ref := startGown(t, dir, "single", append(args, "--db", refURL)...)
	if code := ref.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("single-process gown scan exited %d:\n%s", code, ref.output())
	}
	want := countScan(t, sqlDB(t, refURL), 1)
	t.Logf("single process: %d targets, %d services, %d occurrences of %d findings", want.Targets, want.Services, want.Occurrences, want.DistinctFindings)
	if got != want || int64(got.Targets) != final.Targets || got.Targets != got.DistinctTargets || got.Services != got.DistinctServices {
		t.Errorf("counts differ:\n queued %+v\n single %+v (%d targets submitted)", got, want, final.Targets)
	}
	gotSet, wantSet := findingSet(t, db, id), findingSet(t, sqlDB(t, refURL), 1)
	if !slices.Equal(gotSet, wantSet) {
		t.Errorf("findings and results differ from the single-process run:\n queued %d: %v\n single %d: %v", len(gotSet), diffOf(gotSet, wantSet), len(wantSet), diffOf(wantSet, gotSet))
	}
	opens := 0
	for _, s := range gotSet {
		if strings.HasSuffix(s, " open") {
			opens++
		}
	}
	if opens < 3 {
		t.Errorf("%d open results: the test-bed servers were not probed right", opens)
	}
}

// mix puts a slow target after every 22nd closed one and spreads the
// test-bed servers through the list.
func mix(closed, slow []string, bed *testbed.Bed) []string {
	var out []string
	for i, c := range closed {
		out = append(out, c)
		if i%22 == 5 && i/22 < len(slow) {
			out = append(out, slow[i/22])
		}
	}
	for i, s := range bed.Servers {
		out = slices.Insert(out, (i+1)*len(out)/6, s.Addr.String())
	}
	return out
}

// scanWatch watches one queued scan through its ledger and the test's SQL.
type scanWatch struct {
	t       *testing.T
	l       gown.Ledger
	db      *sql.DB
	id      gown.ScanID
	batches map[int64][]gown.Target // as published
}

// storedOf counts the targets of batch b the store holds.
func (w *scanWatch) storedOf(b int64) int {
	var keys []string
	for _, tg := range w.batches[b] {
		keys = append(keys, gown.TargetKey(tg))
	}
	have, err := w.l.StoredKeys(w.t.Context(), w.id, keys)
	if err != nil {
		w.t.Fatal(err)
	}
	return len(have)
}

// runningOn lists the batches the ledger shows running on worker.
func (w *scanWatch) runningOn(worker string) []int64 {
	rows, err := w.db.QueryContext(w.t.Context(), `SELECT batch FROM queue_batches WHERE scan_id = $1 AND worker = $2 AND state = 'running'`, w.id, worker)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var b int64
		rows.Scan(&b)
		out = append(out, b)
	}
	return out
}

// killMidBatch SIGKILLs the worker in the middle of a batch (some of its
// targets stored, not all: a slow listener holds the rest), once a few
// batches are done, and returns that batch.
func (w *scanWatch) killMidBatch(p *proc) int64 {
	var killed int64
	until(w.t, 60*time.Second, "batch half stored on "+p.name, func() bool {
		if ledgerNow(w.t, w.l, w.id).Done < 3 {
			return false
		}
		for _, b := range w.runningOn(p.name) {
			if k := w.storedOf(b); k > 0 && k < len(w.batches[b]) {
				killed = b
				return true
			}
		}
		return false
	})
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(w.t, 10*time.Second)
	return killed
}

// checkCLI reads the finished queued scan back through the CLI: gown scans
// shows its batches, lists no dead letter, and gown report reads the shared
// store as it reads SQLite.
func checkCLI(t *testing.T, dir, url string, final gown.QueueState, got counts) {
	t.Helper()
	scans := runGown(t, dir, "scans", "--db", url)
	t.Logf("gown scans:\n%s", scans)
	if !strings.Contains(scans, fmt.Sprintf("%d/%d batches done", final.Batches, final.Batches)) {
		t.Errorf("gown scans does not show the queue's batches:\n%s", scans)
	}
	if dead := runGown(t, dir, "scans", "--dead", "--db", url); strings.Count(dead, "\n") != 1 {
		t.Errorf("gown scans --dead lists dead letters of a clean run:\n%s", dead)
	}
	if rep := runGown(t, dir, "report", "1", "--db", url, "--format", "jsonl"); strings.Count(rep, "\n") < got.Services {
		t.Errorf("gown report of the queued scan wrote %d lines for %d services", strings.Count(rep, "\n"), got.Services)
	}
}
