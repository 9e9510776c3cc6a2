package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
)

// testPaging writes more results and targets than one read page holds and
// checks the documented order: host bytes, then port as a number.
func testPaging(t *testing.T, s gown.Store) {
	id := begin(t, s)
	var recs []gown.Record
	for i := range 1200 {
		tg := Target(fmt.Sprintf("h%d", i%7), 1+i)
		recs = append(recs, Open(tg, "redis", gown.Database{Name: "db0", Items: 1}))
	}
	for i := range 5200 {
		recs = append(recs, Closed(Target("closed", 1+i)))
	}
	for c := range slices.Chunk(recs, 1000) {
		add(t, s, id, c...)
	}
	got := readAll(t, s, id)
	if len(got) != 1200 {
		t.Fatalf("%d results, want 1200", len(got))
	}
	sorted := slices.IsSortedFunc(got, func(x, y stored) int {
		if x.r.Target.Host != y.r.Target.Host {
			return map[bool]int{true: -1, false: 1}[x.r.Target.Host < y.r.Target.Host]
		}
		return x.r.Target.Port - y.r.Target.Port
	})
	if !sorted {
		t.Error("results not in (host, port) order")
	}
	if n := len(countDone(t, s, id)); n != 6400 {
		t.Errorf("%d done targets, want 6400", n)
	}
}

