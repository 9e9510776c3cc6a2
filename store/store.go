// Package store opens gown's results store and holds what works over any
// gown.Store: the Batcher that writes results as they arrive, the resume
// set, and scan-to-scan diffs. The backends live in store/sqlite (the
// embedded default) and store/postgres.
package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store/internal/sqlstore"
	"github.com/gownscan/gown/store/postgres"
	"github.com/gownscan/gown/store/sqlite"
)

// ErrNoScan means a scan id names no scan in the store.
var ErrNoScan = sqlstore.ErrNoScan

// AgePruner is the optional ability to prune by age: PruneBefore deletes
// the scans started before cutoff, with everything they hold, except the
// newest keep of all scans, and returns how many went. Both backends have it.
type AgePruner interface {
	PruneBefore(ctx context.Context, cutoff time.Time, keep int) (int, error)
}

// TokenKeeper is the optional ability to keep the dashboard's access token
// (gown serve), as the hex SHA-256 of the token: never the token itself.
// Both backends have it; the dashboard's pages never call it.
type TokenKeeper interface {
	// DashboardToken returns the hash, and false when no token was set.
	DashboardToken(ctx context.Context) (hash string, ok bool, err error)
	// SetDashboardToken replaces the hash.
	SetDashboardToken(ctx context.Context, hash string) error
}

var (
	_ AgePruner    = (*sqlstore.Store)(nil)
	_ TokenKeeper  = (*sqlstore.Store)(nil)
	_ gown.Browser = (*sqlstore.Store)(nil)
)

// IsPostgres reports whether dsn names a PostgreSQL database rather than a
// SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the store dsn names: a postgres:// or postgresql:// URL, or
// else a SQLite file path ("" means DefaultPath). The schema is migrated to
// the latest version on the way.
func Open(ctx context.Context, dsn string) (gown.Store, error) {
	if IsPostgres(dsn) {
		return postgres.Open(ctx, dsn)
	}
	if dsn == "" {
		p, err := DefaultPath()
		if err != nil {
			return nil, err
		}
		dsn = p
	}
	return sqlite.Open(ctx, dsn)
}

// DefaultPath is where the embedded store lives: $XDG_DATA_HOME/gown/gown.db,
// or ~/.local/share/gown/gown.db when XDG_DATA_HOME is unset (the XDG base
// directory rule, which Go's os package has no function for).
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "gown", "gown.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", errors.New("no data directory: set XDG_DATA_HOME or HOME, or pass --db")
	}
	return filepath.Join(home, ".local", "share", "gown", "gown.db"), nil
}

// Where names the store dsn opens, for `gown db path`: the file path, or the
// URL with its password masked.
func Where(dsn string) (string, error) {
	if IsPostgres(dsn) {
		return redactURL(dsn), nil
	}
	if dsn == "" {
		return DefaultPath()
	}
	return filepath.Abs(dsn)
}

func redactURL(dsn string) string {
	i, j := strings.Index(dsn, "://"), strings.LastIndex(dsn, "@")
	if i < 0 || j < i {
		return dsn
	}
	cred := dsn[i+3 : j]
	if k := strings.Index(cred, ":"); k >= 0 {
		return dsn[:i+3] + cred[:k] + ":xxxxx" + dsn[j:]
	}
	return dsn
}
