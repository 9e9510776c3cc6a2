package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"
	"github.com/spf13/pflag"
)

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestQuietAndVerbose: -v names each target that found nothing, with its
// status and time; -q drops the notes; neither changes stdout, and no
// progress line is drawn when stderr is not a terminal.
func TestQuietAndVerbose(t *testing.T) {
	addr := closedPort(t)
	db := filepath.Join(t.TempDir(), "g.db")
	scan := func(extra ...string) (string, string) {
		var out, errb bytes.Buffer
		args := append([]string{"scan", addr, "--db", db}, extra...)
		if code := run(t.Context(), args, nil, &out, &errb); code != exitOK {
			t.Fatalf("%v: exit %d; stderr %s", args, code, errb.String())
		}
		return out.String(), errb.String()
	}

	out, errs := scan()
	if !strings.Contains(errs, "stored in") || strings.Contains(errs, addr) || strings.Contains(errs, "\r") {
		t.Fatalf("default: stderr %q", errs)
	}
	defaultOut := out

	out, errs = scan("-v")
	if want := "gown: " + addr + " closed: connection refused"; !strings.Contains(errs, want) {
		t.Fatalf("-v: stderr %q lacks %q", errs, want)
	}
	if out != defaultOut {
		t.Fatalf("-v changed stdout: %q vs %q", out, defaultOut)
	}
	if !regexp.MustCompile(`gown: 1 targets in [0-9.]+(µ|m)?s \([0-9]+/s\), 0 open\n`).MatchString(errs) {
		t.Fatalf("-v: no timing line in %q", errs)
	}

	out, errs = scan("-q")
	if errs != "" {
		t.Fatalf("-q: stderr %q, want nothing", errs)
	}
	if out != defaultOut {
		t.Fatalf("-q changed stdout: %q vs %q", out, defaultOut)
	}
	// A port a prober was named for is timed.
	if v := scanV(t, "redis://"+addr); !regexp.MustCompile(`closed: connection refused \([0-9.]+(µ|m)?s\)`).MatchString(v) {
		t.Errorf("-v on redis://%s: no time in %q", addr, v)
	} else {
		t.Logf("-v line for a named prober: %s", strings.Split(v, "\n")[0])
	}
	var o, e bytes.Buffer
	if code := run(t.Context(), []string{"scan", addr, "-q", "-v"}, nil, &o, &e); code != exitUsage {
		t.Errorf("-q -v: exit %d, want %d", code, exitUsage)
	}
	t.Logf("-v line: %s", strings.TrimSpace(strings.Split(scanV(t, addr), "\n")[0]))
}

func scanV(t *testing.T, addr string) string {
	var out, errb bytes.Buffer
	run(t.Context(), []string{"scan", addr, "--no-store", "-v"}, nil, &out, &errb)
	return errb.String()
}

