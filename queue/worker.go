package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/store"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// WorkerConfig sets one worker process.
type WorkerConfig struct {
	// Name identifies the worker in the ledger and the logs.
	Name string
	// Registry holds every prober the worker can run; each scan's options
	// select from it.
	Registry *probe.Registry
	// Store is the shared results store; it must keep a ledger.
	Store gown.Store
	// Batches is how many batches the worker runs at once (4); Workers how
	// many targets of one batch are probed at once (64).
	Batches int
	Workers int
	// Source, when set, is the local address probes dial from.
	Source netip.Addr
	// Grace is how long batches still running when ctx ends may take to
	// finish before they are handed back to the queue (10 s).
	Grace time.Duration
	// Idle caps the wait between sweeps of the partitions that found
	// nothing (1 s).
	Idle time.Duration
	// Log receives a line per batch and per trouble; nil discards.
	Log io.Writer
	// Dialer, when set, replaces the engines' own (tests).
	Dialer probe.Dialer
}

// Validate checks the config and fills in defaults.
func (c *WorkerConfig) Validate() error {
	if c.Registry == nil || c.Store == nil {
		return errors.New("queue worker: needs probers and a results store")
	}
	if _, ok := c.Store.(gown.Ledger); !ok {
		return errors.New("queue worker: the results store keeps no queue ledger")
	}
	if c.Name == "" {
		c.Name = "worker"
	}
	if c.Batches == 0 {
		c.Batches = 4
	}
	if c.Workers == 0 {
		c.Workers = 64
	}
	if c.Grace == 0 {
		c.Grace = 10 * time.Second
	}
	if c.Idle == 0 {
		c.Idle = time.Second
	}
	if c.Batches < 1 || c.Workers < 1 || c.Grace < 0 || c.Idle < 0 {
		return fmt.Errorf("queue worker: %d batches, %d workers, grace %s: out of range", c.Batches, c.Workers, c.Grace)
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return nil
}

// worker is one Work call.
type worker struct {
	q    *Queue
	cfg  WorkerConfig
	l    gown.Ledger
	cons []jetstream.Consumer
	next int // the partition the next sweep starts at

	logMu sync.Mutex

	optMu sync.Mutex
	opts  map[gown.ScanID]Options // per scan, read once from the ledger
}

// Work pulls batches and runs them until ctx ends. Then it takes no more;
// the batches running get cfg.Grace to finish, and those that do not are
// handed back to the queue (nak) for another worker, with what they
// stored kept. Work returns nil after such a shutdown.
func (q *Queue) Work(ctx context.Context, cfg WorkerConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	w := &worker{q: q, cfg: cfg, l: cfg.Store.(gown.Ledger), opts: map[gown.ScanID]Options{}, next: rand.IntN(q.parts)}
	if err := w.consumers(ctx); err != nil {
		return err
	}
	// Batches outlive ctx by the grace period: they are cancelled through
	// their own context, after it.
	runCtx, stopRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRuns()
	unsub, err := w.listenDeadLetters(runCtx)
	if err != nil {
		return err
	}
	defer unsub()
	w.logf("worker %s: %d partitions of %s, %d batches at once", cfg.Name, q.parts, q.cfg.Stream, cfg.Batches)

	slots := make(chan struct{}, cfg.Batches)
	var running sync.WaitGroup
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		msg := w.take(ctx)
		if msg == nil {
			<-slots
			continue
		}
		running.Go(func() {
			defer func() { <-slots }()
			w.handle(runCtx, msg)
		})
	}
	done := make(chan struct{})
	go func() { running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(cfg.Grace):
		w.logf("worker %s: grace of %s over: handing the running batches back", cfg.Name, cfg.Grace)
		stopRuns()
		<-done
	}
	return nil
}

