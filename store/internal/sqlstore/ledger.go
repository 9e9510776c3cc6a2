package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

var _ gown.Ledger = (*Store)(nil)

// QueueScan records a queued scan with its options.
func (s *Store) QueueScan(ctx context.Context, scan gown.ScanID, options string) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO queue_scans (scan_id, options) VALUES (?, ?)`), int64(scan), options)
	if err != nil {
		return fmt.Errorf("%s: queue scan %d: %w", s.d.Name, scan, err)
	}
	return nil
}

// QueueOptions returns a queued scan's options.
func (s *Store) QueueOptions(ctx context.Context, scan gown.ScanID) (string, error) {
	var opts string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT options FROM queue_scans WHERE scan_id = ?`), int64(scan)).Scan(&opts)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("scan %d is not a queued scan: %w", scan, ErrNoScan)
	}
	return opts, err
}

// Published records the batches published so far, and seals the count.
func (s *Store) Published(ctx context.Context, scan gown.ScanID, batches, targets int64, sealed bool) (gown.QueueState, error) {
	return s.inTx(ctx, scan, "publish", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE queue_scans SET batches = ?, targets = ?, sealed = ? WHERE scan_id = ?`),
			batches, targets, sealed, int64(scan))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("scan %d is not a queued scan: %w", scan, ErrNoScan)
		}
		return nil
	})
}

// StartBatch takes up a batch unless it already ended.
func (s *Store) StartBatch(ctx context.Context, scan gown.ScanID, batch int64, worker string, delivery int) (gown.BatchState, bool, error) {
	var state string
	var cancelled bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.q(`SELECT cancelled FROM queue_scans WHERE scan_id = ?`), int64(scan)).Scan(&cancelled)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("scan %d is not a queued scan: %w", scan, ErrNoScan)
		}
		if err != nil {
			return err
		}
		// A batch that ended keeps its end: a delivery after a lost ack
		// must not run it again.
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO queue_batches (scan_id, batch, state, worker, deliveries, started_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (scan_id, batch) DO UPDATE SET worker = excluded.worker, deliveries = excluded.deliveries,
				started_at = excluded.started_at
			WHERE queue_batches.state = 'running'`),
			clean(int64(scan), batch, string(gown.BatchRunning), worker, delivery, fmtTime(time.Now()))...)
		if err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.q(`SELECT state FROM queue_batches WHERE scan_id = ? AND batch = ?`),
			int64(scan), batch).Scan(&state)
	})
	if err != nil {
		return "", false, fmt.Errorf("%s: start batch %d of scan %d: %w", s.d.Name, batch, scan, err)
	}
	return gown.BatchState(state), cancelled, nil
}

// EndBatch ends a batch once, counts it, and finishes the scan when it was
// the last.
func (s *Store) EndBatch(ctx context.Context, scan gown.ScanID, batch int64, end gown.BatchEnd) (gown.QueueState, error) {
	var col string
	switch end.State {
	case gown.BatchDone:
		col = "done"
	case gown.BatchDead:
		col = "dead"
	case gown.BatchDropped:
		col = "dropped"
	default:
		return gown.QueueState{}, fmt.Errorf("end batch %d of scan %d: state %q is not an end", batch, scan, end.State)
	}
	return s.inTx(ctx, scan, "end batch", func(tx *sql.Tx) error {
		// A dead letter from the queue's own advisory may end a batch no
		// worker ever took up (its message could not even be read), so the
		// row is made here if missing; a batch that already ended does not
		// end again, and is not counted twice.
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO queue_batches (scan_id, batch, state, worker, deliveries, targets, ended_at, error, message)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (scan_id, batch) DO UPDATE SET state = excluded.state, worker = excluded.worker,
				deliveries = excluded.deliveries, targets = excluded.targets, ended_at = excluded.ended_at,
				error = excluded.error, message = excluded.message
			WHERE queue_batches.state = 'running'`),
			clean(int64(scan), batch, string(end.State), end.Worker, end.Deliveries, end.Targets, fmtTime(time.Now()),
				end.Error, end.Message)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE queue_scans SET `+col+` = `+col+` + 1 WHERE scan_id = ?`), int64(scan))
		return err
	})
}

// Cancel marks a queued scan cancelled and the scan interrupted.
func (s *Store) Cancel(ctx context.Context, scan gown.ScanID) (gown.QueueState, error) {
	return s.inTx(ctx, scan, "cancel", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE queue_scans SET cancelled = ? WHERE scan_id = ?`), true, int64(scan))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("scan %d is not a queued scan: %w", scan, ErrNoScan)
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE scans SET state = ?, finished_at = ? WHERE id = ? AND state = ?`),
			string(gown.ScanInterrupted), fmtTime(time.Now()), int64(scan), string(gown.ScanRunning))
		return err
	})
}

