package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/store/postgres"
	"github.com/gownscan/gown/store/storetest"
)

var (
	server   *pgServer
	startErr error
	dbSeq    atomic.Int64
)

// TestMain starts one server for the package; each test gets its own
// database on it.
func TestMain(m *testing.M) {
	server, startErr = startPG()
	code := m.Run()
	if server != nil {
		server.stop()
	}
	os.Exit(code)
}

// freshDB creates an empty database and returns its URL.
func freshDB(tb testing.TB) string {
	tb.Helper()
	if startErr != nil {
		skipOrFail(tb, startErr)
	}
	admin, err := sql.Open("pgx", server.url("postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("gown_test_%d", dbSeq.Add(1))
	if _, err := admin.ExecContext(tb.Context(), "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	return server.url(name)
}

func open(t *testing.T) gown.Store {
	s, err := store.Open(t.Context(), freshDB(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// TestConcurrentMigrate opens one empty database from several goroutines at
// once: the advisory lock must let exactly one of them create the schema.
func TestConcurrentMigrate(t *testing.T) {
	url := freshDB(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.Open(t.Context(), url)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestUpgradeKeepsFindings opens a database of schema 2 as an older gown
// wrote it (storetest.Upgrade).
func TestUpgradeKeepsFindings(t *testing.T) {
	url := freshDB(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Upgrade(t, db, postgres.Dialect.Dialect, func() (gown.Store, error) { return postgres.Open(t.Context(), url) })
}

func BenchmarkWrite(b *testing.B) {
	s, err := postgres.Open(context.WithoutCancel(b.Context()), freshDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchWrite(b, s)
}

func BenchmarkWriteApps(b *testing.B) {
	s, err := postgres.Open(context.WithoutCancel(b.Context()), freshDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchWriteApps(b, s)
}

func BenchmarkWriteClosed(b *testing.B) {
	s, err := postgres.Open(context.WithoutCancel(b.Context()), freshDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchWriteClosed(b, s)
}
