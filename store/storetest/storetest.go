// Package storetest is the conformance suite every gown.Store backend must
// pass, against the real database: round trip (facts included), batch atomicity, stable
// finding ids, the resume set, diff categories, paging, prune by count and
// by age sparing running scans, the dashboard's reads (gown.Browser), the
// fleet (gown.FleetStore), watch state (gown.WatchStore) and the apps a
// scan read (gown.Store.ScanApps).
package storetest

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// Opener returns a fresh, empty store for one test; the suite closes it.
type Opener func(t *testing.T) gown.Store

// Run runs the whole suite as subtests.
func Run(t *testing.T, open Opener) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, gown.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"BatchAtomic", testBatchAtomic},
		{"StableFindingIDs", testStableIDs},
		{"Resume", testResume},
		{"ManyClosed", testManyClosed},
		{"Overlap", testOverlap},
		{"Diff", testDiff},
		{"Assessment", testAssessment},
		{"Paging", testPaging},
		{"Prune", testPrune},
		{"PruneBefore", testPruneBefore},
		{"PruneSparesRunning", testPruneSparesRunning},
		{"PruneWhileWriting", testPruneWhileWriting},
		{"HostileText", testHostileText},
		{"Standalone", testStandalone},
		{"Browse", testBrowse},
		{"Ledger", testLedger},
		{"FleetImport", testFleetImport},
		{"FleetReport", testFleetReport},
		{"WatchState", testWatchState},
		{"Paths", testPaths},
		{"Apps", testApps},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			c.fn(t, s)
		})
	}
}

// Target returns a resolved test target.
func Target(host string, port int) gown.Target {
	return gown.Target{Host: host, Addr: netip.MustParseAddr("127.0.0.1"), Port: port, Origin: "cli"}
}

// Open builds the record of an open store holding the given databases, with
// its finding drawn as assess would.
func Open(t gown.Target, store string, dbs ...gown.Database) gown.Record {
	inv := &gown.Inventory{}
	for _, d := range dbs {
		inv.Add(d)
	}
	r := &gown.Result{Target: t, Store: store, Product: "Redis", Version: "7.2.4", Status: gown.StatusOpen,
		Reason: "INFO answered", TLS: gown.TLS{Mode: gown.TLSNone}, Inventory: inv,
		Details:  map[string]string{"redis_mode": "standalone"},
		Evidence: []gown.Evidence{{Step: "info", Sent: `*1\r\n$4\r\nINFO\r\n`, Received: `$3000\r\n# Server`}},
		Start:    time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC), Duration: 1500 * time.Microsecond}
	f := gown.Finding{Rule: "open-store", Store: store, Target: t, Severity: gown.SeverityHigh,
		Title: fmt.Sprintf("open with %d items", inv.Items), Items: inv.Items, Bytes: inv.Bytes}
	if inv.Items == 0 {
		f.Rule, f.Severity = "open-store-empty", gown.SeverityMedium
	}
	f.ID = gown.FindingID(f.Rule, f.Store, t)
	return gown.Record{Target: t, Result: r, Findings: []gown.Finding{f}}
}

// Auth builds the record of a store asking for a password over plaintext.
func Auth(t gown.Target, store string) gown.Record {
	r := &gown.Result{Target: t, Store: store, Product: "MariaDB", Status: gown.StatusAuthRequired,
		TLS: gown.TLS{Mode: gown.TLSNone}, Start: time.Date(2025, 3, 1, 12, 0, 1, 0, time.UTC)}
	f := gown.Finding{Rule: "auth-without-tls", Store: store, Target: t, Severity: gown.SeverityLow, Title: "clear-text auth"}
	f.ID = gown.FindingID(f.Rule, f.Store, t)
	return gown.Record{Target: t, Result: r, Findings: []gown.Finding{f}}
}

// Closed builds the record of a target where nothing listened.
func Closed(t gown.Target) gown.Record { return gown.Record{Target: t} }

func begin(t *testing.T, s gown.Store) gown.ScanID {
	t.Helper()
	id, err := s.BeginScan(t.Context(), gown.ScanMeta{Args: []string{"127.0.0.1", "--ports", "6379"}, Version: "test"})
	if err != nil {
		t.Fatalf("BeginScan: %v", err)
	}
	return id
}

func add(t *testing.T, s gown.Store, id gown.ScanID, recs ...gown.Record) {
	t.Helper()
	if err := s.AddResults(t.Context(), id, recs); err != nil {
		t.Fatalf("AddResults: %v", err)
	}
}

// stored is one result read back with its findings.
type stored struct {
	r  *gown.Result
	fs []gown.Finding
}

func readAll(t *testing.T, s gown.Store, id gown.ScanID) []stored {
	t.Helper()
	var out []stored
	err := s.Results(t.Context(), id, func(r *gown.Result, fs []gown.Finding) error {
		out = append(out, stored{r, fs})
		return nil
	})
	if err != nil {
		t.Fatalf("Results: %v", err)
	}
	return out
}

func countDone(t *testing.T, s gown.Store, id gown.ScanID) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	err := s.DoneTargets(t.Context(), id, func(k string) error {
		if keys[k] {
			return fmt.Errorf("key %q twice", k)
		}
		keys[k] = true
		return nil
	})
	if err != nil {
		t.Fatalf("DoneTargets: %v", err)
	}
	return keys
}
