package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/gownscan/gown/internal/fleetsample"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/queue"
	"github.com/gownscan/gown/store"
)

// TestQueueFlags: the queue's flags are checked before anything is
// opened or dialled; the scan and the queue run in queue/'s tests.
func TestQueueFlags(t *testing.T) {
	pg := "postgres://gown@127.0.0.1:1/gown"
	sqlite := filepath.Join(t.TempDir(), "s.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"scan", "127.0.0.1", "--queue", "nats://127.0.0.1:1", "--db", sqlite}, "--queue needs --db postgres://"},
		{[]string{"scan", "127.0.0.1", "--queue", "nats://127.0.0.1:1", "--no-store", "--db", pg}, "--queue needs --db postgres://"},
		{[]string{"scan", "127.0.0.1", "--queue", "nats://127.0.0.1:1", "--db", pg, "--fail-on", "high"}, "needs --follow"},
		{[]string{"scan", "127.0.0.1", "--follow"}, "give --queue too"},
		{[]string{"scan", "127.0.0.1", "--queue", "http://127.0.0.1:1", "--db", pg}, "nats://HOST:PORT"},
		{[]string{"scan", "127.0.0.1", "--queue", "nats://127.0.0.1:1", "--db", pg, "--batch", "0"}, "--batch 0"},
		{[]string{"scan", "127.0.0.1", "--queue", "nats://127.0.0.1:1", "--db", pg, "--partitions", "5000"}, "5000 partitions"},
		{[]string{"worker", "--db", pg}, "--queue nats://HOST:PORT is required"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--db", sqlite}, "--db postgres://... is required"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--db", pg, "extra"}, "takes no arguments"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--db", pg, "--max-deliver", "-1"}, "out of range"},
		{[]string{"scans", "cancel", "--db", sqlite}, "want cancel SCAN"},
		{[]string{"scans", "cancel", "x", "--db", sqlite}, "want a scan id"},
		{[]string{"scans", "frob", "--db", sqlite}, "want cancel SCAN"},
	} {
		var out, errb bytes.Buffer
		code := run(t.Context(), c.args, nil, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), c.want) {
			t.Errorf("gown %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, errb.String(), exitUsage, c.want)
		}
	}
}

// TestScansQueueCommands: on a store with no queued scan, the dead letters
// are an empty list and cancelling names the scan that is not queued.
func TestScansQueueCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	if out := runOK(t, "scans", "--dead", "--db", db); !strings.HasPrefix(out, "SCAN  BATCH  TARGETS") || strings.Count(out, "\n") != 1 {
		t.Errorf("gown scans --dead on an empty store:\n%s", out)
	}
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"scans", "cancel", "7", "--db", db}, nil, &out, &errb); code != exitError ||
		!strings.Contains(errb.String(), "scan 7 is not a queued scan") {
		t.Errorf("cancelling scan 7 of an empty store: exit %d, %q", code, errb.String())
	}
	if out := runOK(t, "scans", "--db", db); !strings.Contains(out, "QUEUE") {
		t.Errorf("gown scans has no QUEUE column:\n%s", out)
	}
}

// TestAppQueue: gown app --queue grades the app's own code in the
// submitter and hands its back ends to a worker (gown worker, run in
// process here), then --follow writes what the worker found and --fail-on
// counts both: the app's hard-coded credential and the open Redis it names.
func TestAppQueue(t *testing.T) {
	bed := testbed.Require(t, "redis-open")
	ro := bed.Get("redis-open")
	n := testbed.RequireNATS(t)
	db, err := testbed.RequireStoreDB(t).Create(t.Context(), "gown_app_queue")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	var werr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"worker", "--queue", n.URL(), "--db", db, "--name", "w1", "--source", testbed.Source.String()},
			nil, io.Discard, &werr)
	}()
	defer func() {
		stop()
		if code := <-done; code != exitOK {
			t.Errorf("gown worker exited %d: %s", code, werr.String())
		}
		t.Logf("gown worker:\n%s", werr.String())
	}()

	apk := writeAPK(t, t.TempDir(), "shop.apk", fmt.Sprintf("redis://cache.shop-gown.net:%d/0", ro.Addr.Port()),
		"mongodb://root:pw@db.shop-gown.net/app")
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"app", apk, "--json", "--allow-private", "--queue", n.URL(), "--db", db, "--follow",
		"--fail-on", "medium", "--resolve", "cache.shop-gown.net=" + ro.Addr.Addr().String(),
		"--resolve", "db.shop-gown.net=127.0.0.1", "--ports", "1"}, nil, &out, &errb)
	t.Logf("gown app --queue --follow: exit %d\n%s%s", code, out.String(), errb.String())
	if code != exitFindings {
		t.Errorf("exit %d, want %d (findings at or above medium)", code, exitFindings)
	}
	for _, want := range []string{`"status":"open"`, `"host":"cache.shop-gown.net"`, "conn-string-password"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the followed output lacks %s", want)
		}
	}
	if n := strings.Count(out.String(), `"rule":"hardcoded-credential"`); n != 1 {
		t.Errorf("the app's credential finding written %d times", n)
	}
	if !strings.Contains(errb.String(), "batches done, 0 running, 0 queued: done") {
		t.Errorf("no progress line saying the scan is done:\n%s", errb.String())
	}
}

