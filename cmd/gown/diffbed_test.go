package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown/internal/testbed"
)

// TestDiffStoreClosedBetweenScans scans three real open stores into one
// results file, stops one of them, scans again, and runs gown diff: the
// stopped store's finding is fixed, the others still open.
func TestDiffStoreClosedBetweenScans(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "mariadb-open", "postgres-trust")
	db := filepath.Join(t.TempDir(), "diff.db")
	var targets []string
	for _, s := range bed.Servers {
		targets = append(targets, s.Addr.String())
	}
	scan := func() {
		t.Helper()
		var out, errb bytes.Buffer
		args := append([]string{"scan", "--db", db, "--source", testbed.Source.String(), "-q"}, targets...)
		if code := run(t.Context(), args, nil, &out, &errb); code != exitOK {
			t.Fatalf("gown %s: exit %d; %s", strings.Join(args, " "), code, errb.String())
		}
	}
	scan()
	closed := bed.Get("mariadb-open")
	if err := closed.Stop(); err != nil {
		t.Fatal(err)
	}
	scan()

	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"diff", "1", "2", "--db", db}, nil, &out, &errb); code != exitOK {
		t.Fatalf("gown diff: exit %d; %s", code, errb.String())
	}
	t.Logf("gown diff 1 2 (mariadb-open at %s stopped between the scans):\n%s", closed.Addr, out.String())
	rows := map[string]map[string]bool{} // target → the changes its findings show
	for _, line := range strings.Split(out.String(), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.Contains(f[2], ":") {
			if rows[f[2]] == nil {
				rows[f[2]] = map[string]bool{}
			}
			rows[f[2]][f[0]] = true
		}
	}
	for _, s := range bed.Servers {
		want := "still-open"
		if s == closed {
			want = "fixed"
		}
		if got := rows[s.Addr.String()]; len(got) != 1 || !got[want] {
			t.Errorf("%s (%s): changes %v, want every finding %q", s.Name, s.Addr, got, want)
		}
	}
	if sum := out.String(); !strings.Contains(sum, "scan 1 → 2: 0 new 0 grown 0 wiped") || strings.Contains(sum, " 0 fixed") {
		t.Errorf("summary line missing or wrong:\n%s", out.String())
	}
}
