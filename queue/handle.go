package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
	"github.com/gownscan/gown/store"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// delivery is one message in a worker's hands.
type delivery struct {
	msg   jetstream.Msg
	scan  gown.ScanID
	part  int
	batch int64 // from the message id; 0 when unknown
	n     int   // how often the queue has delivered it, this time included
}

// handle runs one delivered batch to its end: run, stored, ledger ended,
// acked; or handed back (nak) for a later delivery; or, on its last
// delivery, ended as a dead letter. ctx ends when the worker's grace is
// over.
func (w *worker) handle(ctx context.Context, msg jetstream.Msg) {
	d := delivery{msg: msg, n: 1}
	if md, err := msg.Metadata(); err == nil {
		d.n = int(md.NumDelivered)
	}
	part, id, err := w.q.parseSubject(msg.Subject())
	if err != nil {
		// Nothing to attribute it to in any ledger: say so, and drop it.
		w.logf("worker %s: dropping a message gown cannot place: %v", w.cfg.Name, err)
		msg.Term()
		return
	}
	d.scan, d.part = id, part
	d.batch, _ = parseMsgID(msg.Headers().Get(jetstream.MsgIDHeader), id)
	if d.batch == 0 {
		w.fail(ctx, d, 0, errors.New("message without a gown batch id"))
		return
	}
	state, cancelled, err := w.startBatch(ctx, d)
	switch {
	case errors.Is(err, store.ErrNoScan):
		w.logf("worker %s: scan %d batch %d: dropped: %v", w.cfg.Name, id, d.batch, err)
		w.ack(ctx, d)
		return
	case err != nil:
		w.handBack(d, err)
		return
	case state != gown.BatchRunning:
		// Ended before (the ack was lost, or a dead letter was recorded):
		// acking is all that is left.
		w.ack(ctx, d)
		return
	case cancelled:
		w.end(ctx, d, gown.BatchEnd{State: gown.BatchDropped}, "dropped: scan cancelled")
		return
	}
	b, err := decodeBatch(msg.Data(), id, part)
	if err != nil {
		w.fail(ctx, d, 0, err)
		return
	}
	o, err := w.options(ctx, id)
	if err != nil {
		w.fail(ctx, d, len(b.Targets), err)
		return
	}
	targets := b.Targets
	if d.n > 1 {
		// A redelivery: the worker before may have stored part of it.
		if targets, err = w.unstored(ctx, id, targets); err != nil {
			w.handBack(d, err)
			return
		}
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	stop := make(chan struct{})
	go w.heartbeat(runCtx, msg, id, cancel, stop)
	began := time.Now()
	sum, err := w.run(runCtx, b, o, targets)
	close(stop)
	cause := context.Cause(runCtx)
	cancel(nil)
	end := gown.BatchEnd{State: gown.BatchDone, Targets: len(b.Targets)}
	switch {
	case err == nil:
		w.end(ctx, d, end, fmt.Sprintf("done: %d targets probed (%d stored before), %d results, %d findings in %s",
			sum.Targets, len(b.Targets)-len(targets), sum.Results, sum.Findings, time.Since(began).Round(time.Millisecond)))
	case errors.Is(cause, errCancelled):
		end.State = gown.BatchDropped
		w.end(ctx, d, end, "dropped: scan cancelled while it ran")
	case errors.Is(cause, errLostQueue):
		w.handBack(d, cause) // the nak is likely lost too: the ack wait brings it back
	case ctx.Err() != nil:
		w.handBack(d, errors.New("worker stopping"))
	default:
		w.fail(ctx, d, len(b.Targets), err)
	}
}

// startBatch takes the batch up in the ledger, waiting out a store that
// is away rather than spending a delivery on it.
func (w *worker) startBatch(ctx context.Context, d delivery) (gown.BatchState, bool, error) {
	var state gown.BatchState
	var cancelled bool
	err := w.retry(ctx, d, func() error {
		var err error
		state, cancelled, err = w.l.StartBatch(ctx, d.scan, d.batch, w.cfg.Name, d.n)
		return err
	})
	return state, cancelled, err
}

// unstored drops the targets the scan already stored.
func (w *worker) unstored(ctx context.Context, id gown.ScanID, ts []gown.Target) ([]gown.Target, error) {
	keys := make([]string, len(ts))
	for i, t := range ts {
		keys[i] = gown.TargetKey(t)
	}
	var have map[string]bool
	err := w.retry(ctx, delivery{}, func() error {
		var err error
		have, err = w.l.StoredKeys(ctx, id, keys)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := ts[:0:0]
	for i, t := range ts {
		if !have[keys[i]] {
			out = append(out, t)
		}
	}
	return out, nil
}

// end records how the batch ended, then acks it: the ack comes only after
// the ledger (and, for a done batch, every result) is committed.
//
// What ran must be booked even when the worker is stopping: the ledger and
// the ack get a little time of their own.
func (w *worker) end(ctx context.Context, d delivery, e gown.BatchEnd, what string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	e.Worker, e.Deliveries = w.cfg.Name, d.n
	var q gown.QueueState
	err := w.retry(ctx, d, func() error {
		var err error
		q, err = w.l.EndBatch(ctx, d.scan, d.batch, e)
		return err
	})
	if err != nil {
		w.handBack(d, err)
		return
	}
	w.logf("worker %s: scan %d batch %d (partition %d, delivery %d): %s", w.cfg.Name, d.scan, d.batch, d.part, d.n, what)
	if !q.Cancelled && q.Sealed && q.Ended() == q.Batches && q.State != gown.ScanRunning {
		// Exactly one end counts the last batch: this one finished the scan.
		w.logf("worker %s: scan %d %s: %d batches done, %d dead", w.cfg.Name, d.scan, q.State, q.Done, q.Dead)
	}
	w.ack(ctx, d)
}

// ack acknowledges and waits for the server to confirm; a lost ack only
// brings a redelivery, which the ledger answers "already ended".
func (w *worker) ack(ctx context.Context, d delivery) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.msg.DoubleAck(actx); err != nil {
		w.logf("worker %s: scan %d batch %d: ack: %v (it will come again and be found ended)", w.cfg.Name, d.scan, d.batch, err)
	}
}

// fail handles a batch that failed: on its last delivery it becomes a dead
// letter (recorded, then acked so that it leaves the stream); before that
// it goes back to the queue, delayed a little more each time.
func (w *worker) fail(ctx context.Context, d delivery, targets int, err error) {
	reason := redact.String(err.Error())
	if d.n < w.q.cfg.MaxDeliver {
		w.logf("worker %s: scan %d batch %d (delivery %d of %d) failed: %s", w.cfg.Name, d.scan, d.batch, d.n, w.q.cfg.MaxDeliver, reason)
		d.msg.NakWithDelay(time.Duration(d.n) * w.q.cfg.NakDelay)
		return
	}
	if d.batch == 0 {
		d.batch = -int64(d.seq())
	}
	w.end(ctx, d, gown.BatchEnd{State: gown.BatchDead, Targets: targets, Error: reason, Message: message(d.msg.Data())},
		fmt.Sprintf("dead letter after %d deliveries: %s", d.n, reason))
}

// handBack returns a batch to the queue for another delivery soon, for
// trouble that is not the batch's own: the worker stopping, the store away.
func (w *worker) handBack(d delivery, why error) {
	w.logf("worker %s: scan %d batch %d: handed back: %v", w.cfg.Name, d.scan, d.batch, why)
	d.msg.NakWithDelay(time.Second)
}

// seq is the message's stream sequence.
func (d delivery) seq() uint64 {
	if md, err := d.msg.Metadata(); err == nil {
		return md.Sequence.Stream
	}
	return 0
}

// retry calls fn until it succeeds, fails for good (the scan is gone), or
// ctx ends, waiting longer after each failure: a store that is restarting
// must not turn every batch in flight into a spent delivery. The batch
// message, if any, is kept alive meanwhile.
func (w *worker) retry(ctx context.Context, d delivery, fn func() error) error {
	wait := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil || errors.Is(err, store.ErrNoScan) || ctx.Err() != nil {
			return err
		}
		w.logf("worker %s: results store: %v; trying again in %s", w.cfg.Name, err, wait)
		if d.msg != nil {
			d.msg.InProgress()
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// message keeps a dead letter's body as text the store accepts: the JSON
// of a readable batch, or the bytes of an unreadable one, escaped and cut.
func message(data []byte) string {
	const max = 1 << 20
	if json.Valid(data) && len(data) <= max {
		return string(data)
	}
	s := strings.ToValidUTF8(string(data[:min(len(data), max)]), "\uFFFD")
	return strings.ReplaceAll(s, "\x00", `\x00`)
}

// advisory is JetStream's notice that a message reached its consumer's
// delivery cap without an ack.
type advisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries int    `json:"deliveries"`
}

// listenDeadLetters records as dead letters the batches whose every
// delivery died with its worker (killed, out of memory, stalled past the
// ack wait), which no worker could record itself. JetStream announces
// them on an advisory subject; one worker of the queue group takes each,
// reads the message, ends its batch dead and deletes it from the stream.
func (w *worker) listenDeadLetters(ctx context.Context) (func(), error) {
	subj := "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + w.q.cfg.Stream + ".*"
	sub, err := w.q.nc.QueueSubscribe(subj, "gown-dead-letters", func(m *nats.Msg) {
		var a advisory
		if err := json.Unmarshal(m.Data, &a); err != nil || a.StreamSeq == 0 {
			return
		}
		w.deadLetter(ctx, a)
	})
	if err != nil {
		return nil, fmt.Errorf("queue: dead-letter advisories: %w", err)
	}
	return func() { sub.Unsubscribe() }, nil
}

func (w *worker) deadLetter(ctx context.Context, a advisory) {
	raw, err := w.q.stream.GetMsg(ctx, a.StreamSeq)
	if err != nil {
		return // gone: a worker recorded and acked it, or it was purged
	}
	part, id, err := w.q.parseSubject(raw.Subject)
	if err != nil {
		w.logf("worker %s: a message gown cannot place reached its delivery cap: %v", w.cfg.Name, err)
		return
	}
	batch, ok := parseMsgID(raw.Header.Get(jetstream.MsgIDHeader), id)
	if !ok {
		batch = -int64(a.StreamSeq)
	}
	targets := 0
	if b, err := decodeBatch(raw.Data, id, part); err == nil {
		targets = len(b.Targets)
	}
	e := gown.BatchEnd{State: gown.BatchDead, Targets: targets, Deliveries: a.Deliveries, Worker: w.cfg.Name,
		Error:   fmt.Sprintf("delivered %d times without an ack: each worker that took it died or stalled past the ack wait", a.Deliveries),
		Message: message(raw.Data)}
	err = w.retry(ctx, delivery{}, func() error {
		_, err := w.l.EndBatch(ctx, id, batch, e)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNoScan) {
		w.logf("worker %s: scan %d batch %d: dead letter not recorded: %v", w.cfg.Name, id, batch, err)
		return
	}
	w.logf("worker %s: scan %d batch %d (partition %d): dead letter: %s", w.cfg.Name, id, batch, part, e.Error)
	if err := w.q.stream.DeleteMsg(ctx, a.StreamSeq); err != nil {
		w.logf("worker %s: scan %d batch %d: delete dead letter from the stream: %v", w.cfg.Name, id, batch, err)
	}
}
