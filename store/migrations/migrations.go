// Package migrations holds the results store's schema as numbered SQL files,
// embedded in the binary, and applies the missing ones in order. One logical
// schema serves SQLite and PostgreSQL: the few types that differ are
// placeholders a Dialect fills in.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed *.sql
var files embed.FS

// Dialect fills the schema's placeholders for one database.
type Dialect struct {
	Name string
	// ID is an auto-assigned 64-bit primary key; Key is text compared
	// byte-wise, so both databases order keys alike; Bool is a boolean.
	ID, Key, Bool string
	// Lock, when set, runs first in the migration transaction so that two
	// processes migrating at once take turns.
	Lock string
	// Rebind turns ? placeholders into the database's own.
	Rebind func(string) string
}

// Migration is one numbered schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// names lists the embedded migration files in order.
func names() ([]string, error) {
	ns, err := fs.Glob(files, "*.sql")
	sort.Strings(ns)
	return ns, err
}

// version reads a migration's number from its file name.
func version(name string) (int, error) {
	v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
	if err != nil {
		return 0, fmt.Errorf("migration %s: name must start with its number: %w", name, err)
	}
	return v, nil
}

// All returns the embedded migrations in order, placeholders filled for d.
func All(d Dialect) ([]Migration, error) {
	names, err := names()
	if err != nil {
		return nil, err
	}
	r := strings.NewReplacer("{{ID}}", d.ID, "{{KEY}}", d.Key, "{{BOOL}}", d.Bool)
	var out []Migration
	for _, n := range names {
		v, err := version(n)
		if err != nil {
			return nil, err
		}
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: n, SQL: r.Replace(string(b))})
	}
	return out, nil
}

// Latest is the schema version this binary writes.
func Latest() int {
	m, err := All(Dialect{})
	if err != nil || len(m) == 0 {
		return 0
	}
	return m[len(m)-1].Version
}

const createVersion = `CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)`

// ensureVersionTable creates schema_version under the migration lock: two
// processes running CREATE TABLE IF NOT EXISTS at once can both fail on
// PostgreSQL otherwise.
func ensureVersionTable(ctx context.Context, db *sql.DB, d Dialect) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if d.Lock != "" {
		if _, err := tx.ExecContext(ctx, d.Lock); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, createVersion); err != nil {
		return fmt.Errorf("schema_version: %w", err)
	}
	return tx.Commit()
}

// Current returns the highest applied version of a migrated database.
func Current(ctx context.Context, db *sql.DB) (int, error) {
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("schema_version: %w", err)
	}
	return int(v.Int64), nil
}

// Apply runs every migration newer than the database's version, each in its
// own transaction with its schema_version row, and returns how many ran. A
// database newer than this binary is refused rather than misread.
func Apply(ctx context.Context, db *sql.DB, d Dialect) (int, error) {
	return ApplyUpTo(ctx, db, d, 0)
}

// ApplyUpTo is Apply stopping after version upTo (0: the latest). Tests of
// an upgrade use it to build a database of an older schema.
func ApplyUpTo(ctx context.Context, db *sql.DB, d Dialect, upTo int) (int, error) {
	if upToDate(ctx, db, upTo) {
		return 0, nil
	}
	all, err := All(d)
	if err != nil {
		return 0, err
	}
	if upTo > 0 {
		all = slices.DeleteFunc(all, func(m Migration) bool { return m.Version > upTo })
	}
	if err := ensureVersionTable(ctx, db, d); err != nil {
		return 0, err
	}
	n := 0
	for _, m := range all {
		ran, err := applyOne(ctx, db, d, m)
		if err != nil {
			return n, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if ran {
			n++
		}
	}
	cur, err := Current(ctx, db)
	if err == nil && len(all) > 0 && cur > all[len(all)-1].Version {
		err = fmt.Errorf("database schema version %d is newer than this gown (%d): upgrade gown", cur, all[len(all)-1].Version)
	}
	return n, err
}

// upToDate reports whether db holds every migration up to upTo (0: all) and
// none newer, as it does on every open but a new binary's first. Such a
// database needs neither the migrations' text filled in nor a lock: the
// locked path takes the write lock once per migration (ten transactions,
// and the templates filled: about a millisecond of the 8 that gown app
// --extract-only takes on a small APK).
func upToDate(ctx context.Context, db *sql.DB, upTo int) bool {
	ns, err := names()
	if err != nil {
		return false
	}
	want, last := 0, 0
	for _, n := range ns {
		v, err := version(n)
		if err != nil {
			return false
		}
		if upTo == 0 || v <= upTo {
			want, last = want+1, v
		}
	}
	var have int
	var latest sql.NullInt64
	err = db.QueryRowContext(ctx, "SELECT COUNT(*), MAX(version) FROM schema_version").Scan(&have, &latest)
	return err == nil && want > 0 && have == want && int(latest.Int64) == last
}

// applyOne runs m unless it is already applied; the check sits inside the
// transaction (after the lock) so that concurrent migrators do not both run it.
func applyOne(ctx context.Context, db *sql.DB, d Dialect, m Migration) (bool, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if d.Lock != "" {
		if _, err := tx.ExecContext(ctx, d.Lock); err != nil {
			return false, err
		}
	}
	var have int
	q := d.Rebind("SELECT COUNT(*) FROM schema_version WHERE version = ?")
	if err := tx.QueryRowContext(ctx, q, m.Version).Scan(&have); err != nil {
		return false, err
	}
	if have > 0 {
		return false, nil
	}
	for _, stmt := range split(m.SQL) {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("%w\n%s", err, stmt)
		}
	}
	ins := d.Rebind("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)")
	if _, err := tx.ExecContext(ctx, ins, m.Version, m.Name, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// split cuts a migration into statements at semicolons ending a line, after
// dropping -- comments; the schema has no semicolons inside literals.
func split(src string) []string {
	var b strings.Builder
	for _, line := range strings.Split(src, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	var out []string
	for _, s := range strings.Split(b.String(), ";\n") {
		if s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";")); s != "" {
			out = append(out, s)
		}
	}
	return out
}
