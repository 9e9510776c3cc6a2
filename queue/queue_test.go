package queue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/queue"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/target"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// probeCfg is the probing of the in-process tests: short deadlines, from the
// test bed's source address.
func probeCfg(perHost int) probe.Config {
	return probe.Config{Workers: 64, PerHost: perHost, Timeout: 5 * time.Second, Detect: false,
		Dialer: probe.DialerConfig{ConnectTimeout: time.Second, IOTimeout: 3 * time.Second}}
}

// source expands target specs as gown scan does.
func source(specs []string) scan.Source {
	tcfg := target.Config{Catalog: all.Catalog(), Ports: all.Registry().Ports(), Scope: &target.Scope{},
		Resolve: &target.Resolver{NoDNS: true}, OnError: func(string, error) {}}
	if err := tcfg.Validate(); err != nil {
		panic(err)
	}
	return func(ctx context.Context, out chan<- gown.Target) error {
		return target.Input{Specs: specs}.Produce(ctx, &tcfg, out)
	}
}

// submit begins a queued scan of specs in the store at url and publishes
// it in batches of size.
func submit(t testing.TB, cfg queue.Config, url string, specs []string, size int, pc probe.Config) (gown.ScanID, queue.Submitted) {
	t.Helper()
	st := openStore(t, url)
	q, err := queue.Open(t.Context(), cfg, "test submitter")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	id, err := queue.Begin(t.Context(), st, gown.ScanMeta{Args: specs}, queue.OptionsOf(pc, nil, true))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := q.Submit(t.Context(), st, id, source(specs), size)
	if err != nil {
		t.Fatal(err)
	}
	return id, sub
}

// worker is an in-process worker with a store and a connection of its own,
// as a worker process would have.
type worker struct {
	stop func()
	done chan error
}

func startWorker(t *testing.T, cfg queue.Config, url, name string, tune func(*queue.WorkerConfig)) *worker {
	t.Helper()
	st := openStore(t, url)
	q, err := queue.Open(t.Context(), cfg, name)
	if err != nil {
		t.Fatal(err)
	}
	wc := queue.WorkerConfig{Name: name, Registry: all.Registry(), Store: st, Batches: 2, Workers: 64,
		Source: testbed.Source, Idle: 200 * time.Millisecond, Log: t.Output()}
	if tune != nil {
		tune(&wc)
	}
	ctx, cancel := context.WithCancel(t.Context())
	w := &worker{done: make(chan error, 1)}
	go func() { w.done <- q.Work(ctx, wc); q.Close() }()
	var once sync.Once
	w.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-w.done; err != nil {
				t.Errorf("worker %s: %v", name, err)
			}
		})
	}
	t.Cleanup(w.stop)
	return w
}

// await follows the scan until it is finished, for at most limit.
func await(t testing.TB, url string, id gown.ScanID, limit time.Duration) gown.QueueState {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	st, err := queue.Follow(ctx, openStore(t, url).(gown.Ledger), id, 100*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("scan %d not finished in %s: %v (%+v)", id, limit, err, st)
	}
	return st
}

// streamBatches reads every batch the stream holds, without consuming.
func streamBatches(t *testing.T, cfg queue.Config) []queue.Batch {
	t.Helper()
	nc, err := nats.Connect(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(t.Context(), "GOWN")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []queue.Batch
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		var b queue.Batch
		if err := json.Unmarshal(m.Data, &b); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("gown.batch.%02d.%d", b.Partition, b.Scan); m.Subject != want {
			t.Errorf("batch %d published on %s, want %s", b.ID, m.Subject, want)
		}
		out = append(out, b)
	}
	return out
}