// inTx runs fn and then, in the same transaction, reads the scan's queue
// state and finishes the scan when its last batch has ended: whichever
// transaction makes that true first (an ending batch, or the seal) sees
// it, because each one takes the scan's queue row for update before
// reading it.
func (s *Store) inTx(ctx context.Context, scan gown.ScanID, op string, fn func(*sql.Tx) error) (gown.QueueState, error) {
	var q gown.QueueState
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		var ok bool
		var err error
		if q, ok, err = s.queueState(ctx, tx, scan, true); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("scan %d is not a queued scan: %w", scan, ErrNoScan)
			}
			return err
		}
		if q.State != gown.ScanRunning || q.Cancelled || !q.Finished() {
			return nil
		}
		q.State = gown.ScanDone
		if q.Dead > 0 {
			// Some targets were never probed: the scan did not complete.
			q.State = gown.ScanInterrupted
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE scans SET state = ?, finished_at = ? WHERE id = ?`),
			string(q.State), fmtTime(time.Now()), int64(scan))
		return err
	})
	if err != nil {
		return q, fmt.Errorf("%s: %s scan %d: %w", s.d.Name, op, scan, err)
	}
	return q, nil
}

// tx runs fn in a transaction and commits when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queueState reads a scan's queue state; lock takes its queue row for
// update (PostgreSQL: SQLite's writer lock already serialises).
func (s *Store) queueState(ctx context.Context, db querier, scan gown.ScanID, lock bool) (gown.QueueState, bool, error) {
	q := gown.QueueState{Scan: scan}
	forUpdate := ""
	if lock && s.d.Name == "postgres" {
		forUpdate = " FOR UPDATE OF qs"
	}
	var state string
	err := db.QueryRowContext(ctx, s.q(`SELECT qs.batches, qs.targets, qs.sealed, qs.done, qs.dead, qs.dropped, qs.cancelled, sc.state,
		(SELECT COUNT(*) FROM queue_batches b WHERE b.scan_id = qs.scan_id AND b.state = 'running')
		FROM queue_scans qs JOIN scans sc ON sc.id = qs.scan_id WHERE qs.scan_id = ?`+forUpdate), int64(scan)).
		Scan(&q.Batches, &q.Targets, &q.Sealed, &q.Done, &q.Dead, &q.Dropped, &q.Cancelled, &state, &q.Running)
	if errors.Is(err, sql.ErrNoRows) {
		return q, false, nil
	}
	q.State = gown.ScanState(state)
	return q, err == nil, err
}

// QueueState returns a scan's queue state.
func (s *Store) QueueState(ctx context.Context, scan gown.ScanID) (gown.QueueState, bool, error) {
	q, ok, err := s.queueState(ctx, s.db, scan, false)
	if err != nil {
		return q, false, fmt.Errorf("%s: queue state of scan %d: %w", s.d.Name, scan, err)
	}
	return q, ok, nil
}

// DeadLetters walks the dead letters, oldest first, a page at a time.
func (s *Store) DeadLetters(ctx context.Context, scan gown.ScanID, fn func(gown.DeadLetter) error) error {
	type key struct{ scan, batch int64 }
	after := key{-1, -1}
	for {
		page, err := collect(ctx, s.db, s.q(`SELECT scan_id, batch, targets, deliveries, worker, error, ended_at, message
			FROM queue_batches WHERE state = 'dead' AND (? = 0 OR scan_id = ?) AND (scan_id > ? OR scan_id = ? AND batch > ?)
			ORDER BY scan_id, batch LIMIT 200`), []any{int64(scan), int64(scan), after.scan, after.scan, after.batch},
			func(r rowScanner) (gown.DeadLetter, error) {
				var d gown.DeadLetter
				var ended string
				err := r.Scan(&d.Scan, &d.Batch, &d.Targets, &d.Deliveries, &d.Worker, &d.Error, &ended, &d.Message)
				d.Ended = parseTime(ended)
				return d, err
			})
		if err != nil {
			return fmt.Errorf("%s: dead letters: %w", s.d.Name, err)
		}
		for _, d := range page {
			if err := fn(d); err != nil {
				return err
			}
			after = key{int64(d.Scan), d.Batch}
		}
		if len(page) < 200 {
			return nil
		}
	}
}

// StoredKeys returns which of keys the scan has stored: a few hundred keys
// a query against the targets with a result, then the stored batches of
// finished-only targets whose key range overlaps theirs.
func (s *Store) StoredKeys(ctx context.Context, scan gown.ScanID, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	want := make(map[string]bool, len(keys))
	lo, hi := keys[0], keys[0]
	for _, k := range keys {
		want[k] = true
		lo, hi = min(lo, k), max(hi, k)
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		args := []any{int64(scan)}
		for _, k := range keys[:n] {
			args = append(args, k)
		}
		q := `SELECT key FROM targets WHERE scan_id = ? AND key IN (?` + strings.Repeat(", ?", n-1) + `)`
		got, err := collect(ctx, s.db, s.q(q), clean(args...), func(r rowScanner) (string, error) {
			var k string
			return k, r.Scan(&k)
		})
		if err != nil {
			return nil, fmt.Errorf("%s: stored targets of scan %d: %w", s.d.Name, scan, err)
		}
		for _, k := range got {
			out[k] = true
		}
		keys = keys[n:]
	}
	err := s.closedKeys(ctx, scan, lo, hi, func(k string) error {
		if want[k] {
			out[k] = true
		}
		return nil
	})
	return out, err
}
