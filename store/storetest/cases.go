package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
)

func testRoundTrip(t *testing.T, s gown.Store) {
	id := begin(t, s)
	open := Open(Target("cache.example", 6379), "redis",
		gown.Database{Name: "db0", Items: 120, Bytes: 4096}, gown.Database{Name: "db1", Items: 30, Bytes: 1024},
		gown.Database{Name: "mysql", Items: 9, Bytes: 99, System: true})
	open.Result.Inventory.Truncated = true
	open.Result.TLS = gown.TLS{Mode: gown.TLSOffered, Version: "TLS 1.3", Subject: "CN=cache", Issuer: "CN=cache",
		NotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), SelfSigned: true}
	open.Result.Error = "inventory: timeout"
	// Facts round-trip whole; the auth record has none and must read back
	// without any.
	open.Result.Facts = gown.Facts{Admin: "CONFIG answers",
		Replica:     &gown.Replica{Host: "198.51.100.7", Port: 8886, Link: "up"},
		Persistence: &gown.Persistence{Dir: "/var/lib/redis", File: "dump.rdb"}}
	auth := Auth(Target("db.example", 3306), "mysql")
	auth.Result.Target.Hint, auth.Result.Target.TLS = "mysql", true
	auth.Target = auth.Result.Target
	auth.Findings[0].Target = auth.Result.Target
	add(t, s, id, open, auth, Closed(Target("db.example", 1)))
	if err := s.FinishScan(t.Context(), id, gown.ScanDone); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, s, id)
	want := []gown.Record{open, auth} // cache.example < db.example
	if len(got) != len(want) {
		t.Fatalf("read %d results, want %d", len(got), len(want))
	}
	for i, w := range want {
		if !reflect.DeepEqual(got[i].r, w.Result) {
			t.Errorf("result %d:\n got %+v\nwant %+v", i, got[i].r, w.Result)
		}
		if !reflect.DeepEqual(got[i].fs, w.Findings) {
			t.Errorf("findings %d:\n got %+v\nwant %+v", i, got[i].fs, w.Findings)
		}
	}
	m, err := s.Scan(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if m.State != gown.ScanDone || m.Targets != 3 || m.Results != 2 || m.Findings != 2 ||
		!slices.Equal(m.Args, []string{"127.0.0.1", "--ports", "6379"}) || m.Finished.IsZero() {
		t.Errorf("scan meta %+v", m)
	}
}

// testBatchAtomic cancels large batches at varying points: each must be
// stored whole or not at all, and a batch into a missing scan stores nothing.
func testBatchAtomic(t *testing.T, s gown.Store) {
	id := begin(t, s)
	batch := make([]gown.Record, 3000)
	for i := range batch {
		batch[i] = Open(Target(fmt.Sprintf("h%05d", i), 6379), "redis", gown.Database{Name: "db0", Items: 5})
	}
	failed := false
	for try := 0; try < 8 && !failed; try++ {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Duration(try+1)*time.Millisecond, cancel)
		err := s.AddResults(ctx, id, batch)
		cancel()
		n := len(readAll(t, s, id))
		switch {
		case err != nil && n != 0:
			t.Fatalf("failed batch left %d of %d results behind: %v", n, len(batch), err)
		case err == nil && n != len(batch):
			t.Fatalf("committed batch holds %d of %d results", n, len(batch))
		case err == nil:
			id = begin(t, s) // the batch won the race; try again in a fresh scan
		}
		failed = err != nil
	}
	if !failed {
		t.Log("no cancellation landed mid-batch; atomicity checked on the missing-scan case only")
	}
	if err := s.AddResults(t.Context(), id+1000, batch[:2]); err == nil {
		t.Errorf("batch into missing scan %d succeeded", id+1000)
	}
	if _, err := s.Scan(t.Context(), id+1000); !errors.Is(err, store.ErrNoScan) {
		t.Errorf("Scan of missing scan: %v, want ErrNoScan", err)
	}
}