func testPrune(t *testing.T, s gown.Store) {
	var ids []gown.ScanID
	for i := range 3 {
		id := begin(t, s)
		add(t, s, id, Open(Target("only-in-scan", 100+i), "redis", gown.Database{Name: "db0", Items: 3}),
			Auth(Target("always", 3306), "mysql"))
		finish(t, s, id, gown.ScanDone)
		ids = append(ids, id)
	}
	n, err := s.Prune(t.Context(), 1)
	if err != nil || n != 2 {
		t.Fatalf("Prune(1) = %d, %v; want 2", n, err)
	}
	var left []gown.ScanID
	if err := s.Scans(t.Context(), func(m gown.ScanMeta) error { left = append(left, m.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(left, ids[2:]) {
		t.Errorf("scans after prune %v, want %v", left, ids[2:])
	}
	if h := history(t, s); len(h) != 2 || h[0].FirstSeen != ids[0] && h[1].FirstSeen != ids[0] {
		t.Errorf("findings after prune %+v: want the kept scan's two, one first seen in scan %d", h, ids[0])
	}
	if _, err := s.Scan(t.Context(), ids[0]); err == nil {
		t.Error("pruned scan still readable")
	}
	if _, err := s.Prune(t.Context(), -1); err == nil {
		t.Error("Prune(-1) accepted")
	}
}

// testHostileText stores names a hostile server chose: NUL bytes and invalid
// UTF-8 must not fail the batch (PostgreSQL text refuses both).
func testHostileText(t *testing.T, s gown.Store) {
	id := begin(t, s)
	rec := Open(Target("evil", 6379), "redis", gown.Database{Name: "a\x00b\xff", Items: 1})
	rec.Result.Product = "Redis\x00"
	rec.Result.Details["k"] = "\xfe"
	add(t, s, id, rec)
	got := readAll(t, s, id)
	if len(got) != 1 || got[0].r.Inventory.Databases[0].Name != `a\x00b`+"\uFFFD" || got[0].r.Product != `Redis\x00` {
		t.Errorf("hostile text read back as %+v", got[0].r)
	}
	// A command line stored with the credentials of a target URL (as gown
	// stored it before it cut them) reads back cut.
	id2, err := s.BeginScan(t.Context(), gown.ScanMeta{Args: []string{"--ports", "6379", "redis://:s3cret@cache.example.test:6380/0"}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Scan(t.Context(), id2)
	if want := []string{"--ports", "6379", "redis://cache.example.test:6380"}; err != nil || !slices.Equal(m.Args, want) {
		t.Errorf("stored args read back as %q (%v), want %q", m.Args, err, want)
	}
}

// testAssessment round-trips what assessment adds to a result: exposure
// (classes with masked examples), signs, and the classes a finding carries.
func testAssessment(t *testing.T, s gown.Store) {
	rec := Open(Target("10.0.0.8", 6379), "redis", gown.Database{Name: "db0", Items: 3})
	rec.Result.Exposure = &gown.Exposure{Sampled: 3, Bytes: 900, Truncated: true, Classes: []gown.ClassCount{
		{Class: "email", Database: "db0", Records: 3, Fields: []string{"email"}, Examples: []string{"a***@e***.test"}},
		{Class: "payment-card", Database: "db0", Records: 2, Fields: []string{"card_number"}, Examples: []string{"**** 1111"}},
	}}
	rec.Result.Signs = []gown.Sign{{Kind: "ransom-note", Where: "db0/READ_ME", Detail: "bitcoin address, contact e-mail"}}
	rec.Findings[0].Classes = []string{"payment-card", "email"}
	id := begin(t, s)
	add(t, s, id, rec)
	got := readAll(t, s, id)
	if len(got) != 1 {
		t.Fatalf("%d results, want 1", len(got))
	}
	r, fs := got[0].r, got[0].fs
	if !reflect.DeepEqual(r.Exposure, rec.Result.Exposure) {
		t.Errorf("exposure:\n got %+v\nwant %+v", r.Exposure, rec.Result.Exposure)
	}
	if !reflect.DeepEqual(r.Signs, rec.Result.Signs) {
		t.Errorf("signs: got %+v, want %+v", r.Signs, rec.Result.Signs)
	}
	if len(fs) != 1 || !slices.Equal(fs[0].Classes, rec.Findings[0].Classes) {
		t.Errorf("finding classes: got %+v", fs)
	}
	// A result without assessment reads back without one.
	id2 := begin(t, s)
	add(t, s, id2, Open(Target("10.0.0.8", 6380), "redis"))
	if g := readAll(t, s, id2); len(g) != 1 || g[0].r.Exposure != nil || g[0].r.Signs != nil || g[0].fs[0].Classes != nil {
		t.Errorf("empty assessment read back as %+v", g)
	}
}

// testPruneBefore deletes scans by age: those started before the cutoff go,
// newer ones stay, and keep spares the newest whatever their age.
func testPruneBefore(t *testing.T, s gown.Store) {
	p, ok := s.(store.AgePruner)
	if !ok {
		t.Skip("store cannot prune by age")
	}
	now := time.Now()
	ages := []time.Duration{90 * 24 * time.Hour, 40 * 24 * time.Hour, 31*24*time.Hour + 500*time.Millisecond, 29 * 24 * time.Hour, time.Hour}
	var ids []gown.ScanID
	for i, age := range ages {
		id, err := s.BeginScan(t.Context(), gown.ScanMeta{Args: []string{"x"}, Started: now.Add(-age)})
		if err != nil {
			t.Fatal(err)
		}
		add(t, s, id, Open(Target("aged", 6379+i), "redis", gown.Database{Name: "db0", Items: 1}))
		finish(t, s, id, []gown.ScanState{gown.ScanDone, gown.ScanInterrupted}[i%2])
		ids = append(ids, id)
	}
	cutoff := now.Add(-30 * 24 * time.Hour)
	if n, err := p.PruneBefore(t.Context(), cutoff, 0); err != nil || n != 3 {
		t.Fatalf("PruneBefore(30 days) = %d, %v; want 3", n, err)
	}
	left := scanIDs(t, s)
	if !slices.Equal(left, []gown.ScanID{ids[4], ids[3]}) {
		t.Errorf("scans left %v, want %v", left, []gown.ScanID{ids[4], ids[3]})
	}
	if h := history(t, s); len(h) != 2 {
		t.Errorf("%d findings left, want the 2 of the kept scans", len(h))
	}
	// keep spares the newest two even when both are older than the cutoff.
	if n, err := p.PruneBefore(t.Context(), now.Add(time.Minute), 2); err != nil || n != 0 {
		t.Errorf("PruneBefore(now, keep 2) = %d, %v; want 0", n, err)
	}
	if n, err := p.PruneBefore(t.Context(), now.Add(time.Minute), 1); err != nil || n != 1 {
		t.Errorf("PruneBefore(now, keep 1) = %d, %v; want 1", n, err)
	}
	if _, err := p.PruneBefore(t.Context(), time.Time{}, 0); err == nil {
		t.Error("PruneBefore without a cutoff accepted")
	}
}

func scanIDs(t *testing.T, s gown.Store) []gown.ScanID {
	t.Helper()
	var ids []gown.ScanID
	if err := s.Scans(t.Context(), func(m gown.ScanMeta) error { ids = append(ids, m.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	return ids
}

func finish(t *testing.T, s gown.Store, id gown.ScanID, state gown.ScanState) {
	t.Helper()
	if err := s.FinishScan(t.Context(), id, state); err != nil {
		t.Fatalf("FinishScan(%d, %s): %v", id, state, err)
	}
}

// testPruneSparesRunning prunes while scans are running: one begun and not
// finished, one resumed (interrupted, then running again). Prune by count
// and by age spares both and says which; the live scan then stores more
// results, sharing a finding with the pruned scan, and finishes, all of it
// intact. Once finished it can be pruned; a running scan goes only when
// told (PruneOptions.Running). Before, prune deleted the running scan and
// its next batch failed on a foreign key.
func testPruneSparesRunning(t *testing.T, s gown.Store) {
	p, ok := s.(store.ScanPruner)
	if !ok {
		t.Skip("store cannot say what it spared")
	}
	old := begin(t, s)
	add(t, s, old, Open(Target("old", 6379), "redis", gown.Database{Name: "db0", Items: 2}), Auth(Target("always", 3306), "mysql"))
	finish(t, s, old, gown.ScanDone)
	live := begin(t, s)
	add(t, s, live, Open(Target("live", 6379), "redis", gown.Database{Name: "db0", Items: 5}))
	resumed := begin(t, s)
	add(t, s, resumed, Open(Target("resumed", 6379), "redis", gown.Database{Name: "db0", Items: 1}))
	finish(t, s, resumed, gown.ScanInterrupted)
	finish(t, s, resumed, gown.ScanRunning) // taken up by --resume
	if m, err := s.Scan(t.Context(), resumed); err != nil || m.State != gown.ScanRunning || !m.Finished.IsZero() {
		t.Fatalf("resumed scan: %+v, %v; want running with no end time", m, err)
	}

	res, err := p.PruneScans(t.Context(), store.PruneOptions{})
	if err != nil || res.Deleted != 1 || !slices.Equal(res.Spared, []gown.ScanID{resumed, live}) {
		t.Fatalf("PruneScans(keep 0) = %+v, %v; want 1 deleted, %d and %d spared", res, err, resumed, live)
	}
	if n, err := s.Prune(t.Context(), 0); err != nil || n != 0 {
		t.Errorf("Prune(0) = %d, %v; want 0: only running scans are left", n, err)
	}
	if a, ok := s.(store.AgePruner); ok {
		if n, err := a.PruneBefore(t.Context(), time.Now().Add(time.Hour), 0); err != nil || n != 0 {
			t.Errorf("PruneBefore(in an hour) = %d, %v; want 0", n, err)
		}
	}

	// The live scan goes on: its next batch (with a finding the pruned
	// scan also had) is stored, and it finishes.
	add(t, s, live, Auth(Target("always", 3306), "mysql"), Closed(Target("live", 1)))
	finish(t, s, live, gown.ScanDone)
	if got := readAll(t, s, live); len(got) != 2 || len(countDone(t, s, live)) != 3 {
		t.Errorf("live scan after prune: %d results, %d targets; want 2 and 3", len(got), len(countDone(t, s, live)))
	}
	if h := history(t, s); len(h) != 3 {
		t.Errorf("%d findings after the live scan finished, want 3 (its two, the resumed one's)", len(h))
	}

	res, err = p.PruneScans(t.Context(), store.PruneOptions{})
	if err != nil || res.Deleted != 1 || !slices.Equal(res.Spared, []gown.ScanID{resumed}) {
		t.Errorf("PruneScans after the live scan finished = %+v, %v; want it deleted, %d spared", res, err, resumed)
	}
	res, err = p.PruneScans(t.Context(), store.PruneOptions{Running: true})
	if err != nil || res.Deleted != 1 || len(res.Spared) != 0 || len(scanIDs(t, s)) != 0 {
		t.Errorf("PruneScans(Running) = %+v, %v, %d scans left; want the running scan deleted, none left", res, err, len(scanIDs(t, s)))
	}
	if h := history(t, s); len(h) != 0 {
		t.Errorf("%d findings left with no scan", len(h))
	}
}

// testPruneWhileWriting prunes again and again while a running scan writes
// its batches, each of whose findings an older, finished scan also holds
// until the prune deletes it. Every batch must be stored, and every finding
// the running scan recorded must survive the cleanup of orphaned findings,
// however the two interleave (PostgreSQL's READ COMMITTED lets a prune see
// a batch's upserted finding without its occurrence: Dialect.PruneLock).
func testPruneWhileWriting(t *testing.T, s gown.Store) {
	p, ok := s.(store.ScanPruner)
	if !ok {
		t.Skip("store cannot say what it spared")
	}
	const n = 150
	rec := func(i int) gown.Record { return Auth(Target(fmt.Sprintf("shared-%d", i), 3306), "mysql") }
	live := begin(t, s)
	written := make(chan error, 1)
	var batches atomic.Int64
	go func() {
		for i := range n {
			if err := s.AddResults(t.Context(), live, []gown.Record{rec(i)}); err != nil {
				written <- fmt.Errorf("batch %d: %w", i, err)
				return
			}
			batches.Add(1)
		}
		written <- nil
	}()
	prunes, deleted := 0, 0
	for done := false; !done; {
		old := begin(t, s)
		all := make([]gown.Record, n)
		for i := range all {
			all[i] = rec(i)
		}
		add(t, s, old, all...)
		finish(t, s, old, gown.ScanDone)
		res, err := p.PruneScans(t.Context(), store.PruneOptions{})
		if err != nil {
			t.Fatalf("prune %d: %v", prunes, err)
		}
		prunes, deleted = prunes+1, deleted+res.Deleted
		if !slices.Contains(res.Spared, live) {
			t.Fatalf("prune %d spared %v, not the running scan %d", prunes, res.Spared, live)
		}
		// Let at least one batch in before the next round: SQLite's lock is
		// not fair, and back-to-back rounds could starve the writer past
		// its busy timeout (a test artefact: real prunes are rare).
		for b := batches.Load(); batches.Load() == b && !done; {
			select {
			case err := <-written:
				if err != nil {
					t.Fatalf("the running scan's writes failed during pruning: %v", err)
				}
				done = true
			case <-time.After(time.Millisecond):
			}
		}
	}
	t.Logf("%d prunes (%d scans deleted) while %d batches were written", prunes, deleted, n)
	finish(t, s, live, gown.ScanDone)
	if _, err := p.PruneScans(t.Context(), store.PruneOptions{Keep: 1}); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, s, live)
	withFinding := 0
	for _, r := range got {
		if len(r.fs) == 1 {
			withFinding++
		}
	}
	if len(got) != n || withFinding != n || len(history(t, s)) != n {
		t.Errorf("after pruning: %d results, %d with their finding, %d findings in the history; want %d each",
			len(got), withFinding, len(history(t, s)), n)
	}
}