// consumers makes (or updates) the durable consumer of each partition:
// explicit acks, at most one batch in flight, the ack wait and delivery cap.
// A worker started while NATS restarts (or its JetStream elects a leader)
// waits for it: a request that timed out or found no responder is tried
// again, with back-off, until ctx ends; any other refusal is final.
func (w *worker) consumers(ctx context.Context) error {
	for p := range w.q.parts {
		wait := 100 * time.Millisecond
		for {
			c, err := w.consumer(ctx, p)
			if err == nil {
				w.cons = append(w.cons, c)
				break
			}
			if ctx.Err() != nil || !transient(err) {
				return err
			}
			w.logf("worker %s: %v: trying again in %s", w.cfg.Name, err, wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return err
			}
			wait = min(2*wait, 5*time.Second)
		}
	}
	return nil
}

// transient tells a JetStream request that may succeed when tried again.
func transient(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrDisconnected)
}

// consumer makes the durable consumer of partition p.
func (w *worker) consumer(ctx context.Context, p int) (jetstream.Consumer, error) {
	c, err := w.q.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       w.q.consumerName(p),
		Description:   "gown partition consumer: one batch at a time, so one address is probed by one worker",
		FilterSubject: w.q.partSubject(p) + ".*",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       w.q.cfg.AckWait,
		MaxDeliver:    w.q.cfg.MaxDeliver,
		MaxAckPending: 1,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("queue: consumer %s: %w", w.q.consumerName(p), err)
	}
	return c, nil
}

// take returns the next batch message of any partition, or nil once ctx
// ends. A worker pulls only when it has a slot free, so that it never holds
// a partition's batch it cannot start; and since a pull on a partition whose
// batch is in flight elsewhere is not answered until that batch is acked
// (or the pull expires), it first asks every partition's consumer how it
// stands, in parallel (one cheap request each), and pulls where a batch is
// ready. Only when none is does it try the partitions holding a batch, each
// briefly: a batch whose worker died is delivered again only to a pull.
// A sweep that finds nothing waits, twice as long each time up to Idle.
func (w *worker) take(ctx context.Context) jetstream.Msg {
	wait := 10 * time.Millisecond
	for ctx.Err() == nil {
		ready, held := w.peek(ctx)
		for _, p := range ready {
			if m := w.fetch(ctx, p, 50*time.Millisecond); m != nil {
				w.next = (p + 1) % w.q.parts
				return m
			}
		}
		for _, p := range held {
			if m := w.fetch(ctx, p, 20*time.Millisecond); m != nil {
				return m
			}
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, w.cfg.Idle)
	}
	return nil
}

// peek sorts the partitions, from the one after the last taken, into those
// with a batch ready to deliver and those with one in flight (or awaiting
// its next delivery).
func (w *worker) peek(ctx context.Context) (ready, held []int) {
	type state struct{ pending, acking uint64 }
	states := make([]state, w.q.parts)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for p := range w.q.parts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if info, err := w.cons[p].Info(ctx); err == nil {
				states[p] = state{info.NumPending, uint64(info.NumAckPending)}
			}
		})
	}
	wg.Wait()
	for i := range w.q.parts {
		p := (w.next + i) % w.q.parts
		switch st := states[p]; {
		case st.acking > 0:
			held = append(held, p)
		case st.pending > 0:
			ready = append(ready, p)
		}
	}
	return ready, held
}

// fetch pulls one message from a partition, waiting at most wait for it;
// should ctx end first, a message that still comes is handed back.
func (w *worker) fetch(ctx context.Context, p int, wait time.Duration) jetstream.Msg {
	b, err := w.cons[p].Fetch(1, jetstream.FetchMaxWait(wait))
	if err != nil {
		return nil
	}
	select {
	case m, ok := <-b.Messages():
		if ok {
			return m
		}
	case <-ctx.Done():
		go func() {
			for m := range b.Messages() {
				m.Nak()
			}
		}()
	}
	return nil
}

// logf writes one line to the worker's log.
func (w *worker) logf(format string, args ...any) {
	w.logMu.Lock()
	defer w.logMu.Unlock()
	fmt.Fprintf(w.cfg.Log, format+"\n", args...)
}

