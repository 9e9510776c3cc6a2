package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/store"
	"github.com/gownscan/gown/store/migrations"
	"github.com/gownscan/gown/store/storetest"
)

// TestMain points the default store at a temp folder: `gown scan` stores by
// default, and no test may write into the user's data directory.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gown-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_DATA_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(t.Context(), args, nil, &out, &errb); code != exitOK {
		t.Fatalf("gown %s: exit %d; stderr %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// TestStoreCommands scans twice into one store, then lists, diffs, prunes
// and vacuums it through the CLI.
func TestStoreCommands(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "redis-password")
	db := filepath.Join(t.TempDir(), "s.db")
	ro, rp := bed.Get("redis-open").Addr.String(), bed.Get("redis-password").Addr.String()
	src := testbed.Source.String()
	runOK(t, "scan", "--db", db, "--source", src, ro)
	runOK(t, "scan", "--db", db, "--source", src, ro, rp)

	scans := runOK(t, "scans", "--db", db, "--json")
	if n := strings.Count(scans, "\n"); n != 2 || !strings.Contains(scans, `"state":"done"`) {
		t.Fatalf("gown scans:\n%s", scans)
	}
	diff := runOK(t, "diff", "--db", db, "1", "2")
	t.Logf("gown diff 1 2:\n%s", diff)
	if !strings.Contains(diff, "still-open") || !strings.Contains(diff, "1 new") {
		t.Errorf("diff lacks still-open redis-open and new redis-password:\n%s", diff)
	}
	var e store.DiffEntry
	js := runOK(t, "diff", "--db", db, "--json", "2", "1")
	if err := json.Unmarshal([]byte(strings.Split(js, "\n")[0]), &e); err != nil || e.Kind == "" {
		t.Errorf("diff --json line %q: %v", js, err)
	}
	if p := runOK(t, "db", "path", "--db", db); strings.TrimSpace(p) != db {
		t.Errorf("db path = %q, want %s", p, db)
	}
	if v := runOK(t, "db", "migrate", "--db", db); !strings.Contains(v, fmt.Sprintf("schema version %d", migrations.Latest())) {
		t.Errorf("db migrate: %q", v)
	}
	if p := runOK(t, "db", "prune", "--keep", "1", "--db", db); !strings.Contains(p, "pruned 1 scans") {
		t.Errorf("db prune: %q", p)
	}
	runOK(t, "db", "vacuum", "--db", db)
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"diff", "--db", db, "1", "2"}, nil, &out, &errb); code != exitError {
		t.Errorf("diff against a pruned scan: exit %d, want %d", code, exitError)
	}
	if code := run(t.Context(), []string{"db", "prune", "--db", db}, nil, &out, &errb); code != exitUsage {
		t.Errorf("prune without --keep: exit %d, want %d", code, exitUsage)
	}
}

// TestDefaultStoreAndNoStore checks that a scan lands in the default store
// under XDG_DATA_HOME unless --no-store says otherwise.
func TestDefaultStoreAndNoStore(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	path, err := store.DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	runOK(t, "scan", "--no-store", "127.0.0.1:1")
	if _, err := os.Stat(path); err == nil {
		t.Fatalf("--no-store created %s", path)
	}
	runOK(t, "scan", "127.0.0.1:1", "--all")
	if !strings.Contains(runOK(t, "scans"), "127.0.0.1:1 --all") {
		t.Errorf("default store %s lacks the scan", path)
	}
}

// TestDBPruneOlderThan prunes a store by age through the CLI: scans started
// 90, 40 and 10 days and an hour ago; --older-than 30d leaves the two
// newest, --keep spares the newest whatever their age, and the usage text
// says how.
func TestDBPruneOlderThan(t *testing.T) {
	db := filepath.Join(t.TempDir(), "aged.db")
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i, age := range []time.Duration{90 * 24 * time.Hour, 40 * 24 * time.Hour, 10 * 24 * time.Hour, time.Hour} {
		id, err := st.BeginScan(t.Context(), gown.ScanMeta{Args: []string{fmt.Sprint("scan", i)}, Started: now.Add(-age)})
		if err != nil {
			t.Fatal(err)
		}
		rec := storetest.Open(storetest.Target("aged.example", 6379), "redis", gown.Database{Name: "db0", Items: 1})
		if err := st.AddResults(t.Context(), id, []gown.Record{rec}); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishScan(t.Context(), id, gown.ScanDone); err != nil { // running ones are spared
			t.Fatal(err)
		}
	}
	st.Close()
	scans := func() int { return strings.Count(runOK(t, "scans", "--db", db, "--json"), "\n") }

	out := runOK(t, "db", "prune", "--older-than", "30d", "--db", db)
	t.Logf("gown db prune --older-than 30d: %s", strings.TrimSpace(out))
	if !strings.HasPrefix(out, "pruned 2 scans started before ") || scans() != 2 {
		t.Errorf("--older-than 30d: %q, %d scans left; want 2 pruned, 2 left", out, scans())
	}
	out = runOK(t, "db", "prune", "--older-than", "1m", "--keep", "1", "--db", db)
	if !strings.Contains(out, "pruned 1 scans") || !strings.Contains(out, "sparing the newest 1") || scans() != 1 {
		t.Errorf("--older-than 1m --keep 1: %q, %d scans left; want 1 pruned, 1 left", out, scans())
	}
	out = runOK(t, "db", "prune", "--older-than", "2w", "--db", db)
	if !strings.HasPrefix(out, "pruned 0 scans") || scans() != 1 {
		t.Errorf("--older-than 2w: %q, %d scans left", out, scans())
	}
	runOK(t, "db", "vacuum", "--db", db)

	for _, args := range [][]string{
		{"db", "prune", "--older-than", "soon", "--db", db},
		{"db", "prune", "--older-than", "-3d", "--db", db},
		{"db", "prune", "--keep", "-2", "--db", db},
		{"db", "prune", "--db", db},
		{"db", "shrink", "--db", db},
	} {
		var o, e bytes.Buffer
		if code := run(t.Context(), args, nil, &o, &e); code != exitUsage {
			t.Errorf("gown %s: exit %d, want %d (%s)", strings.Join(args, " "), code, exitUsage, e.String())
		}
	}
	var o, e bytes.Buffer
	run(t.Context(), []string{"help"}, nil, &o, &e)
	run(t.Context(), []string{"db", "--help"}, nil, &o, &e)
	for _, want := range []string{"gown db prune --older-than 30d", "prune --older-than AGE", "--keep N"} {
		if !strings.Contains(o.String()+e.String(), want) {
			t.Errorf("usage text lacks %q", want)
		}
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"30d": 30 * 24 * time.Hour, "2w": 14 * 24 * time.Hour,
		"1.5d": 36 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parseAge(in); err != nil || got != want {
			t.Errorf("parseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "0d", "-1w", "3x", "forever", "0s", "1e9d"} {
		if _, err := parseAge(in); err == nil {
			t.Errorf("parseAge(%q) accepted", in)
		}
	}
}
