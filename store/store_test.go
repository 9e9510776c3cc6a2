package store_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/store/storetest"
)

// TestBatcher checks that records are committed before the callback sees
// them, in batches of at most Max, on the timer for a slow trickle, and that
// Close flushes the rest.
func TestBatcher(t *testing.T) {
	s, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id, err := s.BeginScan(t.Context(), gown.ScanMeta{Args: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := 0
	committed := func(batch []gown.Record) error {
		if len(batch) > 10 {
			t.Errorf("batch of %d, max 10", len(batch))
		}
		stored := 0
		s.DoneTargets(t.Context(), id, func(string) error { stored++; return nil })
		mu.Lock()
		defer mu.Unlock()
		seen += len(batch)
		if stored < seen {
			t.Errorf("callback saw %d records, store holds %d: printed before committed", seen, stored)
		}
		return nil
	}
	b, err := store.NewBatcher(t.Context(), s, id, store.BatchConfig{Max: 10, Every: 20 * time.Millisecond}, committed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 25 {
		if err := b.Add(storetest.Closed(storetest.Target("h", 1+i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Add(storetest.Closed(storetest.Target("h", 100))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the timer commits the trickle
	mu.Lock()
	if seen != 26 {
		t.Errorf("%d records committed by the timer, want 26", seen)
	}
	mu.Unlock()
	b.Add(storetest.Closed(storetest.Target("h", 101)))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if seen != 27 {
		t.Errorf("%d records after Close, want 27", seen)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenChoosesBackend(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	p, err := store.DefaultPath()
	if err != nil || filepath.Base(filepath.Dir(p)) != "gown" {
		t.Fatalf("DefaultPath = %q, %v", p, err)
	}
	if !store.IsPostgres("postgresql://u@h/db") || store.IsPostgres("/tmp/x.db") {
		t.Error("IsPostgres misreads DSNs")
	}
	if w, _ := store.Where("postgres://gown:s3cret@db:5432/gown"); w != "postgres://gown:xxxxx@db:5432/gown" {
		t.Errorf("Where leaks or mangles the password: %q", w)
	}
	s, err := store.Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

func TestRansomLike(t *testing.T) {
	for name, want := range map[string]bool{"README": true, "READ_ME_TO_RECOVER": true, "meow": true,
		"PLEASE_READ_ME": true, "warning": true, "users": false, "db0": false, "orders": false} {
		if store.RansomLike(name) != want {
			t.Errorf("RansomLike(%q) = %v", name, !want)
		}
	}
}