func history(t *testing.T, s gown.Store) []gown.StoredFinding {
	t.Helper()
	h, ok := s.(gown.FindingHistory)
	if !ok {
		t.Skip("store has no finding history")
	}
	var out []gown.StoredFinding
	if err := h.Findings(t.Context(), func(f gown.StoredFinding) error { out = append(out, f); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func testStableIDs(t *testing.T, s gown.Store) {
	tg := Target("cache.example", 6379)
	s1 := begin(t, s)
	add(t, s, s1, Open(tg, "redis", gown.Database{Name: "db0", Items: 100}))
	s2 := begin(t, s)
	add(t, s, s2, Open(tg, "redis", gown.Database{Name: "db0", Items: 150}), Auth(Target("db.example", 3306), "mysql"))
	h := history(t, s)
	if len(h) != 2 {
		t.Fatalf("%d findings tracked after two scans, want 2 (re-scan must update): %+v", len(h), h)
	}
	i := slices.IndexFunc(h, func(f gown.StoredFinding) bool { return f.Rule == "open-store" })
	f := h[i]
	if f.ID != gown.FindingID("open-store", "redis", tg) || f.FirstSeen != s1 || f.LastSeen != s2 || f.Items != 150 {
		t.Errorf("re-scanned finding %+v: want first %d, last %d, 150 items", f, s1, s2)
	}
	// The first scan keeps its own view of the finding.
	if got := readAll(t, s, s1); got[0].fs[0].Items != 100 {
		t.Errorf("scan %d finding now says %d items, want its own 100", s1, got[0].fs[0].Items)
	}
}

func testResume(t *testing.T, s gown.Store) {
	id := begin(t, s)
	var recs []gown.Record
	for i := range 40 {
		tg := Target("10.0.0.1", 7000+i)
		switch i % 3 {
		case 0:
			recs = append(recs, Open(tg, "redis", gown.Database{Name: "db0", Items: uint64(i + 1)}))
		case 1:
			recs = append(recs, Auth(tg, "mysql"))
		default:
			recs = append(recs, Closed(tg))
		}
	}
	add(t, s, id, recs[:25]...)
	add(t, s, id, recs[:25]...) // replayed after a commit whose answer was lost: must change nothing
	keys := countDone(t, s, id)
	if len(keys) != 25 {
		t.Fatalf("%d done targets, want 25", len(keys))
	}
	done, err := store.LoadDone(t.Context(), s, id)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if done.Has(r.Target) != (i < 25) {
			t.Errorf("target %d: done=%v", i, done.Has(r.Target))
		}
	}
	add(t, s, id, recs[25:]...)
	if got := len(readAll(t, s, id)); got != 27 { // 40 minus 13 closed
		t.Errorf("%d results after resume, want 27", got)
	}
	if m, ok, err := store.Latest(t.Context(), s); err != nil || !ok || m.ID != id {
		t.Errorf("Latest = %+v, %v, %v; want scan %d", m, ok, err, id)
	}
}

// testManyClosed: closed ports are most of a scan, and a batch's are
// stored as one row; every one must be marked done, closed ports around a
// result must lose none, and a replayed batch must change nothing.
func testManyClosed(t *testing.T, s gown.Store) {
	id := begin(t, s)
	var recs []gown.Record
	for i := range 300 {
		tg := Target("10.0.9.1", 1000+i)
		if i == 70 || i == 71 || i == 200 {
			recs = append(recs, Open(tg, "redis", gown.Database{Name: "db0", Items: 1}))
			continue
		}
		recs = append(recs, Closed(tg))
	}
	add(t, s, id, recs[:256]...)
	add(t, s, id, recs[:256]...) // replayed: must change nothing
	add(t, s, id, recs[256:]...)
	if keys := countDone(t, s, id); len(keys) != len(recs) {
		t.Fatalf("%d done targets, want %d", len(keys), len(recs))
	}
	done, err := store.LoadDone(t.Context(), s, id)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if !done.Has(r.Target) {
			t.Errorf("target %d not done", i)
		}
	}
	if got := len(readAll(t, s, id)); got != 3 {
		t.Errorf("%d results, want the 3 open ones", got)
	}
}

// testOverlap: two batches that share targets, as when a worker whose
// lease ran out still finished its batch while another ran it again. The
// shared results are kept once; the shared targets that only finished are
// stored twice, and resume and a redelivered batch look them up once.
func testOverlap(t *testing.T, s gown.Store) {
	id := begin(t, s)
	var recs []gown.Record
	keys := []string{"unknown.example:1"}
	for i := range 30 {
		tg := Target("10.0.0.2", 8000+i)
		if i%3 == 0 {
			recs = append(recs, Open(tg, "redis", gown.Database{Name: "db0", Items: 1}))
		} else {
			recs = append(recs, Closed(tg))
		}
		keys = append(keys, gown.TargetKey(tg))
	}
	add(t, s, id, recs[:20]...)
	add(t, s, id, recs[10:]...)
	if got := len(readAll(t, s, id)); got != 10 {
		t.Errorf("%d results, want 10", got)
	}
	done, err := store.LoadDone(t.Context(), s, id)
	if err != nil {
		t.Fatal(err)
	}
	if done.Len() != 30 {
		t.Errorf("resume set of %d targets, want 30", done.Len())
	}
	// 30 targets, and the 7 closed ones of 10-19 a second time.
	if m, err := s.Scan(t.Context(), id); err != nil || m.Targets != 37 {
		t.Errorf("scan counts %d targets (%v), want 37", m.Targets, err)
	}
	l, ok := s.(gown.Ledger)
	if !ok {
		return
	}
	have, err := l.StoredKeys(t.Context(), id, keys)
	if err != nil || len(have) != 30 || have[keys[0]] {
		t.Errorf("stored keys: %d of 31 (%v), unknown %v; want the 30 stored", len(have), err, have[keys[0]])
	}
}
