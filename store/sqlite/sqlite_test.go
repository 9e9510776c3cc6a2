package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store/migrations"
	"github.com/gownscan/gown/store/sqlite"
	"github.com/gownscan/gown/store/storetest"
)

func open(t *testing.T) gown.Store {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "sub", "gown.db"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// TestReopen checks that a second open of a migrated file runs no migration
// and sees what the first wrote.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gown.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.BeginScan(t.Context(), gown.ScanMeta{Args: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != migrations.Latest() {
		t.Errorf("schema version %d, %v", v, err)
	}
	if m, err := s.Scan(t.Context(), id); err != nil || m.State != gown.ScanRunning {
		t.Errorf("scan after reopen: %+v, %v", m, err)
	}
}

func BenchmarkWrite(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "gown.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchWrite(b, s)
}

func BenchmarkWriteApps(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "gown.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchWriteApps(b, s)
}

// TestUpgradeKeepsFindings opens a database of schema 2 as an older gown
// wrote it (storetest.Upgrade).
func TestUpgradeKeepsFindings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gown.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	storetest.Upgrade(t, db, sqlite.Dialect.Dialect, func() (gown.Store, error) { return sqlite.Open(t.Context(), path) })
}

func BenchmarkWriteClosed(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "gown.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchWriteClosed(b, s)
}

// BenchmarkOpenNew measures opening a database that does not exist yet:
// the file made and every migration applied, as a first scan (and every
// run of make bench) does.
func BenchmarkOpenNew(b *testing.B) {
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		s, err := sqlite.Open(b.Context(), filepath.Join(dir, fmt.Sprintf("gown-%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
