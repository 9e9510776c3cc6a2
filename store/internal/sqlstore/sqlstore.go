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

// FinishScan sets the scan's final state.
func (s *Store) FinishScan(ctx context.Context, id gown.ScanID, state gown.ScanState) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE scans SET state = ?, finished_at = ? WHERE id = ?`),
		string(state), fmtTime(time.Now()), int64(id))
	if err != nil {
		return fmt.Errorf("%s: finish scan %d: %w", s.d.Name, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("scan %d: %w", id, ErrNoScan)
	}
	return nil
}

const scanCols = `id, started_at, finished_at, state, args, version, command,
	(SELECT COUNT(*) FROM targets t WHERE t.scan_id = scans.id),
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

// Prune deletes all but the newest keep scans; cascades remove what they
// held, and findings no remaining scan saw go too.
func (s *Store) Prune(ctx context.Context, keep int) (int, error) {
	if keep < 0 {
		return 0, fmt.Errorf("prune: keep %d scans: must not be negative", keep)
	}
	return s.prune(ctx, keep, time.Time{})
}

// PruneBefore deletes the scans started before cutoff, except the newest
// keep of all scans (keep 0 spares none), with what they held.
func (s *Store) PruneBefore(ctx context.Context, cutoff time.Time, keep int) (int, error) {
	if keep < 0 || cutoff.IsZero() {
		return 0, fmt.Errorf("prune: keep %d scans started before %v: want keep >= 0 and a time", keep, cutoff)
	}
	return s.prune(ctx, keep, cutoff)
}

// prune deletes every scan beyond the newest keep that started before
// cutoff (any time when cutoff is zero). Start times are compared as times,
// not as stored text: RFC 3339 with fractions does not sort as text.
func (s *Store) prune(ctx context.Context, keep int, cutoff time.Time) (int, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, started_at FROM scans ORDER BY id DESC`)
	if err != nil {
		return 0, fmt.Errorf("%s: prune: list scans: %w", s.d.Name, err)
	}
	var doomed []int64
	for i := 0; rows.Next(); i++ {
		var id int64
		var started string
		if err := rows.Scan(&id, &started); err != nil {
			rows.Close()
			return 0, err
		}
		if i >= keep && (cutoff.IsZero() || parseTime(started).Before(cutoff)) {
			doomed = append(doomed, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	del, err := tx.PrepareContext(ctx, s.q(`DELETE FROM scans WHERE id = ?`))
	if err != nil {
		return 0, err
	}
	for _, id := range doomed {
		if _, err := del.ExecContext(ctx, id); err != nil {
			return 0, fmt.Errorf("%s: prune scan %d: %w", s.d.Name, id, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM findings WHERE NOT EXISTS (SELECT 1 FROM occurrences o WHERE o.finding_id = findings.id)`); err != nil {
		return 0, fmt.Errorf("%s: prune findings: %w", s.d.Name, err)
	}
	return len(doomed), tx.Commit()
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
