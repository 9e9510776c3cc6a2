// Package sqlstore is the gown.Store both SQL backends share, written against
// database/sql and the common subset of SQLite and PostgreSQL. The backend
// packages open the connection and name the dialect; everything else lives
// here so that the two cannot drift apart.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
	"github.com/gownscan/gown/store/migrations"
)

// ErrNoScan means the scan id names no scan in the store.
var ErrNoScan = errors.New("no such scan")

// Dialect is what differs between the backends.
type Dialect struct {
	migrations.Dialect
	// Vacuum gives freed pages back to the system.
	Vacuum string
	// PruneLock, when set, is the first statement of a prune: it makes
	// the batches of running scans wait while findings are cleaned up
	// (see prune). SQLite needs none: its transactions take the write
	// lock when they begin (_txlock=immediate), so writers take turns.
	PruneLock string
}

// RebindDollar turns ? placeholders into PostgreSQL's $1, $2...
func RebindDollar(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Store implements gown.Store over a migrated database.
type Store struct {
	db *sql.DB
	d  Dialect
}

var (
	_ gown.Store          = (*Store)(nil)
	_ gown.FindingHistory = (*Store)(nil)
	_ gown.Vacuumer       = (*Store)(nil)
)

// New migrates db to the latest schema and returns a store over it; it owns
// db from then on.
func New(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	if _, err := migrations.Apply(ctx, db, d.Dialect); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s store: %w", d.Name, err)
	}
	return &Store{db: db, d: d}, nil
}

// DB exposes the connection for backend-specific maintenance and tests.
func (s *Store) DB() *sql.DB { return s.db }

// q rebinds a query for the dialect.
func (s *Store) q(query string) string { return s.d.Rebind(query) }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Vacuum returns freed space to the system.
func (s *Store) Vacuum(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, s.d.Vacuum); err != nil {
		return fmt.Errorf("%s vacuum: %w", s.d.Name, err)
	}
	return nil
}

// BeginScan records a running scan.
func (s *Store) BeginScan(ctx context.Context, m gown.ScanMeta) (gown.ScanID, error) {
	args, err := json.Marshal(m.Args)
	if err != nil {
		return 0, err
	}
	if m.Started.IsZero() {
		m.Started = time.Now()
	}
	if m.Command == "" {
		m.Command = "scan"
	}
	var id int64
	err = s.db.QueryRowContext(ctx, s.q(`INSERT INTO scans (started_at, state, args, version, command) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		fmtTime(m.Started), string(gown.ScanRunning), string(args), m.Version, m.Command).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("%s: begin scan: %w", s.d.Name, err)
	}
	return gown.ScanID(id), nil
}

// FinishScan sets the scan's final state; ScanRunning marks a resumed
// scan running again and clears its end time.
func (s *Store) FinishScan(ctx context.Context, id gown.ScanID, state gown.ScanState) error {
	var finished any = fmtTime(time.Now())
	if state == gown.ScanRunning {
		finished = nil
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE scans SET state = ?, finished_at = ? WHERE id = ?`),
		string(state), finished, int64(id))
	if err != nil {
		return fmt.Errorf("%s: finish scan %d: %w", s.d.Name, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("scan %d: %w", id, ErrNoScan)
	}
	return nil
}

const scanCols = `id, started_at, finished_at, state, args, version, command,
	(SELECT COUNT(*) FROM targets t WHERE t.scan_id = scans.id) +
		COALESCE((SELECT SUM(c.n) FROM closed_targets c WHERE c.scan_id = scans.id), 0),
	(SELECT COUNT(*) FROM services v WHERE v.scan_id = scans.id),
	(SELECT COUNT(*) FROM occurrences o WHERE o.scan_id = scans.id)`

// Scan describes one scan.
func (s *Store) Scan(ctx context.Context, id gown.ScanID) (gown.ScanMeta, error) {
	row := s.db.QueryRowContext(ctx, s.q(`SELECT `+scanCols+` FROM scans WHERE id = ?`), int64(id))
	m, err := scanMeta(row)
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("scan %d: %w", id, ErrNoScan)
	}
	return m, err
}

// Scans walks every scan, newest first, a page at a time so that no query
// is open while fn runs.
func (s *Store) Scans(ctx context.Context, fn func(gown.ScanMeta) error) error {
	last := int64(math.MaxInt64)
	for {
		page, err := collect(ctx, s.db, s.q(`SELECT `+scanCols+` FROM scans WHERE id < ? ORDER BY id DESC LIMIT 200`),
			[]any{last}, scanMeta)
		if err != nil {
			return fmt.Errorf("%s: list scans: %w", s.d.Name, err)
		}
		for _, m := range page {
			if err := fn(m); err != nil {
				return err
			}
			last = int64(m.ID)
		}
		if len(page) < 200 {
			return nil
		}
	}
}

// rowScanner is what *sql.Row and *sql.Rows share.
type rowScanner interface{ Scan(dest ...any) error }