// TestSubmit: targets go to the partition of their address, one address's
// run of targets is not split below 4× the batch size, batch ids count from
// 1, the ledger counts what went out, and submitting the same scan again
// publishes nothing new (the stream drops the duplicate message ids).
func TestSubmit(t *testing.T) {
	n := testbed.RequireNATS(t)
	url := freshDB(t)
	cfg := queue.Config{URL: n.URL(), Partitions: 4}
	var specs []string
	for h := range 20 {
		specs = append(specs, fmt.Sprintf("127.0.60.%d", 1+h)) // every store port: 18 targets
	}
	specs = append(specs, "127.0.61.1:1", "127.0.61.1:2", "127.0.61.2:3")
	id, sub := submit(t, cfg, url, specs, 5, probeCfg(4))
	batches := streamBatches(t, cfg)
	ports := len(all.Registry().Ports())
	want := int64(20*ports + 3)
	if sub.Targets != want || sub.Batches != int64(len(batches)) {
		t.Fatalf("submitted %+v, want %d targets in the %d batches the stream holds", sub, want, len(batches))
	}
	where := map[netip.Addr]map[int64]int{} // address → batch → targets
	for i, b := range batches {
		if b.ID != int64(i+1) || b.Scan != id {
			t.Errorf("batch %d of scan %d at position %d", b.ID, b.Scan, i)
		}
		if len(b.Targets) > 4*5 {
			t.Errorf("batch %d holds %d targets, above 4× the batch size", b.ID, len(b.Targets))
		}
		for _, tg := range b.Targets {
			if p := queue.Partition(tg, 4); p != b.Partition {
				t.Errorf("%s in partition %d's batch, hashes to %d", tg, b.Partition, p)
			}
			if where[tg.Addr] == nil {
				where[tg.Addr] = map[int64]int{}
			}
			where[tg.Addr][b.ID]++
		}
	}
	for a, bs := range where {
		// 18 targets of one address fit under the cap of 20: one batch.
		if len(bs) != 1 {
			t.Errorf("%s split over batches %v", a, bs)
		}
	}
	q, ok, err := openStore(t, url).(gown.Ledger).QueueState(t.Context(), id)
	if err != nil || !ok || !q.Sealed || q.Batches != sub.Batches || q.Targets != want || q.State != gown.ScanRunning {
		t.Errorf("ledger after submit: %+v, %v", q, err)
	}

	// The same scan cut and published again: nothing new on the stream.
	qu, err := queue.Open(t.Context(), cfg, "again")
	if err != nil {
		t.Fatal(err)
	}
	defer qu.Close()
	st := openStore(t, url)
	again, err := qu.Submit(t.Context(), st, id, source(specs), 5)
	if err != nil || again.Batches != sub.Batches || again.Targets != sub.Targets || again.Duplicates != sub.Batches {
		t.Errorf("submitted again: %+v, %v; first time %+v", again, err, sub)
	}
	if n, _ := qu.Pending(t.Context()); n != uint64(sub.Batches) {
		t.Errorf("the stream holds %d messages after a second submit, want %d", n, sub.Batches)
	}
	// Scan 1 of another results store (or of this one made anew) is
	// another scan: its batches are not taken for duplicates.
	other, sub2 := submit(t, cfg, freshDB(t), specs, 5, probeCfg(4))
	if n, _ := qu.Pending(t.Context()); other != id || n != uint64(sub.Batches+sub2.Batches) {
		t.Errorf("scan %d of a new store: the stream holds %d messages, want %d", other, n, sub.Batches+sub2.Batches)
	}
	t.Logf("%d targets in %d batches over 4 partitions; a second submit added none; scan %d of a new store added %d",
		sub.Targets, sub.Batches, other, sub2.Batches)
}

