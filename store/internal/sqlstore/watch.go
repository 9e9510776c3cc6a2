package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

var _ gown.WatchStore = (*Store)(nil)

const watchCols = `id, name, command, args, schedule, created_at`

func scanWatch(r rowScanner) (gown.Watch, error) {
	var w gown.Watch
	var args, created string
	if err := r.Scan(&w.ID, &w.Name, &w.Command, &args, &w.Schedule, &created); err != nil {
		return w, err
	}
	w.Created = parseTime(created)
	if err := json.Unmarshal([]byte(args), &w.Args); err != nil {
		return w, fmt.Errorf("watch %s args: %w", w.Name, err)
	}
	return w, nil
}

// EnsureWatch returns the watch named spec.Name, creating or updating it.
func (s *Store) EnsureWatch(ctx context.Context, spec gown.WatchSpec) (gown.Watch, error) {
	if spec.Name == "" {
		return gown.Watch{}, errors.New("watch: no name")
	}
	args, err := json.Marshal(spec.Args)
	if err != nil {
		return gown.Watch{}, err
	}
	if spec.Args == nil {
		args = []byte("[]")
	}
	row := s.db.QueryRowContext(ctx, s.q(`INSERT INTO watches (name, command, args, schedule, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET command = excluded.command, args = excluded.args, schedule = excluded.schedule
		RETURNING `+watchCols), spec.Name, spec.Command, string(args), spec.Schedule, fmtTime(time.Now()))
	w, err := scanWatch(row)
	if err != nil {
		return w, fmt.Errorf("%s: watch %s: %w", s.d.Name, spec.Name, err)
	}
	return w, nil
}

// Watches lists the stored watches by name.
func (s *Store) Watches(ctx context.Context) ([]gown.Watch, error) {
	ws, err := collect(ctx, s.db, `SELECT `+watchCols+` FROM watches ORDER BY name`, nil, scanWatch)
	if err != nil {
		return nil, fmt.Errorf("%s: watches: %w", s.d.Name, err)
	}
	return ws, nil
}

const runCols = `watch_id, seq, due_at, started_at, finished_at, scan_id, base_scan, state, error`

func scanRun(r rowScanner) (gown.WatchRun, error) {
	var run gown.WatchRun
	var due, started string
	var finished sql.NullString
	var scan, base int64
	err := r.Scan(&run.Watch, &run.Seq, &due, &started, &finished, &scan, &base, &run.State, &run.Error)
	run.Due, run.Started, run.Finished = parseTime(due), parseTime(started), parseTime(finished.String)
	run.Scan, run.Base = gown.ScanID(scan), gown.ScanID(base)
	return run, err
}

// WatchRuns walks a watch's runs, newest first, a page at a time.
func (s *Store) WatchRuns(ctx context.Context, watch int64, fn func(gown.WatchRun) error) error {
	last := int64(math.MaxInt32) // seq is an INTEGER
	for {
		page, err := collect(ctx, s.db, s.q(`SELECT `+runCols+` FROM watch_runs WHERE watch_id = ? AND seq < ? ORDER BY seq DESC LIMIT 200`),
			[]any{watch, last}, scanRun)
		if err != nil {
			return fmt.Errorf("%s: runs of watch %d: %w", s.d.Name, watch, err)
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
			last = int64(r.Seq)
		}
		if len(page) < 200 {
			return nil
		}
	}
}

// StartRun records a new running run due at due.
func (s *Store) StartRun(ctx context.Context, watch int64, due time.Time) (gown.WatchRun, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return gown.WatchRun{}, err
	}
	defer tx.Rollback()
	run := gown.WatchRun{Watch: watch, Due: due, Started: time.Now(), State: gown.RunRunning}
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(seq), 0) + 1 FROM watch_runs WHERE watch_id = ?`), watch).Scan(&run.Seq); err != nil {
		return run, fmt.Errorf("%s: start run of watch %d: %w", s.d.Name, watch, err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO watch_runs (watch_id, seq, due_at, started_at, state) VALUES (?, ?, ?, ?, ?)`),
		watch, run.Seq, fmtTime(due), fmtTime(run.Started), run.State); err != nil {
		return run, fmt.Errorf("%s: start run of watch %d: %w", s.d.Name, watch, err)
	}
	return run, tx.Commit()
}

// SetRunScan records the pipeline scan a run made.
func (s *Store) SetRunScan(ctx context.Context, watch int64, seq int, scan gown.ScanID) error {
	return s.updateRun(ctx, watch, seq, `scan_id = ?`, int64(scan))
}

// FailRun marks a run failed with why.
func (s *Store) FailRun(ctx context.Context, watch int64, seq int, why string) error {
	return s.updateRun(ctx, watch, seq, `state = ?, error = ?, finished_at = ?`, gown.RunFailed, why, fmtTime(time.Now()))
}