func scanMeta(r rowScanner) (gown.ScanMeta, error) {
	var m gown.ScanMeta
	var started, state, args string
	var finished sql.NullString
	if err := r.Scan(&m.ID, &started, &finished, &state, &args, &m.Version, &m.Command, &m.Targets, &m.Results, &m.Findings); err != nil {
		return m, err
	}
	m.Started, m.Finished, m.State = parseTime(started), parseTime(finished.String), gown.ScanState(state)
	if err := json.Unmarshal([]byte(args), &m.Args); err != nil {
		return m, fmt.Errorf("scan %d args: %w", m.ID, err)
	}
	// A scan stored before scan.Begin cut the credentials of target URLs
	// holds them still: every reader (gown scans, the reports, the
	// dashboard, a resume, which needs none of them) gets the arguments
	// cut.
	m.Args = redact.Args(m.Args)
	return m, nil
}

// collect runs a query and scans every row with fn, closing the rows before
// returning, so callers can call back into the store freely.
func collect[T any](ctx context.Context, db *sql.DB, query string, args []any, fn func(rowScanner) (T, error)) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := fn(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// PruneOptions chooses the scans PruneScans deletes.
type PruneOptions struct {
	// Keep spares the newest Keep scans, whatever their age and state.
	Keep int
	// Before, when set, limits pruning to the scans started before it.
	Before time.Time
	// Running also deletes scans still marked running. Without it they
	// are spared: the store cannot tell a live scan from one killed
	// outright (which stays running for good), and deleting a live one
	// loses its results and fails its next write.
	Running bool
}

// Pruned says what PruneScans did.
type Pruned struct {
	// Deleted counts the scans deleted.
	Deleted int
	// Spared lists, newest first, the running scans the options chose
	// but Running did not allow.
	Spared []gown.ScanID
}

// Prune deletes all but the newest keep scans, except running ones;
// cascades remove what they held, and findings no remaining scan saw go
// too.
func (s *Store) Prune(ctx context.Context, keep int) (int, error) {
	if keep < 0 {
		return 0, fmt.Errorf("prune: keep %d scans: must not be negative", keep)
	}
	p, err := s.PruneScans(ctx, PruneOptions{Keep: keep})
	return p.Deleted, err
}

// PruneBefore deletes the scans started before cutoff, except the newest
// keep of all scans (keep 0 spares none) and running ones, with what they
// held.
func (s *Store) PruneBefore(ctx context.Context, cutoff time.Time, keep int) (int, error) {
	if keep < 0 || cutoff.IsZero() {
		return 0, fmt.Errorf("prune: keep %d scans started before %v: want keep >= 0 and a time", keep, cutoff)
	}
	p, err := s.PruneScans(ctx, PruneOptions{Keep: keep, Before: cutoff})
	return p.Deleted, err
}

// PruneScans deletes every scan beyond the newest o.Keep that started
// before o.Before (any time when zero), sparing running ones unless
// o.Running, and then the findings no remaining scan saw. Start times are
// compared as times, not as stored text: RFC 3339 with fractions does not
// sort as text.
//
// Running scans write while this runs. Their scan rows are never deleted
// (the DELETE checks the state again, in case a resume took a scan up
// since it was listed), and the findings cleanup must not delete a finding
// a running scan's open batch has just upserted but whose occurrence is not
// yet visible: the dialect's PruneLock makes such batches finish first
// and later ones wait.
func (s *Store) PruneScans(ctx context.Context, o PruneOptions) (Pruned, error) {
	var p Pruned
	if o.Keep < 0 {
		return p, fmt.Errorf("prune: keep %d scans: must not be negative", o.Keep)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return p, err
	}
	defer tx.Rollback()
	if s.d.PruneLock != "" {
		if _, err := tx.ExecContext(ctx, s.d.PruneLock); err != nil {
			return p, fmt.Errorf("%s: prune: %w", s.d.Name, err)
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, started_at, state FROM scans ORDER BY id DESC`)
	if err != nil {
		return p, fmt.Errorf("%s: prune: list scans: %w", s.d.Name, err)
	}
	var doomed []int64
	for i := 0; rows.Next(); i++ {
		var id int64
		var started, state string
		if err := rows.Scan(&id, &started, &state); err != nil {
			rows.Close()
			return p, err
		}
		switch {
		case i < o.Keep || !o.Before.IsZero() && !parseTime(started).Before(o.Before):
		case gown.ScanState(state) == gown.ScanRunning && !o.Running:
			p.Spared = append(p.Spared, gown.ScanID(id))
		default:
			doomed = append(doomed, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, err
	}
	del := `DELETE FROM scans WHERE id = ?`
	if !o.Running {
		del += ` AND state <> '` + string(gown.ScanRunning) + `'`
	}
	st, err := tx.PrepareContext(ctx, s.q(del))
	if err != nil {
		return p, err
	}
	for _, id := range doomed {
		res, err := st.ExecContext(ctx, id)
		if err != nil {
			return p, fmt.Errorf("%s: prune scan %d: %w", s.d.Name, id, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			p.Deleted++
		} else if !o.Running {
			p.Spared = append(p.Spared, gown.ScanID(id)) // resumed since it was listed
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM findings WHERE NOT EXISTS (SELECT 1 FROM occurrences o WHERE o.finding_id = findings.id)`); err != nil {
		return p, fmt.Errorf("%s: prune findings: %w", s.d.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return Pruned{}, err
	}
	return p, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// clamp fits a count into BIGINT: the saturated totals a hostile server can
// cause stay "huge" instead of turning negative.
func clamp(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// SchemaVersion is the migration the database is at.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	return migrations.Current(ctx, s.db)
}