// TestPoliteness: one address behind many ports, its batches run by
// several workers, never sees more connections at a time than the per-host
// limit of one process. The first worker starts alone and is stopped (with
// no grace: its batches go back to the queue) once it is probing the
// address, so that the two others take the address over.
func TestPoliteness(t *testing.T) {
	n := testbed.RequireNATS(t)
	url := freshDB(t)
	cfg := queue.Config{URL: n.URL(), Partitions: 8, AckWait: 5 * time.Second, NakDelay: 100 * time.Millisecond}
	host := netip.MustParseAddr("127.0.70.1")
	slow := newFarm(t, 60*time.Millisecond, []netip.Addr{host}, 32)
	others := newFarm(t, 60*time.Millisecond, addrs(71, 16), 2)
	specs := append(slow.targets(), others.targets()...)
	const perHost = 2
	id, sub := submit(t, cfg, url, specs, 4, probeCfg(perHost))
	source := func(i int) func(*queue.WorkerConfig) {
		// Each worker dials from its own address, so the host can tell
		// which of them came.
		return func(c *queue.WorkerConfig) {
			c.Batches, c.Source, c.Grace = 3, netip.AddrFrom4([4]byte{127, 0, 0, byte(11 + i)}), time.Millisecond
		}
	}
	first := startWorker(t, cfg, url, "w1", source(0))
	for deadline := time.Now().Add(20 * time.Second); slow.clientsOf(host) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first worker never reached the slow address")
		}
	}
	startWorker(t, cfg, url, "w2", source(1))
	startWorker(t, cfg, url, "w3", source(2))
	first.stop()
	st := await(t, url, id, time.Minute)
	if st.State != gown.ScanDone || st.Done != sub.Batches {
		t.Fatalf("scan ended %+v", st)
	}
	stored := 0
	for _, k := range storedKeys(t, sqlDB(t, url), id) {
		if strings.HasPrefix(k, host.String()+":") {
			stored++
		}
	}
	t.Logf("%s: %d targets stored, probed from %d workers, at most %d connections at once (per-host limit %d); %d targets in %d batches; %d connections in all",
		host, stored, slow.clientsOf(host), slow.peakOf(host), perHost, sub.Targets, sub.Batches, slow.total.Load())
	if stored != 32 {
		t.Errorf("%d of the slow address's 32 targets stored", stored)
	}
	if p := slow.peakOf(host); p > perHost || p == 0 {
		t.Errorf("the slow address saw %d connections at once across the workers; the per-host limit is %d", p, perHost)
	}
	if slow.clientsOf(host) < 2 {
		t.Errorf("one worker ran every batch of the slow address: the limit was not put to the test across workers")
	}
}

// publishRaw puts a message on the stream as a submitter would, body and
// all chosen by the test.
func publishRaw(t *testing.T, js jetstream.JetStream, part int, id gown.ScanID, batch int64, body []byte) {
	t.Helper()
	msg := &nats.Msg{Subject: fmt.Sprintf("gown.batch.%02d.%d", part, id), Data: body}
	if _, err := js.PublishMsg(t.Context(), msg, jetstream.WithMsgID(fmt.Sprintf("gown-%d-0-%d", id, batch))); err != nil {
		t.Fatal(err)
	}
}