// TestResumeQueued: a queued scan whose submitter stopped before sealing
// (made so here by undoing the seal in the ledger) is taken up by gown scan
// --resume: every batch is published again under its old id, the stream
// drops them all as duplicates, the count is sealed, and a worker then
// finishes the scan.
func TestResumeQueued(t *testing.T) {
	n := testbed.RequireNATS(t)
	db, err := testbed.RequireStoreDB(t).Create(t.Context(), "gown_resume_queued")
	if err != nil {
		t.Fatal(err)
	}
	runOK(t, "scan", "127.0.9.1", "127.0.9.2", "127.0.9.3", "--ports", "1,2", "--queue", n.URL(), "--db", db, "--batch", "2")
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l := st.(gown.Ledger)
	before, _, _ := l.QueueState(t.Context(), 1)
	if _, err := l.Published(t.Context(), 1, 1, 2, false); err != nil { // the submitter "died" after one batch
		t.Fatal(err)
	}
	var errb bytes.Buffer
	if code := run(t.Context(), []string{"scan", "--resume", "1", "--db", db}, nil, io.Discard, &errb); code != exitOK {
		t.Fatalf("gown scan --resume 1: exit %d: %s", code, errb.String())
	}
	t.Logf("gown scan --resume 1:\n%s", errb.String())
	after, _, _ := l.QueueState(t.Context(), 1)
	q, err := queue.Open(t.Context(), queue.Config{URL: n.URL()}, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	held, _ := q.Pending(t.Context())
	if !after.Sealed || after.Batches != before.Batches || after.Targets != 6 || held != uint64(before.Batches) ||
		!strings.Contains(errb.String(), fmt.Sprintf("%d of them queued before", before.Batches)) {
		t.Errorf("after the resume: %+v (before %+v), the stream holds %d", after, before, held)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"worker", "--queue", n.URL(), "--db", db, "-q"}, nil, io.Discard, io.Discard)
	}()
	final, err := queue.Follow(t.Context(), l, 1, 50*time.Millisecond, nil)
	stop()
	<-done
	if err != nil || final.State != gown.ScanDone || final.Done != before.Batches {
		t.Errorf("the resumed scan ended %+v, %v", final, err)
	}
	if m, _ := st.Scan(t.Context(), 1); m.Targets != 6 {
		t.Errorf("%d targets stored, want 6", m.Targets)
	}
}

// TestFleetQueue runs a fleet scan through the queue: the sample Intune
// fleet goes into PostgreSQL, gown fleet scan --queue --follow hands the
// back ends of its five binaries to a worker, and the fleet report read
// from the shared store ties the worker's findings to the same apps,
// devices and owners as a local fleet scan does (checkFleetReport).
func TestFleetQueue(t *testing.T) {
	_, ports, resolve := fleetBed(t)
	n := testbed.RequireNATS(t)
	db, err := testbed.RequireStoreDB(t).Create(t.Context(), "gown_fleet_queue")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	var werr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"worker", "--queue", n.URL(), "--db", db, "--name", "w1", "--source", testbed.Source.String()},
			nil, io.Discard, &werr)
	}()
	defer func() {
		stop()
		if code := <-done; code != exitOK {
			t.Errorf("gown worker exited %d: %s", code, werr.String())
		}
		t.Logf("gown worker:\n%s", werr.String())
	}()

	apps := filepath.Join(t.TempDir(), "apps")
	os.Mkdir(apps, 0o755)
	if _, err := fleetsample.WriteBinaries(fleetsample.Mixed, apps, ports); err != nil {
		t.Fatal(err)
	}
	runOK(t, append([]string{"fleet", "import", filepath.Join(sampleDir, "intune.csv"), "--db", db}, fleetsample.AppIDFlags(fleetsample.Mixed)...)...)
	args := append([]string{"fleet", "scan", apps, "--db", db, "--allow-private", "--no-dns", "--source", testbed.Source.String(),
		"--queue", n.URL(), "--follow", "--fail-on", "high", "--json"}, resolve...)
	code, out, errOut := runCode(t, args...)
	t.Logf("gown fleet scan --queue --follow --json: exit %d, %d lines on stdout\n%s", code, strings.Count(out, "\n"), errOut)
	if code != exitFindings {
		t.Errorf("exit %d, want %d (findings at or above high)", code, exitFindings)
	}
	if !strings.Contains(errOut, "batches done, 0 running, 0 queued: done") {
		t.Errorf("no progress line saying the scan is done")
	}
	if n := strings.Count(out, `"rule":"hardcoded-credential"`); n != 1 {
		t.Errorf("the app's credential finding written %d times, want once", n)
	}
	var rep gown.FleetReport
	if err := json.Unmarshal([]byte(runOK(t, "fleet", "report", "--db", db, "--format", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	checkFleetReport(t, fleetsample.Mixed, rep)
	t.Logf("gown fleet report:\n%s", runOK(t, "fleet", "report", "--db", db, "--view", "backends"))
}