func (s *Store) updateRun(ctx context.Context, watch int64, seq int, set string, args ...any) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE watch_runs SET `+set+` WHERE watch_id = ? AND seq = ?`), append(args, watch, seq)...)
	if err != nil {
		return fmt.Errorf("%s: run %d of watch %d: %w", s.d.Name, seq, watch, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: run %d of watch %d: no such run", s.d.Name, seq, watch)
	}
	return nil
}

// FinishRun marks a run done and records its alerts with a pending
// delivery to each sink, in one transaction.
func (s *Store) FinishRun(ctx context.Context, run gown.WatchRun, alerts []gown.Alert, sinks []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	wrap := func(err error) error {
		return fmt.Errorf("%s: finish run %d of watch %d: %w", s.d.Name, run.Seq, run.Watch, err)
	}
	now := fmtTime(time.Now())
	res, err := tx.ExecContext(ctx, s.q(`UPDATE watch_runs SET state = ?, finished_at = ?, scan_id = ?, base_scan = ?, error = ''
		WHERE watch_id = ? AND seq = ?`), gown.RunDone, now, int64(run.Scan), int64(run.Base), run.Watch, run.Seq)
	if err != nil {
		return wrap(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return wrap(errors.New("no such run"))
	}
	insA, err := tx.PrepareContext(ctx, s.q(`INSERT INTO watch_alerts (id, watch_id, seq, kind, severity, finding_id, payload, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`))
	if err != nil {
		return wrap(err)
	}
	insD, err := tx.PrepareContext(ctx, s.q(`INSERT INTO watch_deliveries (alert_id, sink, state, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (alert_id, sink) DO NOTHING`))
	if err != nil {
		return wrap(err)
	}
	for _, a := range alerts {
		if _, err := insA.ExecContext(ctx, a.ID, run.Watch, run.Seq, a.Kind, int(a.Severity), a.FindingID, string(a.Payload), now); err != nil {
			return wrap(fmt.Errorf("alert %s: %w", a.ID, err))
		}
		for _, sink := range sinks {
			if _, err := insD.ExecContext(ctx, a.ID, sink, gown.DeliveryPending, now); err != nil {
				return wrap(fmt.Errorf("alert %s: %w", a.ID, err))
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return wrap(err)
	}
	return nil
}

// Deliveries walks a watch's deliveries in the given states, oldest alert
// first.
func (s *Store) Deliveries(ctx context.Context, watch int64, states []string, fn func(gown.Delivery) error) error {
	q := `SELECT a.id, a.watch_id, a.seq, a.kind, a.severity, a.finding_id, a.payload, a.created_at,
		d.sink, d.state, d.attempts, d.last_error, d.updated_at
		FROM watch_deliveries d JOIN watch_alerts a ON a.id = d.alert_id WHERE a.watch_id = ?`
	args := []any{watch}
	if len(states) > 0 {
		q += ` AND d.state IN (?` + strings.Repeat(", ?", len(states)-1) + `)`
		for _, st := range states {
			args = append(args, st)
		}
	}
	q += ` ORDER BY a.seq, a.created_at, a.id, d.sink`
	ds, err := collect(ctx, s.db, s.q(q), args, func(r rowScanner) (gown.Delivery, error) {
		var d gown.Delivery
		var payload, created, updated string
		err := r.Scan(&d.Alert.ID, &d.Alert.Watch, &d.Alert.Seq, &d.Alert.Kind, &d.Alert.Severity, &d.Alert.FindingID, &payload, &created,
			&d.Sink, &d.State, &d.Attempts, &d.LastError, &updated)
		d.Alert.Payload, d.Alert.Created, d.Updated = []byte(payload), parseTime(created), parseTime(updated)
		return d, err
	})
	if err != nil {
		return fmt.Errorf("%s: deliveries of watch %d: %w", s.d.Name, watch, err)
	}
	for _, d := range ds {
		if err := fn(d); err != nil {
			return err
		}
	}
	return nil
}

// RecordDelivery sets an alert's delivery to sink.
func (s *Store) RecordDelivery(ctx context.Context, alert, sink, state string, attempts int, lastErr string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE watch_deliveries SET state = ?, attempts = ?, last_error = ?, updated_at = ?
		WHERE alert_id = ? AND sink = ?`), state, attempts, lastErr, fmtTime(time.Now()), alert, sink)
	if err != nil {
		return fmt.Errorf("%s: delivery of alert %s: %w", s.d.Name, alert, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: delivery of alert %s to %s: no such delivery", s.d.Name, alert, sink)
	}
	return nil
}
