package main

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/store"
)

// TestDiffAndScansNeutraliseControls: a store written by an older gown (or
// by hand) can hold titles, names and arguments with terminal escapes;
// gown diff and gown scans show them as visible escapes, never as bytes a
// terminal would obey.
func TestDiffAndScansNeutraliseControls(t *testing.T) {
	const esc = "\x1b]0;pwned\x07\x1b[2J\u009b31m\u202eexe.txt\xff"
	db := filepath.Join(t.TempDir(), "h.db")
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	tg := gown.Target{Host: "10.0.0.9" + esc, Port: 6379, Origin: "cli"}
	for i := range 2 {
		id, err := st.BeginScan(t.Context(), gown.ScanMeta{Args: []string{"redis://10.0.0.9" + esc}})
		if err != nil {
			t.Fatal(err)
		}
		f := gown.Finding{ID: gown.FindingID("open-store", "redis", tg), Rule: "open-store", Severity: gown.SeverityHigh,
			Title: "Redis" + esc + " holds items", Target: tg, Store: "redis" + esc, Items: uint64(10 + i)}
		rec := gown.Record{Target: tg, Result: &gown.Result{Target: tg, Store: "redis" + esc, Status: gown.StatusOpen}, Findings: []gown.Finding{f}}
		if err := st.AddResults(t.Context(), id, []gown.Record{rec}); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishScan(t.Context(), id, gown.ScanDone); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	for _, args := range [][]string{{"diff", "1", "2", "--db", db}, {"scans", "--db", db}} {
		out := runOK(t, args...)
		if !utf8.ValidString(out) {
			t.Errorf("gown %s: invalid UTF-8", args[0])
		}
		for _, bad := range []string{"\x1b", "\x07", "\u009b", "\u202e"} {
			if strings.Contains(out, bad) {
				t.Errorf("gown %s writes %q:\n%s", args[0], bad, out)
			}
		}
		if !strings.Contains(out, `\x1b]0;pwned\x07`) {
			t.Errorf("gown %s does not show the escape visibly:\n%s", args[0], out)
		}
	}
}