// TestProgressTotal checks the totals the progress line gets without any
// resolving: CIDR size × ports, one per host:port, the ports per host,
// lists read twice, nothing for stdin or an over-cap CIDR.
func TestProgressTotal(t *testing.T) {
	list := filepath.Join(t.TempDir(), "targets.txt")
	if err := os.WriteFile(list, []byte("# three lines\n10.1.0.0/29\nnames.example\n\nredis://cache.example:6380\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want int64
	}{
		{[]string{"10.0.0.0/30", "--ports", "1,2"}, 8},
		{[]string{"10.0.0.0/30", "10.9.9.9:7", "db.example", "--ports", "1-3"}, 12 + 1 + 3},
		{[]string{"-l", list, "--ports", "6379,3306"}, 8*2 + 2 + 1},
		{[]string{"10.0.0.0/8", "--ports", "1"}, 0}, // above --max-cidr: expansion refuses it
		{[]string{"-l", "-", "10.0.0.1"}, 0},        // stdin: unknown
		{[]string{"db.example", "--exclude", "example", "--ports", "1"}, 0},
		{[]string{"10.0.0.7", "10.0.1.7", "--exclude", "10.0.0.0/24", "--ports", "1"}, 1},
	} {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		var f scanFlags
		f.register(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		job, err := f.job(fs.Args(), stdio{err: io.Discard})
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if got := job.input.Count(t.Context(), &job.tcfg); got != c.want {
			t.Errorf("%v: total %d, want %d", c.args, got, c.want)
		}
	}
}

// TestProgressOnTerminal runs a scan whose stderr is a real pseudo-terminal:
// the progress line is drawn there (done/total, open, rate), cleared at
// the end, and never reaches stdout; with -q nothing is drawn.
func TestProgressOnTerminal(t *testing.T) {
	// 16 closed loopback ports at 20 connections a second: long enough for
	// several redraws.
	args := []string{"scan", "127.0.0.0/28", "--ports", "1", "--rate", "20", "--no-store"}
	out, term := scanOnPTY(t, args)
	t.Logf("terminal saw %q", term)
	if strings.Contains(out, "\r") || strings.Contains(out, "scan ") {
		t.Errorf("progress reached stdout: %q", out)
	}
	if !strings.Contains(term, "\rscan ") || !strings.Contains(term, "/16 ") || !strings.Contains(term, " open · ") {
		t.Fatalf("no progress line with a total of 16 on the terminal: %q", term)
	}
	clearedAndQuiet(t, term, args)
}

// scanOnPTY runs gown with stderr on the terminal side of a new
// pseudo-terminal and returns stdout and what the other side read. Without
// a pty (no devpts) it skips on a developer's machine and fails in CI
// (CI=true), where a skip would hide that the terminal path never ran.
func scanOnPTY(t *testing.T, args []string) (string, string) {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no pty: %v", err)
		}
		t.Skipf("no pty (set CI=true to fail instead): %v", err)
	}
	defer master.Close()
	var term bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		io.Copy(&term, master) // ends with EIO once the slave is closed
	}()
	var out bytes.Buffer
	code := run(t.Context(), args, nil, &out, slave)
	slave.Close()
	<-read
	if code != exitOK {
		t.Fatalf("gown %v: exit %d; terminal %q", args, code, term.String())
	}
	return out.String(), term.String()
}

// TestAppProgressOnTerminal: `gown app` over a directory draws "apps
// done/total" and how many name back ends on a terminal stderr, after each
// app; stdout gets none of it, the line is cleared at the end, and -q draws
// nothing.
func TestAppProgressOnTerminal(t *testing.T) {
	dir := t.TempDir()
	writeAPK(t, dir, "a.apk", "https://api.a-gown.net/v1")
	writeAPK(t, dir, "b.apk", "plain text only")
	writeAPK(t, dir, "c.apk", "redis://cache.c-gown.net:6379")
	args := []string{"app", dir, "--extract-only"}
	out, term := scanOnPTY(t, args)
	t.Logf("terminal saw %q", term)
	if strings.Contains(out, "\r") || strings.Contains(out, "apps ") {
		t.Errorf("progress reached stdout: %q", out)
	}
	if !strings.Contains(term, "\rapps 3/3 100% · 2 with back ends") {
		t.Fatalf("no final progress line for 3 apps, 2 with back ends: %q", term)
	}
	clearedAndQuiet(t, term, args)
}

// clearedAndQuiet checks the end of a progress line on a terminal: the last
// thing written is the clearing (spaces over the line, then \r), and the
// same command with -q draws nothing.
func clearedAndQuiet(t *testing.T, term string, args []string) {
	t.Helper()
	if !regexp.MustCompile(`\r +\r$`).MatchString(term) {
		t.Errorf("line not cleared at the end: %q", term[max(0, len(term)-80):])
	}
	if _, quiet := scanOnPTY(t, append(args, "-q")); quiet != "" {
		t.Errorf("-q drew on the terminal: %q", quiet)
	}
}