// options returns a scan's options, read from the ledger once.
func (w *worker) options(ctx context.Context, id gown.ScanID) (Options, error) {
	w.optMu.Lock()
	o, ok := w.opts[id]
	w.optMu.Unlock()
	if ok {
		return o, nil
	}
	s, err := w.l.QueueOptions(ctx, id)
	if err != nil {
		return o, err
	}
	if o, err = decodeOptions(s); err != nil {
		return o, err
	}
	w.optMu.Lock()
	w.opts[id] = o
	w.optMu.Unlock()
	return o, nil
}

// attached is the results store as a batch's scan sees it. scan.Begin
// checks that an attached scan exists with Store.Scan, whose counts walk
// every target the scan stored: once per batch, on a scan of millions, that
// would be the heaviest query a worker ran. StartBatch has just found the
// scan in the ledger, so the check is answered here.
type attached struct{ gown.Store }

func (a attached) Scan(_ context.Context, id gown.ScanID) (gown.ScanMeta, error) {
	return gown.ScanMeta{ID: id, State: gown.ScanRunning}, nil
}

// errCancelled stops a batch whose scan was cancelled; errLostQueue one
// whose worker lost NATS for most of the ack wait.
var (
	errCancelled = errors.New("scan cancelled")
	errLostQueue = errors.New("cut off from NATS for most of the ack wait: the batch goes to another worker")
)

// run probes a batch's targets through the pipeline, attached to its scan,
// while heartbeat keeps the message alive; it returns once everything is
// committed.
func (w *worker) run(ctx context.Context, b *Batch, o Options, targets []gown.Target) (scan.Summary, error) {
	reg := w.cfg.Registry
	if len(o.Probers) > 0 {
		var err error
		if reg, err = reg.Select(o.Probers...); err != nil {
			return scan.Summary{}, err
		}
	}
	cfg := scan.Config{Registry: reg, Store: attached{w.cfg.Store}, Attach: b.Scan, KeepClosed: o.KeepClosed,
		Probe: o.probeConfig(len(targets), w.cfg.Workers, w.cfg.Source, w.q.parts),
		// One commit when the batch is done, or each second while it
		// runs: a killed worker loses at most a second of it, and a store
		// serving hundreds of running batches is not asked for a commit
		// every 200 ms by each.
		Batch:  store.BatchConfig{Max: max(len(targets), 1), Every: time.Second},
		Dialer: w.cfg.Dialer}
	s, err := scan.Begin(ctx, cfg, nil)
	if err != nil {
		return scan.Summary{}, err
	}
	return s.Run(ctx, scan.Targets(targets...))
}

// heartbeat tells the queue the batch is alive every AckWait/4, and checks
// the ledger for a cancelled scan at the same pace, until stop is closed.
//
// Cut off from NATS for most of the ack wait, the worker cannot keep the
// batch: the queue will deliver it to another worker, and two workers on
// one partition would break the per-host limit. So the batch stops here
// (what it stored stays) before the ack wait runs out.
func (w *worker) heartbeat(ctx context.Context, msg jetstream.Msg, id gown.ScanID, cancel context.CancelCauseFunc, stop <-chan struct{}) {
	every := max(w.q.cfg.AckWait/4, 50*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	var cutOff time.Time // since when NATS has been away; zero while connected
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		switch {
		case w.q.nc.IsConnected():
			cutOff = time.Time{}
		case cutOff.IsZero():
			cutOff = time.Now().Add(-every) // away since the last tick at most
		case time.Since(cutOff) >= w.q.cfg.AckWait*3/4:
			cancel(errLostQueue)
			return
		}
		msg.InProgress() // a lost one only risks a redelivery, which the ledger absorbs
		if st, ok, err := w.l.QueueState(ctx, id); err == nil && ok && st.Cancelled {
			cancel(errCancelled)
		}
	}
}
