package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
)

// testLedger: the books of a queued scan. A batch ends once however often it
// is ended; the last batch to end (or the seal, when the batches ended
// first) finishes the scan; a dead batch leaves it interrupted and is
// listed; a cancelled scan's batches are reported so at their start; many
// ends racing count each batch once.
func testLedger(t *testing.T, s gown.Store) {
	l, ok := s.(gown.Ledger)
	if !ok {
		t.Fatalf("%T has no ledger", s)
	}
	ctx := t.Context()
	if _, err := l.QueueOptions(ctx, 99); !errors.Is(err, store.ErrNoScan) {
		t.Errorf("options of a scan that is not queued: %v", err)
	}
	id := begin(t, s)
	if err := l.QueueScan(ctx, id, `{"probers":["redis"]}`); err != nil {
		t.Fatal(err)
	}
	if o, err := l.QueueOptions(ctx, id); err != nil || o != `{"probers":["redis"]}` {
		t.Errorf("options %q, %v", o, err)
	}
	start := func(batch int64, worker string, delivery int) gown.BatchState {
		t.Helper()
		st, cancelled, err := l.StartBatch(ctx, id, batch, worker, delivery)
		if err != nil || cancelled {
			t.Fatalf("start batch %d: %v, cancelled %v", batch, err, cancelled)
		}
		return st
	}
	end := func(batch int64, e gown.BatchEnd) gown.QueueState {
		t.Helper()
		q, err := l.EndBatch(ctx, id, batch, e)
		if err != nil {
			t.Fatalf("end batch %d: %v", batch, err)
		}
		return q
	}
	// Batches 1 and 2 end before the submitter seals: the seal finishes.
	if st := start(1, "w1", 1); st != gown.BatchRunning {
		t.Errorf("a new batch starts %q", st)
	}
	start(2, "w2", 1)
	if q, _, _ := l.QueueState(ctx, id); q.Running != 2 {
		t.Errorf("running %d, want 2: %+v", q.Running, q)
	}
	// w1 was killed: the redelivery goes to w3, which takes it over.
	if st := start(1, "w3", 2); st != gown.BatchRunning {
		t.Errorf("a redelivered running batch starts %q", st)
	}
	end(1, gown.BatchEnd{State: gown.BatchDone, Worker: "w3", Deliveries: 2, Targets: 10})
	// The ack was lost: the next delivery finds the batch done.
	if st := start(1, "w2", 3); st != gown.BatchDone {
		t.Errorf("a done batch delivered again starts %q", st)
	}
	if q := end(1, gown.BatchEnd{State: gown.BatchDone}); q.Done != 1 {
		t.Errorf("a batch ended twice counts %d", q.Done)
	}
	q := end(2, gown.BatchEnd{State: gown.BatchDone, Targets: 10})
	if q.State != gown.ScanRunning || q.Finished() {
		t.Errorf("finished before the seal: %+v", q)
	}
	if q, err := l.Published(ctx, id, 2, 20, true); err != nil || q.State != gown.ScanDone || !q.Finished() || q.Done != 2 {
		t.Errorf("the seal after every batch ended: %+v, %v", q, err)
	}
	if m, _ := s.Scan(ctx, id); m.State != gown.ScanDone || m.Finished.IsZero() {
		t.Errorf("scan after the seal: %+v", m)
	}

	// A scan sealed first: the last end finishes it; a dead letter makes it
	// interrupted and is listed with its message.
	id2 := begin(t, s)
	if err := l.QueueScan(ctx, id2, "{}"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Published(ctx, id2, 3, 30, true); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for b := range int64(3) {
		wg.Go(func() {
			for range 3 { // each batch ended three times at once
				e := gown.BatchEnd{State: gown.BatchDone, Worker: "w"}
				if b == 2 {
					e = gown.BatchEnd{State: gown.BatchDead, Deliveries: 5, Error: "decode: bad \x00 json", Message: "{not json"}
				}
				if _, err := l.EndBatch(ctx, id2, b+1, e); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	q, ok, err := l.QueueState(ctx, id2)
	if err != nil || !ok || q.Done != 2 || q.Dead != 1 || q.State != gown.ScanInterrupted || q.Queued() != 0 {
		t.Errorf("after racing ends: %+v, %v", q, err)
	}
	var dead []gown.DeadLetter
	if err := l.DeadLetters(ctx, 0, func(d gown.DeadLetter) error { dead = append(dead, d); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Scan != id2 || dead[0].Batch != 3 || dead[0].Deliveries != 5 || dead[0].Message != "{not json" ||
		dead[0].Ended.IsZero() {
		t.Errorf("dead letters %+v", dead)
	}

	// Cancelled: the scan is interrupted at once, and a batch taken up
	// later is told so.
	id3 := begin(t, s)
	if err := l.QueueScan(ctx, id3, "{}"); err != nil {
		t.Fatal(err)
	}
	if q, err := l.Cancel(ctx, id3); err != nil || !q.Cancelled || q.State != gown.ScanInterrupted || !q.Finished() {
		t.Errorf("cancel: %+v, %v", q, err)
	}
	if _, cancelled, err := l.StartBatch(ctx, id3, 1, "w", 1); err != nil || !cancelled {
		t.Errorf("a batch of a cancelled scan: cancelled %v, %v", cancelled, err)
	}
	if _, _, err := l.StartBatch(ctx, id+100, 1, "w", 1); !errors.Is(err, store.ErrNoScan) {
		t.Errorf("a batch of no queued scan: %v", err)
	}

	add(t, s, id, Closed(Target("a.example", 1)), Closed(Target("b.example", 2)))
	keys, err := l.StoredKeys(ctx, id, []string{gown.TargetKey(Target("a.example", 1)), "c.example:3"})
	if err != nil || len(keys) != 1 || !keys[gown.TargetKey(Target("a.example", 1))] {
		t.Errorf("stored keys %v, %v", keys, err)
	}
	if n, err := s.Prune(ctx, 0); err != nil || n != 3 {
		t.Errorf("prune: %d, %v", n, err)
	}
	if _, ok, err := l.QueueState(ctx, id2); ok || err != nil {
		t.Errorf("a pruned scan keeps its queue state: %v", err)
	}
}
