// Package sqlite is gown's embedded results store: one SQLite file through
// the pure-Go modernc.org/sqlite driver (no cgo), in WAL mode so that
// readers (gown diff, gown scans) do not block a running scan.
//
// Durability: synchronous=NORMAL in WAL mode keeps every committed batch
// across a killed process; only a power loss may drop the last commits.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/gownscan/gown/store/internal/sqlstore"
	"github.com/gownscan/gown/store/migrations"
	_ "modernc.org/sqlite" // registers driver "sqlite"
)

// Dialect is SQLite's side of the shared schema.
var Dialect = sqlstore.Dialect{
	Dialect: migrations.Dialect{
		Name:   "sqlite",
		ID:     "INTEGER PRIMARY KEY", // an alias of the rowid: 64-bit, assigned on insert
		Key:    "TEXT",                // BINARY collation: byte order, as PostgreSQL's "C"
		Bool:   "BOOLEAN",
		Rebind: func(q string) string { return q },
	},
	Vacuum: "VACUUM",
}

// pragmas apply to every connection the pool opens. busy_timeout lets a
// second process (gown diff during a scan) wait for the writer instead of
// failing; foreign_keys makes deletes cascade; _txlock=immediate takes the
// write lock at BEGIN so two writers never deadlock upgrading a read lock.
var pragmas = []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)"}

// Open opens (creating if needed) the database file at path, with its
// folder, and migrates it.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	v := url.Values{"_txlock": {"immediate"}}
	for _, p := range pragmas {
		v.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+v.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	// One writer at a time is all SQLite allows; a few more connections
	// serve readers.
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	return sqlstore.New(ctx, db, Dialect)
}