// TestDeadLetter: a batch that fails on every delivery (a poisoned message
// no worker can read) and one whose every delivery dies with its worker
// (taken and never acked: a worker killed each time) both end in the dead
// letters after MaxDeliver deliveries, with their messages, and leave the
// stream; the scan ends interrupted, and says so.
func TestDeadLetter(t *testing.T) {
	n := testbed.RequireNATS(t)
	url := freshDB(t)
	cfg := queue.Config{URL: n.URL(), Partitions: 2, AckWait: 500 * time.Millisecond, MaxDeliver: 3, NakDelay: 50 * time.Millisecond}
	st := openStore(t, url)
	l := st.(gown.Ledger)
	q, err := queue.Open(t.Context(), cfg, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	id, err := queue.Begin(t.Context(), st, gown.ScanMeta{Args: []string{"poison"}}, queue.OptionsOf(probeCfg(2), nil, false))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(n.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	publishRaw(t, js, 0, id, 1, []byte("{poisoned: not json"))
	// Batch 2 on partition 1 is taken by a "worker" that dies with it
	// every time: the test pulls it on the partition's consumer and never
	// acks, until the deliveries are spent.
	b2 := fmt.Sprintf(`{"scan":%d,"batch":2,"partition":1,"targets":[{"host":"127.0.80.1","ip":"127.0.80.1","port":1}]}`, id)
	publishRaw(t, js, 1, id, 2, []byte(b2))
	if _, err := l.Published(t.Context(), id, 2, 1, true); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(t.Context(), "GOWN", jetstream.ConsumerConfig{Durable: "gown-p01",
		FilterSubject: "gown.batch.01.*", AckPolicy: jetstream.AckExplicitPolicy, AckWait: cfg.AckWait,
		MaxDeliver: cfg.MaxDeliver, MaxAckPending: 1, DeliverPolicy: jetstream.DeliverAllPolicy,
		Description: "gown partition consumer: one batch at a time, so one address is probed by one worker"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.MaxDeliver {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("delivery %d of batch 2: %v", i+1, err)
		}
		if md, _ := m.Metadata(); md.NumDelivered != uint64(i+1) {
			t.Fatalf("delivery %d numbered %d", i+1, md.NumDelivered)
		}
	}
	// The real worker: it fails batch 1 three times, and records batch 2
	// from the queue's advisory when its last delivery expires.
	startWorker(t, cfg, url, "w1", nil)
	qs := await(t, url, id, 30*time.Second)
	if qs.Dead != 2 || qs.Done != 0 || qs.State != gown.ScanInterrupted {
		t.Errorf("queue state %+v, want 2 dead, the scan interrupted", qs)
	}
	var dead []gown.DeadLetter
	if err := l.DeadLetters(t.Context(), id, func(d gown.DeadLetter) error { dead = append(dead, d); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, d := range dead {
		t.Logf("dead letter: batch %d, %d targets, %d deliveries, by %s: %s; message %q", d.Batch, d.Targets, d.Deliveries, d.Worker, d.Error, d.Message)
	}
	if len(dead) != 2 || dead[0].Batch != 1 || dead[0].Deliveries != 3 || dead[0].Message != "{poisoned: not json" ||
		!strings.Contains(dead[0].Error, "decode batch") {
		t.Errorf("the poisoned batch's dead letter: %+v", dead)
	}
	if len(dead) == 2 && (dead[1].Batch != 2 || dead[1].Deliveries != 3 || dead[1].Targets != 1 || dead[1].Message != b2 ||
		!strings.Contains(dead[1].Error, "without an ack")) {
		t.Errorf("the dying batch's dead letter: %+v", dead[1])
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		n, err := q.Pending(t.Context())
		if err == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream still holds %d messages after both became dead letters (%v)", n, err)
		}
	}
}

// TestCancel: cancelling a queued scan interrupts it at once, purges its
// queued batches from the stream, drops the running ones at their next
// heartbeat, and stores nothing more.
func TestCancel(t *testing.T) {
	n := testbed.RequireNATS(t)
	url := freshDB(t)
	cfg := queue.Config{URL: n.URL(), Partitions: 8, AckWait: time.Second}
	slow := newFarm(t, 300*time.Millisecond, addrs(90, 24), 2)
	id, sub := submit(t, cfg, url, slow.targets(), 2, probeCfg(1))
	startWorker(t, cfg, url, "w1", func(c *queue.WorkerConfig) { c.Batches = 2 })
	st := openStore(t, url)
	l := st.(gown.Ledger)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		q, _, _ := l.QueueState(t.Context(), id)
		if q.Done > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no batch done in 20 s")
		}
	}
	q, err := queue.Open(t.Context(), cfg, "canceller")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	qs, err := q.Cancel(t.Context(), l, id)
	if err != nil || !qs.Cancelled || qs.State != gown.ScanInterrupted {
		t.Fatalf("cancel: %+v, %v", qs, err)
	}
	count := func() int {
		return len(storedKeys(t, sqlDB(t, url), id))
	}
	// The running batches end within a heartbeat and their probes.
	time.Sleep(2 * time.Second)
	atCancel := count()
	time.Sleep(2 * time.Second)
	after, _, _ := l.QueueState(t.Context(), id)
	pending, _ := q.Pending(t.Context())
	t.Logf("cancelled: %d of %d batches done, %d dropped, %d targets stored of %d; the stream holds %d", after.Done, sub.Batches,
		after.Dropped, atCancel, sub.Targets, pending)
	if n := count(); n != atCancel || n >= int(sub.Targets) {
		t.Errorf("targets stored went from %d to %d after the cancel (of %d)", atCancel, n, sub.Targets)
	}
	if after.Running != 0 || after.Done+after.Dropped >= sub.Batches || pending != 0 || after.State != gown.ScanInterrupted {
		t.Errorf("after the cancel: %+v, %d messages left", after, pending)
	}
}

// TestGrace: a worker stopped while a batch runs lets it finish within the
// grace period, acks it, and only then returns.
func TestGrace(t *testing.T) {
	n := testbed.RequireNATS(t)
	url := freshDB(t)
	cfg := queue.Config{URL: n.URL(), Partitions: 2}
	slow := newFarm(t, 400*time.Millisecond, addrs(95, 1), 2)
	id, _ := submit(t, cfg, url, slow.targets(), 4, probeCfg(1))
	w := startWorker(t, cfg, url, "w1", func(c *queue.WorkerConfig) { c.Grace = 10 * time.Second })
	for deadline := time.Now().Add(10 * time.Second); slow.total.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the worker never started the batch")
		}
	}
	w.stop() // returns once the batch is booked and acked
	q, _, _ := openStore(t, url).(gown.Ledger).QueueState(t.Context(), id)
	if q.Done != 1 || q.State != gown.ScanDone {
		t.Errorf("after a stop within the grace: %+v", q)
	}
}

