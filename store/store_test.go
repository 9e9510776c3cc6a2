package store_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/store/storetest"
)

// begunScan opens a store of its own and begins a scan in it.
func begunScan(t *testing.T) (gown.Store, gown.ScanID) {
	t.Helper()
	s, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	id, err := s.BeginScan(t.Context(), gown.ScanMeta{Args: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	return s, id
}

// TestBatcher checks that records are committed before the callback sees
// them, in batches of at most Max, on the timer for a slow trickle, and that
// Close flushes the rest.
func TestBatcher(t *testing.T) {
	s, id := begunScan(t)
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
	b, err := store.NewBatcher(t.Context(), s, id, store.BatchConfig{Max: 10, MaxDone: 10, Every: 20 * time.Millisecond}, committed)
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

// TestBatcherCountsFinishedMarksApart checks the two bounds of a batch:
// records that carry a result commit at Max, while marks of finished
// targets (a closed port) fill up to MaxDone first.
func TestBatcherCountsFinishedMarksApart(t *testing.T) {
	s, id := begunScan(t)
	var mu sync.Mutex
	var sizes []int
	committed := func(batch []gown.Record) error {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(batch))
		return nil
	}
	// A timer far off: only the bounds hand batches over.
	b, err := store.NewBatcher(t.Context(), s, id, store.BatchConfig{Max: 3, MaxDone: 8, Every: time.Hour}, committed)
	if err != nil {
		t.Fatal(err)
	}
	port := 1
	add := func(rec gown.Record) {
		t.Helper()
		port++
		if err := b.Add(rec); err != nil {
			t.Fatal(err)
		}
	}
	for range 12 { // 8 marks fill a batch; 4 wait
		add(storetest.Closed(storetest.Target("h", port)))
	}
	for range 3 { // the 3rd result fills the second batch: 4 marks + 3 results
		add(storetest.Open(storetest.Target("h", port), "redis"))
	}
	add(storetest.Closed(storetest.Target("h", port)))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []int{8, 7, 1}; !slices.Equal(sizes, want) {
		t.Errorf("batches of %v, want %v", sizes, want)
	}
	stored := 0
	if err := s.DoneTargets(t.Context(), id, func(string) error { stored++; return nil }); err != nil || stored != 16 {
		t.Errorf("store holds %d finished targets (%v), want 16", stored, err)
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

// TestOpenRefusesOtherSchemes checks that a URL gown cannot open as a store
// is refused with ErrBadDSN, the password masked, and creates nothing;
// before, each became a SQLite file under the working directory. Paths,
// even odd ones, stay paths.
func TestOpenRefusesOtherSchemes(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, dsn := range []string{"mysql://root:s3cret@127.0.0.1/gown", "sqlite://" + dir + "/x.db", "sqlite://x.db",
		"SQLITE3:///x.db", "file:///x.db", "redis://127.0.0.1", "mongodb+srv://u:s3cret@c.example/db", "POSTGRES://u@h/db"} {
		s, err := store.Open(t.Context(), dsn)
		if err == nil {
			s.Close()
		}
		_, werr := store.Where(dsn)
		if !errors.Is(err, store.ErrBadDSN) || !errors.Is(werr, store.ErrBadDSN) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %v, Where: %v; want ErrBadDSN without the password", dsn, err, werr)
			continue
		}
		t.Logf("%v", err)
	}
	if err := store.CheckDSN("sqlite:///var/lib/gown.db"); err == nil || !strings.Contains(err.Error(), "--db /var/lib/gown.db") {
		t.Errorf("sqlite:// refusal does not say the path to give: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("refused DSNs left %v in the working directory", left)
	}
	for _, path := range []string{"gown.db", "./a://b.db", "9p://x.db", "sqlite:x.db"} {
		if err := store.CheckDSN(path); err != nil {
			t.Errorf("CheckDSN(%q) = %v; a path is not a URL", path, err)
		}
	}
}
