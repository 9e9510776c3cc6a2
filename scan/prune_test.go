package scan_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/store"
)

// TestPruneSparesAResumedScan prunes the store while a resumed scan runs
// against real servers. The resumed scan is marked running again when it is
// taken up, so the prune spares it (before, it stayed "interrupted" while
// it ran and was deleted, and its next batch failed on a foreign key); an
// older finished scan goes. The scan then stores the rest and finishes,
// with every result of both of its runs.
func TestPruneSparesAResumedScan(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "redis-password")
	ro, rp := bedTarget(bed.Get("redis-open")), bedTarget(bed.Get("redis-password"))
	st := openStore(t)
	cfg := config(st)

	older := begin(t, cfg, &recorder{})
	if _, err := older.Run(t.Context(), scan.Targets(ro)); err != nil {
		t.Fatal(err)
	}
	// A first run that stops after one target: an unreadable list.
	first := begin(t, cfg, &recorder{})
	_, err := first.Run(t.Context(), func(ctx context.Context, out chan<- gown.Target) error {
		if err := scan.Targets(ro)(ctx, out); err != nil {
			return err
		}
		return errors.New("target list: read error")
	})
	if err == nil {
		t.Fatal("first run did not fail")
	}
	if m := scanMeta(t, st, first.ID()); m.State != gown.ScanInterrupted || m.Results != 1 {
		t.Fatalf("first run left %+v; want interrupted with 1 result", m)
	}

	cfg.Resume = first.ID()
	resumed := begin(t, cfg, &recorder{})
	if m := scanMeta(t, st, first.ID()); m.State != gown.ScanRunning || !m.Finished.IsZero() {
		t.Fatalf("a resumed scan is %+v; want running, with no end time", m)
	}
	release := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := resumed.Run(t.Context(), func(ctx context.Context, out chan<- gown.Target) error {
			if err := scan.Targets(ro, rp)(ctx, out); err != nil {
				return err
			}
			select { // the rest of the list comes once the prune is over
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		done <- err
	}()
	waitFor(t, func() bool { return scanMeta(t, st, first.ID()).Results == 2 })

	res, err := st.(store.ScanPruner).PruneScans(t.Context(), store.PruneOptions{})
	t.Logf("prune while the resumed scan runs: %+v", res)
	if err != nil || res.Deleted != 1 || !slices.Equal(res.Spared, []gown.ScanID{first.ID()}) {
		t.Errorf("PruneScans = %+v, %v; want the older scan deleted, scan %d spared", res, err, first.ID())
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the resumed scan failed after the prune: %v", err)
	}
	if m := scanMeta(t, st, first.ID()); m.State != gown.ScanDone || m.Results != 2 || m.Findings == 0 {
		t.Errorf("resumed scan after the prune: %+v; want done with 2 results and their findings", m)
	}
	if _, err := st.Scan(t.Context(), older.ID()); !errors.Is(err, store.ErrNoScan) {
		t.Errorf("older scan: %v, want it pruned", err)
	}
}

func scanMeta(t *testing.T, st gown.Store, id gown.ScanID) gown.ScanMeta {
	t.Helper()
	m, err := st.Scan(context.WithoutCancel(t.Context()), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFor polls cond for up to 30 s: what it waits for is a commit of a
// scan running in another goroutine.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}