// TestCutOff: a worker cut off from NATS for most of the ack wait stops
// its batch before the queue hands it to another worker, so that two
// workers never probe one address at once; the batch then runs again and
// the scan ends with every target stored once.
func TestCutOff(t *testing.T) {
	n := testbed.RequireNATS(t)
	url := freshDB(t)
	cfg := queue.Config{URL: n.URL(), Partitions: 2, AckWait: time.Second}
	host := netip.MustParseAddr("127.0.75.1")
	slow := newFarm(t, 800*time.Millisecond, []netip.Addr{host}, 3)
	id, sub := submit(t, cfg, url, slow.targets(), 8, probeCfg(1))
	for i := range 2 {
		src := netip.AddrFrom4([4]byte{127, 0, 0, byte(21 + i)})
		startWorker(t, cfg, url, fmt.Sprintf("w%d", i+1), func(c *queue.WorkerConfig) { c.Source = src })
	}
	until(t, 10*time.Second, "a connection to the slow address", func() bool { return slow.total.Load() > 0 })
	if err := n.Restart(t.Context(), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	st := await(t, url, id, time.Minute)
	var stored, deliveries int
	db := sqlDB(t, url)
	stored = len(storedKeys(t, db, id))
	db.QueryRowContext(t.Context(), `SELECT deliveries FROM queue_batches WHERE scan_id = $1`, id).Scan(&deliveries)
	t.Logf("NATS away 2 s with an ack wait of 1 s: batch done on delivery %d, %d of %d targets stored, at most %d connections at once to %s from %d workers",
		deliveries, stored, sub.Targets, slow.peakOf(host), host, slow.clientsOf(host))
	if st.State != gown.ScanDone || stored != int(sub.Targets) || deliveries < 2 {
		t.Errorf("after the outage: %+v, %d targets stored, delivery %d", st, stored, deliveries)
	}
	if slow.peakOf(host) > 1 {
		t.Errorf("%d connections at once to %s: two workers ran its batch", slow.peakOf(host), host)
	}
}

// TestWorkerWaitsForNATS starts a worker while nats-server is down for
// longer than a JetStream request waits: the worker waits for it instead of
// exiting, then runs the batch queued before the outage. (Here the client
// holds the consumer request until it reconnects; a CI run under load had a
// request time out instead, which consumers now tries again.)
func TestWorkerWaitsForNATS(t *testing.T) {
	n := testbed.RequireNATS(t)
	url := freshDB(t)
	cfg := queue.Config{URL: n.URL(), Partitions: 2, AckWait: 5 * time.Second}
	host := netip.MustParseAddr("127.0.76.1")
	farm := newFarm(t, 0, []netip.Addr{host}, 2)
	id, sub := submit(t, cfg, url, farm.targets(), 8, probeCfg(1))
	q, err := queue.Open(t.Context(), cfg, "w-late")
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	restarted := make(chan error, 1)
	go func() { restarted <- n.Restart(t.Context(), 6*time.Second) }() // longer than a JetStream request waits (5 s)
	time.Sleep(300 * time.Millisecond)                                 // nats-server is down now
	var log lockedBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- q.Work(ctx, queue.WorkerConfig{Name: "w-late", Registry: all.Registry(), Store: openStore(t, url),
			Batches: 1, Workers: 8, Source: testbed.Source, Idle: 200 * time.Millisecond, Log: &log})
	}()
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	st := await(t, url, id, time.Minute)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("worker: %v\n%s", err, log.String())
	}
	t.Logf("worker started during the outage:\n%s", log.String())
	if st.State != gown.ScanDone || st.Done != sub.Batches {
		t.Errorf("after the outage: %+v, want %d batches done", st, sub.Batches)
	}
}

// lockedBuffer is a log a worker writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
