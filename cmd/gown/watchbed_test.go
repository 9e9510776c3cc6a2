package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/fleetsample"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/watch"
)

// hookReceiver is a webhook endpoint on loopback that records every
// request: the path (/json or /slack), the alert id header, the body.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []hookHit
}

type hookHit struct {
	path, id string
	body     []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, hookHit{r.URL.Path, r.Header.Get("X-Gown-Alert-Id"), b})
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) hits() []hookHit {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// jsonAlerts decodes the generic payloads received.
func (h *hookReceiver) jsonAlerts(t *testing.T) []watch.Payload {
	var out []watch.Payload
	for _, x := range h.hits() {
		if x.path != "/json" {
			continue
		}
		var p watch.Payload
		if err := json.Unmarshal(x.body, &p); err != nil {
			t.Fatalf("a JSON alert that is not JSON: %v: %s", err, x.body)
		}
		out = append(out, p)
	}
	return out
}

// watchRuns reads a watch's runs from the store, oldest first.
func watchRuns(t *testing.T, db, name string) []gown.WatchRun {
	t.Helper()
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ws := st.(watch.Store)
	all, err := ws.Watches(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var runs []gown.WatchRun
	for _, w := range all {
		if w.Name == name {
			ws.WatchRuns(t.Context(), w.ID, func(r gown.WatchRun) error {
				runs = append([]gown.WatchRun{r}, runs...)
				return nil
			})
		}
	}
	return runs
}

// pendingDeliveries counts the watch's deliveries not yet made.
func pendingDeliveries(t *testing.T, db, name string) int {
	t.Helper()
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ws := st.(watch.Store)
	all, err := ws.Watches(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, w := range all {
		if w.Name == name {
			ws.Deliveries(t.Context(), w.ID, []string{gown.DeliveryPending}, func(gown.Delivery) error { n++; return nil })
		}
	}
	return n
}

// waitRun waits until the watch's run seq is done and its alerts delivered
// (a run is marked done in the transaction that records its alerts; the
// deliveries follow), and returns the runs.
func waitRun(t *testing.T, db, name string, seq int, log *syncBuffer) []gown.WatchRun {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		runs := watchRuns(t, db, name)
		if len(runs) >= seq && runs[seq-1].State != gown.RunRunning {
			if runs[seq-1].State != gown.RunDone {
				t.Fatalf("run %d: %+v\n%s", seq, runs[seq-1], log)
			}
			if pendingDeliveries(t, db, name) == 0 {
				return runs
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("run %d never finished; watch log:\n%s", seq, log)
	return nil
}

// TestWatchFleetBed watches a fleet scan of the sample fleet against the
// real test bed over three runs, in a real gown process: run 1 alerts what
// is exposed; before run 2 the bed changes (Redis locked with a password,
// memcached grown, CouchDB wiped and left a ransom note) and run 2 alerts
// fixed, grown and wiped; then the watch is SIGKILLed halfway to run 3,
// memcached grows again while it is down, and a new process takes the watch
// up: it waits for run 3's due time, alerts the growth once, and delivers
// nothing twice. A local webhook receiver counts deliveries per alert id.
func TestWatchFleetBed(t *testing.T) {
	bed, ports, resolve := fleetBed(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "gown")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db, apps := filepath.Join(dir, "fleet.db"), filepath.Join(dir, "apps")
	os.Mkdir(apps, 0o755)
	if _, err := fleetsample.WriteBinaries(fleetsample.Mixed, apps, ports); err != nil {
		t.Fatal(err)
	}
	runOK(t, append([]string{"fleet", "import", filepath.Join(sampleDir, "intune.csv"), "--db", db}, fleetsample.AppIDFlags(fleetsample.Mixed)...)...)
	rcv := newHookReceiver(t)
	const name, every = "fleet-bed", 12 * time.Second
	args := append([]string{"watch", "--every", every.String(), "--name", name, "--db", db, "--alert-on", "high",
		"--webhook", rcv.srv.URL + "/json", "--slack", rcv.srv.URL + "/slack", "--retry-wait", "200ms",
		"fleet", "scan", apps, "--allow-private", "--no-dns", "--source", testbed.Source.String(), "-q"}, resolve...)
	start := func(log *syncBuffer) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}

	logA := &syncBuffer{}
	a := start(logA)
	waitRun(t, db, name, 1, logA)
	run1 := len(rcv.jsonAlerts(t))
	redis, mc, couch := bed.Get("redis-open"), bed.Get("memcached-open"), bed.Get("couchdb-party")
	if err := redis.LockRedis(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := mc.GrowMemcached(t.Context(), "restock", 60); err != nil {
		t.Fatal(err)
	}
	if err := couch.WipeCouchDB(t.Context()); err != nil {
		t.Fatal(err)
	}
	runs := waitRun(t, db, name, 2, logA)
	// Halfway to run 3, the process dies.
	time.Sleep(time.Until(runs[1].Due.Add(every/2)) - time.Second)
	if n := len(watchRuns(t, db, name)); n != 2 {
		t.Fatalf("%d runs before the kill, want 2", n)
	}
	a.Process.Signal(syscall.SIGKILL)
	a.Wait()
	killedAt := time.Now()
	t.Logf("process 1 (pid %d) killed at %s, %s before run 3 was due; its log:\n%s", a.Process.Pid, killedAt.Format("15:04:05.000"),
		runs[1].Due.Add(every).Sub(killedAt).Round(time.Millisecond), logA)
	if err := mc.GrowMemcached(t.Context(), "late", 40); err != nil { // while no watch runs
		t.Fatal(err)
	}
	logB := &syncBuffer{}
	b := start(logB)
	runs = waitRun(t, db, name, 3, logB)
	time.Sleep(time.Second) // anything delivered twice would arrive by now
	b.Process.Signal(syscall.SIGTERM)
	b.Wait()
	t.Logf("process 2 (pid %d), stopped after run 3; its log:\n%s", b.Process.Pid, logB)

	for i, r := range runs {
		t.Logf("run %d: due %s, started %s, scan %d against %d, %s", r.Seq, r.Due.Format("15:04:05"), r.Started.Format("15:04:05.000"),
			r.Scan, r.Base, r.State)
		if i > 0 && !r.Due.Equal(runs[i-1].Due.Add(every).Truncate(time.Second)) {
			t.Errorf("run %d due %s, want %s after run %d's", r.Seq, r.Due, every, i)
		}
		if r.Started.Before(r.Due) {
			t.Errorf("run %d started %s, before it was due", r.Seq, r.Started)
		}
	}
	if len(runs) != 3 || runs[2].Started.Before(killedAt) || runs[2].Base != runs[1].Scan {
		t.Errorf("runs %+v: want three, the third made by the new process and diffed against the second", runs)
	}
	checkWatchAlerts(t, rcv, run1, redis.Password)
	status := runOK(t, "watch", "status", "--db", db)
	t.Logf("gown watch status:\n%s", status)
	if !strings.Contains(status, "delivered, 0 pending, 0 failed") {
		t.Errorf("watch status: %s", status)
	}
	t.Logf("gown fleet report --view backends (after run 3):\n%s", runOK(t, "fleet", "report", "--db", db, "--view", "backends"))
}

// checkWatchAlerts checks what the receiver got over the three runs.
func checkWatchAlerts(t *testing.T, rcv *hookReceiver, run1 int, redisPassword string) {
	t.Helper()
	per := map[string]int{}
	for _, h := range rcv.hits() {
		per[h.path+" "+h.id]++
	}
	byRun := map[int][]string{}
	for _, p := range rcv.jsonAlerts(t) {
		byRun[p.Run] = append(byRun[p.Run], p.Kind+" "+p.Severity.String()+" "+p.Finding.Rule+" "+p.Finding.Target)
		if p.Fleet == nil && p.Kind != "fixed" {
			t.Errorf("alert %s on %s carries no fleet exposure", p.AlertID, p.Finding.Target)
		}
		if p.Kind == "grown" && p.Run == 3 && (p.ItemsAfter != p.ItemsBefore+40 || p.Fleet == nil || p.Fleet.Devices == 0) {
			t.Errorf("run 3's grown alert: %+v (fleet %+v)", p, p.Fleet)
		}
	}
	for run := 1; run <= 3; run++ {
		slices.Sort(byRun[run])
		t.Logf("run %d alerts (%d):\n  %s", run, len(byRun[run]), strings.Join(byRun[run], "\n  "))
	}
	has := func(run int, prefix, target string) bool {
		return slices.ContainsFunc(byRun[run], func(s string) bool { return strings.HasPrefix(s, prefix) && strings.HasSuffix(s, target) })
	}
	if len(byRun[1]) != run1 || run1 == 0 || !slices.ContainsFunc(byRun[1], func(s string) bool { return strings.HasPrefix(s, "new critical") }) {
		t.Errorf("run 1: %d alerts, want the %d new ones the first process delivered", len(byRun[1]), run1)
	}
	for _, w := range []struct {
		prefix, target string
	}{{"fixed high open-store", fleetsample.Cache.Host}, {"grown high open-store", fleetsample.Stock.Host},
		{"wiped high open-store", fleetsample.Receipts.Host}} {
		if !has(2, w.prefix, ":"+portOf(byRun[2], w.target)) {
			t.Errorf("run 2 has no %q alert on %s", w.prefix, w.target)
		}
	}
	if len(byRun[3]) != 1 || !strings.HasPrefix(byRun[3][0], "grown high open-store "+fleetsample.Stock.Host) {
		t.Errorf("run 3 alerts %q: want exactly one, memcached grown while the watch was down", byRun[3])
	}
	total := 0
	for k, n := range per {
		if n != 1 {
			t.Errorf("%s delivered %d times", k, n)
		}
		total += n
	}
	alerts := len(byRun[1]) + len(byRun[2]) + len(byRun[3])
	if total != 2*alerts {
		t.Errorf("%d deliveries for %d alerts to two webhooks", total, alerts)
	}
	t.Logf("deliveries per alert id: %d alerts × 2 webhooks, each delivered exactly once (%d requests)", alerts, total)
	var all bytes.Buffer
	for _, h := range rcv.hits() {
		all.Write(h.body)
		if strings.Contains(string(h.body), `"run":3`) || h.path == "/slack" && strings.Contains(string(h.body), "run 3)") {
			t.Logf("run 3's alert as %s received it:\n%s", h.path, h.body)
		}
	}
	secrets := []string{"Winter2024-hr", testbed.RansomContact}
	if redisPassword != "" {
		secrets = append(secrets, redisPassword)
	}
	for _, p := range fleetsample.People {
		secrets = append(secrets, p.Email(), p.First+" "+p.Last, p.Username())
	}
	for _, s := range secrets {
		if bytes.Contains(all.Bytes(), []byte(s)) {
			t.Errorf("a webhook payload holds %q", s)
		}
	}
}

// portOf finds the port of host among alert lines ("... host:port").
func portOf(lines []string, host string) string {
	for _, l := range lines {
		if i := strings.LastIndex(l, host+":"); i >= 0 {
			return l[i+len(host)+1:]
		}
	}
	return "?"
}
