package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/store"
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
	if v := runOK(t, "db", "migrate", "--db", db); !strings.Contains(v, "schema version 2") {
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
