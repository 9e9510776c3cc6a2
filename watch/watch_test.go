package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store/sqlite"
	"github.com/gownscan/gown/store/storetest"
)

// receiver is a webhook endpoint on loopback that records what it gets,
// and fails the first fail requests of each alert with 503.
type receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	got   []received
	tries map[string]int
	fail  int
}

type received struct {
	path, alertID string
	body          []byte
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{tries: map[string]int{}, fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		id := req.Header.Get("X-Gown-Alert-Id")
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tries[req.URL.Path+id]++
		if r.tries[req.URL.Path+id] <= r.fail {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		r.got = append(r.got, received{req.URL.Path, id, b})
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) all() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// world is the state the fake scan finds: what each back end holds.
type world struct {
	mu   sync.Mutex
	recs func() []gown.Record
}

var (
	redisT = gown.Target{Host: "cache.acme-fleet.net", Port: 6379, Origin: "app"}
	mcT    = gown.Target{Host: "stock.acme-fleet.net", Port: 11211, Origin: "app"}
	couchT = gown.Target{Host: "receipts.acme-fleet.net", Port: 5984, Origin: "app"}
)

// scanner returns a RunFunc that stores, as one pipeline scan, what w
// holds now.
func scanner(st Store, w *world) RunFunc {
	return func(ctx context.Context) (gown.ScanID, error) {
		id, err := st.BeginScan(ctx, gown.ScanMeta{Command: "scan", Args: []string{"fake"}})
		if err != nil {
			return 0, err
		}
		w.mu.Lock()
		recs := w.recs()
		w.mu.Unlock()
		if err := st.AddResults(ctx, id, recs); err != nil {
			return id, err
		}
		return id, st.FinishScan(ctx, id, gown.ScanDone)
	}
}

func openStore(t *testing.T) Store {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// clock is a fake clock: Sleep advances it and returns at once.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	c.mu.Unlock()
	return ctx.Err()
}

func payloads(t *testing.T, rs []received, path string) map[string]Payload {
	t.Helper()
	out := map[string]Payload{}
	for _, r := range rs {
		if r.path != path {
			continue
		}
		var p Payload
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("%s: %v: %s", path, err, r.body)
		}
		out[p.Kind+" "+p.Finding.Target] = p
	}
	return out
}

// TestThreeRuns watches a fake world over three runs: the first alerts
// what is exposed (new), the second what changed (a store locked, one
// grown, one wiped with a ransom note), the third nothing. Both webhooks
// get every alert once; the Slack one as text.
func TestThreeRuns(t *testing.T) {
	st := openStore(t)
	rcv := newReceiver(t, 0)
	w := &world{recs: func() []gown.Record {
		return []gown.Record{storetest.Open(redisT, "redis", gown.Database{Name: "db0", Items: 150, Bytes: 9000}),
			storetest.Open(mcT, "memcached", gown.Database{Name: "cache", Items: 40, Bytes: 4000}),
			storetest.Open(couchT, "couchdb", gown.Database{Name: "receipts", Items: 300, Bytes: 64000})}
	}}
	clk := &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	sched, _ := Every(time.Hour)
	cfg := Config{Spec: gown.WatchSpec{Name: "bed", Command: "scan"}, Schedule: sched, Store: st, Run: scanner(st, w),
		AlertOn: gown.SeverityLow, Now: clk.Now, Sleep: clk.Sleep,
		Sinks: []Sink{{URL: rcv.srv.URL + "/json", Format: FormatJSON}, {URL: rcv.srv.URL + "/slack", Format: FormatSlack}}}
	wt, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	first := payloads(t, rcv.all(), "/json")
	if len(first) != 3 || first["new stock.acme-fleet.net:11211"].Severity != gown.SeverityHigh {
		t.Errorf("run 1: %d alerts, want the three open stores as new: %v", len(first), keys(first))
	}
	// The bed changes: Redis locked, memcached grown, CouchDB wiped.
	w.mu.Lock()
	w.recs = func() []gown.Record {
		// The wiped store as assess grades it: a ransom note, and the
		// "wiped" sign of a store holding nothing but notes.
		wiped := storetest.Open(couchT, "couchdb", gown.Database{Name: "read_me_to_recover_your_data", Items: 1, Bytes: 200})
		wiped.Result.Signs = []gown.Sign{{Kind: "ransom-note", Where: "read_me_to_recover_your_data"},
			{Kind: "wiped", Where: "read_me_to_recover_your_data"}}
		return []gown.Record{storetest.Auth(redisT, "redis"),
			storetest.Open(mcT, "memcached", gown.Database{Name: "cache", Items: 90, Bytes: 9000}), wiped}
	}
	w.mu.Unlock()
	clk.Sleep(t.Context(), time.Hour)
	if err := wt.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	clk.Sleep(t.Context(), time.Hour)
	if err := wt.Once(t.Context()); err != nil { // nothing changed
		t.Fatal(err)
	}
	all := rcv.all()
	js := payloads(t, all, "/json")
	for _, k := range []string{"fixed cache.acme-fleet.net:6379", "new cache.acme-fleet.net:6379", "grown stock.acme-fleet.net:11211",
		"wiped receipts.acme-fleet.net:5984"} {
		if _, ok := js[k]; !ok {
			t.Errorf("no %q alert; got %v", k, keys(js))
		}
	}
	if g := js["grown stock.acme-fleet.net:11211"]; g.ItemsBefore != 40 || g.ItemsAfter != 90 || g.Run != 2 {
		t.Errorf("grown alert: %+v", g)
	}
	if wp := js["wiped receipts.acme-fleet.net:5984"]; len(wp.Notes) != 1 || wp.Severity != gown.SeverityHigh {
		t.Errorf("wiped alert: %+v", wp)
	}
	per := map[string]int{}
	for _, r := range all {
		per[r.path+" "+r.alertID]++
	}
	for k, n := range per {
		if n != 1 {
			t.Errorf("%s delivered %d times", k, n)
		}
	}
	ids := map[string]bool{}
	for _, r := range all {
		var p Payload
		if json.Unmarshal(r.body, &p) == nil && r.path == "/json" {
			ids[p.AlertID] = true
			t.Logf("run %d: %-5s %-8s %-16s %s", p.Run, p.Kind, p.Severity, p.Finding.Rule, p.Finding.Target)
		}
	}
	if n := len(rcv.all()); n != 2*7 {
		t.Errorf("%d deliveries in all: want 2 webhooks × (3 alerts of run 1 + 4 of run 2), none from run 3", n)
	}
	if len(per) != 2*len(ids) {
		t.Errorf("%d deliveries for %d alerts and two webhooks", len(per), len(ids))
	}
	for _, r := range all {
		if r.path != "/slack" {
			continue
		}
		var m map[string]string
		if err := json.Unmarshal(r.body, &m); err != nil || len(m) != 1 || !strings.Contains(m["text"], "*gown watch bed*") {
			t.Errorf("Slack body %s", r.body)
		}
	}
	t.Logf("alerts over three runs: %v", keys(js))
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestRestart runs a watch, stops it mid-interval, starts a new watcher of
// the same name: the next run comes at its due time, diffed against the
// last, and no alert is delivered twice. A watch stopped during a run runs
// it again.
func TestRestart(t *testing.T) {
	st := openStore(t)
	rcv := newReceiver(t, 0)
	items := uint64(10)
	w := &world{recs: func() []gown.Record {
		return []gown.Record{storetest.Open(mcT, "memcached", gown.Database{Name: "c", Items: items})}
	}}
	clk := &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	sched, _ := Every(10 * time.Minute)
	mk := func(run RunFunc, sleep func(context.Context, time.Duration) error) *Watcher {
		wt, err := New(t.Context(), Config{Spec: gown.WatchSpec{Name: "mc", Command: "scan"}, Schedule: sched, Store: st, Run: run,
			AlertOn: gown.SeverityHigh, Now: clk.Now, Sleep: sleep, Sinks: []Sink{{URL: rcv.srv.URL, Format: FormatJSON}}})
		if err != nil {
			t.Fatal(err)
		}
		return wt
	}
	// First process: one run, then killed while waiting for the second.
	ctx, stop := context.WithCancel(t.Context())
	wt := mk(scanner(st, w), func(ctx context.Context, d time.Duration) error {
		clk.Sleep(ctx, d/2) // halfway through the interval...
		stop()              // ...the process dies
		return ctx.Err()
	})
	if err := wt.Run(ctx); err == nil {
		t.Fatal("Run returned no error when stopped")
	}
	if n := len(rcv.all()); n != 1 {
		t.Fatalf("first process delivered %d alerts, want 1", n)
	}
	items = 25 // grows while the watch is down
	// Second process: waits out the rest of the interval, runs once,
	// then is stopped during its third run's scan.
	ctx2, stop2 := context.WithCancel(t.Context())
	runs := 0
	var waited []time.Duration
	wt2 := mk(func(ctx context.Context) (gown.ScanID, error) {
		runs++
		if runs == 2 {
			stop2() // killed mid-scan
			return 0, ctx.Err()
		}
		return scanner(st, w)(ctx)
	}, func(ctx context.Context, d time.Duration) error {
		waited = append(waited, d)
		return clk.Sleep(ctx, d)
	})
	if err := wt2.Run(ctx2); err == nil {
		t.Fatal("Run returned no error when stopped")
	}
	if len(waited) == 0 || waited[0] != 5*time.Minute {
		t.Errorf("the restarted watch waited %v, want the 5 min left of the interval", waited)
	}
	// Third process: runs the interrupted run again at once.
	wt3 := mk(scanner(st, w), clk.Sleep)
	if err := wt3.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	var states []string
	st.WatchRuns(t.Context(), wt3.Watch().ID, func(r gown.WatchRun) error {
		states = append(states, fmt.Sprintf("%d:%s", r.Seq, r.State))
		return nil
	})
	if want := []string{"4:done", "3:failed", "2:done", "1:done"}; !slices.Equal(states, want) {
		t.Errorf("runs %v, want %v", states, want)
	}
	per := map[string]int{}
	kinds := map[string]int{}
	for _, r := range rcv.all() {
		per[r.alertID]++
		var p Payload
		json.Unmarshal(r.body, &p)
		kinds[p.Kind]++
	}
	for id, n := range per {
		if n != 1 {
			t.Errorf("alert %s delivered %d times", id, n)
		}
	}
	if kinds["new"] != 1 || kinds["grown"] != 1 || len(per) != 2 {
		t.Errorf("alerts by kind %v: want one new (run 1) and one grown (run 2), nothing from run 4", kinds)
	}
}

// TestRetries: a webhook that fails twice gets the alert on the third
// attempt, after waits of 1 s and 2 s; one that always fails leaves the
// alert recorded as undelivered, which Redeliver queues again.
func TestRetries(t *testing.T) {
	st := openStore(t)
	flaky := newReceiver(t, 2)
	down := newReceiver(t, 1000)
	w := &world{recs: func() []gown.Record {
		return []gown.Record{storetest.Open(mcT, "memcached", gown.Database{Name: "c", Items: 5})}
	}}
	clk := &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	sched, _ := Every(time.Hour)
	wt, err := New(t.Context(), Config{Spec: gown.WatchSpec{Name: "r", Command: "scan"}, Schedule: sched, Store: st, Run: scanner(st, w),
		AlertOn: gown.SeverityInfo, Now: clk.Now, Sleep: clk.Sleep, Retry: Retry{Attempts: 4, Base: time.Second, Max: 3 * time.Second},
		Sinks: []Sink{{URL: flaky.srv.URL, Format: FormatJSON}, {URL: down.srv.URL + "/secret-token-path", Format: FormatSlack}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(flaky.all()); n != 1 {
		t.Errorf("the flaky webhook got %d alerts, want 1", n)
	}
	// 1 s, 2 s for the flaky one; 1 s, 2 s, 3 s (capped) for the dead one.
	if want := []time.Duration{time.Second, 2 * time.Second, time.Second, 2 * time.Second, 3 * time.Second}; !slices.Equal(clk.slept, want) {
		t.Errorf("waits %v, want %v", clk.slept, want)
	}
	var failed []gown.Delivery
	st.Deliveries(t.Context(), wt.Watch().ID, []string{gown.DeliveryFailed}, func(d gown.Delivery) error {
		failed = append(failed, d)
		return nil
	})
	if len(failed) != 1 || failed[0].Attempts != 4 || !strings.Contains(failed[0].LastError, "503") || strings.Contains(failed[0].LastError, "secret-token") {
		t.Errorf("undelivered record %+v: want one, after 4 attempts, saying 503 and not the URL's path", failed)
	}
	if n, err := Redeliver(t.Context(), st, wt.Watch().ID); err != nil || n != 1 {
		t.Errorf("Redeliver: %d, %v", n, err)
	}
	down.mu.Lock()
	down.fail = 0
	down.mu.Unlock()
	if err := wt.deliverPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(down.all()); n != 1 {
		t.Errorf("after Redeliver the webhook got %d alerts, want 1", n)
	}
}

// TestSchedule: intervals and cron expressions, and the catch-up of a
// watch that was stopped over several due times.
func TestSchedule(t *testing.T) {
	at := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC) // a Monday
	every, err := Every(90 * time.Minute)
	if err != nil || every.String() != "@every 1h30m0s" || !every.Next(at).Equal(at.Add(90*time.Minute)) {
		t.Errorf("every: %v, %v", every, err)
	}
	cron, err := Cron("0 3 * * 1")
	if err != nil || !cron.Next(at).Equal(at.AddDate(0, 0, 7)) {
		t.Errorf("cron: next %v, %v", cron.Next(at), err)
	}
	if l, ok := every.Latest(at, at.Add(5*time.Hour+10*time.Minute)); !ok || !l.Equal(at.Add(4*time.Hour+30*time.Minute)) {
		t.Errorf("every: latest %v %v", l, ok)
	}
	if l, ok := cron.Latest(at, at.AddDate(0, 0, 30)); !ok || !l.Equal(at.AddDate(0, 0, 28)) {
		t.Errorf("cron: latest %v %v", l, ok)
	}
	if _, ok := cron.Latest(at, at.AddDate(0, 0, 6)); ok {
		t.Error("cron: a due time before the next one")
	}
	for _, bad := range []string{"", "61 * * * *", "@every 10ms", "every day"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("schedule %q accepted", bad)
		}
	}
}
