package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/scan"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultBatch is how many targets a batch holds unless told otherwise:
// enough that a batch's fixed costs (a message, a few ledger rows, an engine)
// vanish beside its probes, few enough that a redelivered batch repeats
// little and the partitions' batches spread over the workers.
const DefaultBatch = 64

// Submitted is what a submission published. Duplicates counts the batches
// the stream already held (a scan submitted again): it dropped them.
type Submitted struct {
	Batches, Targets, Duplicates int64
}

// Begin records a new queued scan: the scan in the store, and in its
// ledger the options workers will apply. The store must have a ledger.
func Begin(ctx context.Context, st gown.Store, meta gown.ScanMeta, opts Options) (gown.ScanID, error) {
	l, ok := st.(gown.Ledger)
	if !ok {
		return 0, errors.New("queue: the results store keeps no queue ledger")
	}
	enc, err := opts.encode()
	if err != nil {
		return 0, err
	}
	id, err := st.BeginScan(ctx, meta)
	if err != nil {
		return 0, err
	}
	if err := l.QueueScan(ctx, id, enc); err != nil {
		return 0, errors.Join(err, st.FinishScan(context.WithoutCancel(ctx), id, gown.ScanInterrupted))
	}
	return id, nil
}

// Submit cuts what src sends into batches and publishes them under scan
// id, then seals the count in the ledger: from then on the worker that ends
// the last batch finishes the scan.
//
// Targets go to the partition of their address (Partition). Each partition
// fills its own batch of size targets, flushed when full, but never between
// two targets of the same address while the batch is under 4×size: the
// findings drawn across one address's results (scan.Run's honeypot check)
// see all of its ports when the list names them together, as expansion
// does. Batch ids follow the order batches fill, so the same input cut again
// gives the same ids, and the stream drops a batch published twice.
func (q *Queue) Submit(ctx context.Context, st gown.Store, id gown.ScanID, src scan.Source, size int) (Submitted, error) {
	if size <= 0 {
		size = DefaultBatch
	}
	l, ok := st.(gown.Ledger)
	if !ok {
		return Submitted{}, errors.New("queue: the results store keeps no queue ledger")
	}
	meta, err := st.Scan(ctx, id)
	if err != nil {
		return Submitted{}, err
	}
	s := &submitter{q: q, l: l, id: id, began: meta.Started, size: size, parts: make([][]gown.Target, q.parts), last: time.Now()}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	targets := make(chan gown.Target, size)
	srcErr := make(chan error, 1)
	go func() {
		defer close(targets)
		srcErr <- src(ctx, targets)
	}()
	for t := range targets {
		if err = s.add(ctx, t); err != nil {
			cancel() // the source stops; its channel drains below
			break
		}
	}
	for range targets {
	}
	if err = errors.Join(err, <-srcErr); err != nil {
		return s.done, err
	}
	for p := range s.parts {
		if err := s.flush(ctx, p); err != nil {
			return s.done, err
		}
	}
	if _, err := l.Published(ctx, id, s.done.Batches, s.done.Targets, true); err != nil {
		return s.done, err
	}
	return s.done, nil
}

type submitter struct {
	q     *Queue
	l     gown.Ledger
	id    gown.ScanID
	began time.Time // the scan's start, in its message ids
	size  int
	parts [][]gown.Target
	done  Submitted
	last  time.Time // when the ledger was last told the count
}

func (s *submitter) add(ctx context.Context, t gown.Target) error {
	p := Partition(t, s.q.parts)
	buf := s.parts[p]
	if n := len(buf); n >= 4*s.size || n >= s.size && !sameAddr(buf[n-1], t) {
		if err := s.flush(ctx, p); err != nil {
			return err
		}
	}
	s.parts[p] = append(s.parts[p], t)
	return nil
}

func sameAddr(a, b gown.Target) bool {
	if a.Addr.IsValid() || b.Addr.IsValid() {
		return a.Addr == b.Addr
	}
	return a.Host == b.Host
}

// flush publishes a partition's batch, and tells the ledger the count at
// most once a second, so that progress shows while a long list is cut.
func (s *submitter) flush(ctx context.Context, p int) error {
	if len(s.parts[p]) == 0 {
		return nil
	}
	b := Batch{Scan: s.id, ID: s.done.Batches + 1, Partition: p, Targets: s.parts[p]}
	dup, err := s.q.publish(ctx, &b, s.began)
	if err != nil {
		return err
	}
	if dup {
		s.done.Duplicates++
	}
	s.done.Batches++
	s.done.Targets += int64(len(b.Targets))
	s.parts[p] = make([]gown.Target, 0, s.size)
	if time.Since(s.last) < time.Second {
		return nil
	}
	s.last = time.Now()
	_, err = s.l.Published(ctx, s.id, s.done.Batches, s.done.Targets, false)
	return err
}

// publish sends one batch and waits for the stream's ack, trying again
// while NATS is away (a restart, a lost ack): the message id makes a
// second copy a duplicate the stream drops. It gives up after about two
// minutes, or when ctx ends. It reports whether the stream held the batch
// already.
func (q *Queue) publish(ctx context.Context, b *Batch, began time.Time) (bool, error) {
	data, err := json.Marshal(b)
	if err != nil {
		return false, err
	}
	msg := &nats.Msg{Subject: q.subject(b.Partition, b.Scan), Data: data, Header: nats.Header{}}
	wait := 100 * time.Millisecond
	deadline := time.Now().Add(2 * time.Minute)
	var ack *jetstream.PubAck
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ack, err = q.js.PublishMsg(pctx, msg, jetstream.WithMsgID(msgID(b.Scan, began, b.ID)), jetstream.WithExpectStream(q.cfg.Stream))
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, 2*time.Second)
	}
	if err != nil {
		return false, fmt.Errorf("queue: publish batch %d of scan %d: %w", b.ID, b.Scan, errors.Join(err, ctx.Err()))
	}
	return ack.Duplicate, nil
}

// Follow reports a queued scan's state every interval until it is
// finished (every batch ended, or cancelled) or ctx ends, and returns the
// last state it read.
func Follow(ctx context.Context, l gown.Ledger, id gown.ScanID, every time.Duration, fn func(gown.QueueState)) (gown.QueueState, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		st, ok, err := l.QueueState(ctx, id)
		switch {
		case err != nil:
			return st, err
		case !ok:
			return st, fmt.Errorf("scan %d is not a queued scan", id)
		}
		if fn != nil {
			fn(st)
		}
		if st.Finished() {
			return st, nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}
