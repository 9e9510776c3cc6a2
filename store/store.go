// Package store opens gown's results store and holds what works over any
// gown.Store: the Batcher that writes results as they arrive, the resume
// set, and scan-to-scan diffs. The backends live in store/sqlite (the
// embedded default) and store/postgres.
package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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

// ErrBadDSN means a DSN names no store gown can open: a URL whose scheme
// is not postgres:// or postgresql://.
var ErrBadDSN = errors.New("not a results store")

// AgePruner is the optional ability to prune by age: PruneBefore deletes
// the scans started before cutoff, with everything they hold, except the
// newest keep of all scans and the running ones, and returns how many
// went. Both backends have it.
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

// ScanPruner is the optional ability to prune with every option and be
// told which running scans were spared (PruneOptions, Pruned). Prune and
// PruneBefore spare running scans too; PruneScans says which, and can
// delete them when told that none is live. Both backends have it.
type ScanPruner interface {
	PruneScans(ctx context.Context, o PruneOptions) (Pruned, error)
}

// PruneOptions chooses the scans PruneScans deletes: all but the newest
// Keep, those started before Before (when set), running ones only with
// Running.
type PruneOptions = sqlstore.PruneOptions

// Pruned says how many scans PruneScans deleted and which running scans it
// spared.
type Pruned = sqlstore.Pruned

var (
	_ AgePruner       = (*sqlstore.Store)(nil)
	_ ScanPruner      = (*sqlstore.Store)(nil)
	_ TokenKeeper     = (*sqlstore.Store)(nil)
	_ gown.Browser    = (*sqlstore.Store)(nil)
	_ gown.FleetStore = (*sqlstore.Store)(nil)
	_ gown.WatchStore = (*sqlstore.Store)(nil)
)

// IsPostgres reports whether dsn names a PostgreSQL database rather than a
// SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// CheckDSN refuses a DSN that is a URL of a scheme other than postgres://
// and postgresql://, with ErrBadDSN. Before, "mysql://db/x" and
// "sqlite:///x.db" became SQLite files under the working directory, at
// "mysql:/db/x" and "sqlite:/x.db". A SQLite store is named by its path
// alone: there is no sqlite:// form, as a path says it with less to get
// wrong.
func CheckDSN(dsn string) error {
	scheme, _, isURL := strings.Cut(dsn, "://")
	if IsPostgres(dsn) || !isURL || !isScheme(scheme) {
		return nil
	}
	hint := "want a SQLite file path or a postgres:// URL"
	if s := strings.ToLower(scheme); s == "sqlite" || s == "sqlite3" || s == "file" {
		hint = "a SQLite store is named by its file path alone, such as --db " + cmp.Or(strings.TrimPrefix(dsn, scheme+"://"), "gown.db")
	}
	return fmt.Errorf("%w: %s: %s", ErrBadDSN, redactURL(dsn), hint)
}

// isScheme reports whether s is a URL scheme (RFC 3986 3.1): a letter,
// then letters, digits, '+', '-' and '.'.
func isScheme(s string) bool {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return s != ""
}

// Open opens the store dsn names: a postgres:// or postgresql:// URL, or
// else a SQLite file path ("" means DefaultPath). The schema is migrated to
// the latest version on the way. A URL of another scheme is ErrBadDSN.
func Open(ctx context.Context, dsn string) (gown.Store, error) {
	if err := CheckDSN(dsn); err != nil {
		return nil, err
	}
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
	if err := CheckDSN(dsn); err != nil {
		return "", err
	}
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
