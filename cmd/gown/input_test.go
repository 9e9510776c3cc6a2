package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gownscan/gown"
	"github.com/spf13/pflag"
)

// TestScanRefusesBadInput checks the input errors of gown scan: each exits
// 2 with a reason, before any scan is recorded (the store is not even
// created) and before any target is dialled.
func TestScanRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // refused --db URLs used to become files here
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.txt", "256.1.1.1:6379\nfoo..bar\n")
	empty := write("empty.txt", "# nothing\n\n")
	db := filepath.Join(dir, "gown.db")
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"-l", bad, "--no-dns"}, []string{`skipping 256.1.1.1:6379: bad target: "256.1.1.1" is not a host name`,
			"skipping foo..bar", "no target to scan: all 2 targets given were refused"}},
		{[]string{"256.1.1.1"}, []string{"nor an IPv4 address", "the one target given was refused"}},
		{[]string{"--", "-l"}, []string{`label "-l" begins or ends with '-'`, "no target to scan"}},
		{[]string{"[::1"}, []string{"brackets must enclose an IPv6 address", "no target to scan"}},
		{[]string{"db-.example.com", "host.123"}, []string{"begins or ends with '-'", "all digits", "all 2 targets given were refused"}},
		{[]string{"-l", empty}, []string{"no target to scan: the input holds none"}},
		{[]string{"127.0.0.1:1", "-l", filepath.Join(dir, "missing.txt")}, []string{"target list " + filepath.Join(dir, "missing.txt") + ": no such file"}},
		{[]string{"127.0.0.1:1", "--db", "mysql://root:s3cret@127.0.0.1/gown"}, []string{"not a results store: mysql://root:xxxxx@127.0.0.1/gown"}},
		{[]string{"127.0.0.1:1", "--db", "sqlite://" + db}, []string{"a SQLite store is named by its file path alone"}},
	} {
		args := append([]string{"scan", "--db", db}, c.args...)
		var out, errb bytes.Buffer
		code := run(t.Context(), args, nil, &out, &errb)
		t.Logf("gown scan %s: exit %d\n%s", strings.Join(c.args, " "), code, errb.String())
		if code != exitUsage {
			t.Errorf("gown %s: exit %d, want %d", strings.Join(c.args, " "), code, exitUsage)
		}
		for _, w := range c.want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("gown %s: stderr lacks %q", strings.Join(c.args, " "), w)
			}
		}
		if strings.Contains(errb.String(), "s3cret") {
			t.Errorf("gown %s: stderr shows the password", strings.Join(c.args, " "))
		}
		if _, err := os.Stat(db); err == nil {
			t.Fatalf("gown %s: created the store %s: a scan was recorded", strings.Join(c.args, " "), db)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) != 2 {
		t.Errorf("the working directory holds %v; want only the two lists", left)
	}
}

// TestLongLineThenResumeFromElsewhere runs a scan whose list, given by a
// relative path, holds a 10 MiB line: the scan stops with the list's name
// and the line's number (exit 2) and is left interrupted, with the list
// stored as an absolute path. With the line fixed, --resume run from
// another directory reads the same list and finishes the scan. Before, the
// error was "bufio.Scanner: token too long" and the resume failed with
// "open list.txt: no such file or directory".
func TestLongLineThenResumeFromElsewhere(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "lists"), 0o755); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "lists", "list.txt")
	good := "127.0.0.1:1\n127.0.0.1:2\n"
	if err := os.WriteFile(list, []byte(good+strings.Repeat("x", 10<<20)+"\n127.0.0.1:3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "gown.db")
	t.Chdir(filepath.Join(dir, "lists"))
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"scan", "-ql", "list.txt", "--db", db, "--all"}, nil, &out, &errb)
	t.Logf("gown scan -ql list.txt: exit %d: %s", code, errb.String())
	if code != exitUsage || !strings.Contains(errb.String(), "target list list.txt: line 3: longer than the 64 KiB") {
		t.Errorf("exit %d, stderr %q; want %d naming list.txt, line 3", code, errb.String(), exitUsage)
	}
	m := onlyScan(t, db)
	if m.State != gown.ScanInterrupted || m.Targets != 2 || !slices.Equal(m.Args, []string{"-ql", list, "--all"}) {
		t.Fatalf("stored scan %+v; want interrupted, 2 targets, args -ql %s --all", m, list)
	}

	if err := os.WriteFile(list, []byte(good+"127.0.0.1:3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	out.Reset()
	errb.Reset()
	if code := run(t.Context(), []string{"scan", "--resume", "--db", db}, nil, &out, &errb); code != exitOK {
		t.Fatalf("gown scan --resume from another directory: exit %d: %s", code, errb.String())
	}
	t.Logf("gown scan --resume: %s", errb.String())
	if m := onlyScan(t, db); m.State != gown.ScanDone || m.Targets != 3 {
		t.Errorf("after resume: %+v; want done with 3 targets", m)
	}
}

// onlyScan reads the one scan a store holds, through gown scans --json.
func onlyScan(t *testing.T, db string) gown.ScanMeta {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(runOK(t, "scans", "--db", db, "--json")), "\n")
	if len(lines) != 1 {
		t.Fatalf("gown scans: %d scans, want 1: %q", len(lines), lines)
	}
	var m gown.ScanMeta
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAbsListsParsesAsPflag checks absLists against pflag itself: the
// rewritten arguments parse to the same flags and positionals, with every
// list made absolute, in each form a list can be given in.
func TestAbsListsParsesAsPflag(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-l", "a.txt", "127.0.0.1"},
		{"--list", "a.txt", "--list=b.txt", "-lc.txt", "-l=d.txt", "-ql", "e.txt", "-vqlf.txt"},
		{"-l", "-", "--list=-", "db.example"},
		{"-p", "-l", "x", "--exclude", "-l", "-l", "/abs/list.txt"}, // values that look like -l are values
		{"--json", "-l", "a.txt", "--", "-l", "b.txt"},              // after --, nothing is a flag
		{"--resume", "-l", "a.txt", "--rate=5", "h"},                // --resume takes no separate value
		{"-l", "../up/list.txt", "--no-dns", "-l", "./here.txt"},
	} {
		orig, origFS := parseScan(t, args)
		got := absLists(origFS, args)
		abs, _ := parseScan(t, got)
		var want []string
		for _, l := range orig.lists {
			if l != "-" && !filepath.IsAbs(l) {
				l = filepath.Join(wd, l)
			}
			want = append(want, l)
		}
		if !slices.Equal(abs.lists, want) {
			t.Errorf("absLists(%q) = %q: lists %q, want %q", args, got, abs.lists, want)
		}
		orig.lists, abs.lists = nil, nil
		if !equalFlags(t, args, got) {
			t.Errorf("absLists(%q) = %q changed more than the lists", args, got)
		}
	}
}

func parseScan(t *testing.T, args []string) (*scanFlags, *pflag.FlagSet) {
	t.Helper()
	var f scanFlags
	fs := pflag.NewFlagSet("gown scan", pflag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &f, fs
}

// equalFlags reports whether a and b parse to the same values of every
// flag but --list, and the same positionals.
func equalFlags(t *testing.T, a, b []string) bool {
	_, fa := parseScan(t, a)
	_, fb := parseScan(t, b)
	same := slices.Equal(fa.Args(), fb.Args())
	fa.VisitAll(func(f *pflag.Flag) {
		if f.Name != "list" && f.Value.String() != fb.Lookup(f.Name).Value.String() {
			same = false
		}
	})
	return same
}
