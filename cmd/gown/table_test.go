package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/creack/pty"
	"github.com/gownscan/gown/internal/testbed"
)

var ansiEscape = regexp.MustCompile("\x1b\\[[0-9;]*m")

// tableOnPTY runs gown with standard output on a pseudo-terminal of the
// given width and returns what the terminal showed.
func tableOnPTY(t *testing.T, cols int, args []string) string {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no pty: %v", err)
		}
		t.Skipf("no pty (set CI=true to fail instead): %v", err)
	}
	defer master.Close()
	if err := pty.Setsize(slave, &pty.Winsize{Rows: 50, Cols: uint16(cols)}); err != nil {
		t.Fatal(err)
	}
	var term bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		io.Copy(&term, master)
	}()
	var errb bytes.Buffer
	code := run(t.Context(), args, nil, slave, &errb)
	slave.Close()
	<-read
	if code != exitOK && code != exitFindings {
		t.Fatalf("gown %v: exit %d: %s", args, code, errb.String())
	}
	// The terminal turns \n into \r\n.
	return strings.ReplaceAll(term.String(), "\r\n", "\n")
}

// TestTableOnTerminal scans the test bed's open Redis by a name mapped to
// its address, with standard output on terminals 80 and 200 columns wide:
// no line is wider than the terminal, the target is shown by its name and
// its address, severities are in colour, and --no-color, NO_COLOR and a
// pipe give none.
func TestTableOnTerminal(t *testing.T) {
	isolateConfig(t)
	bed := testbed.Require(t, "redis-open")
	addr := bed.Get("redis-open").Addr
	args := []string{"scan", fmt.Sprintf("api.example.app:%d", addr.Port()), "--resolve", "api.example.app=" + addr.Addr().String(), "--no-store", "-q"}
	for _, cols := range []int{80, 200} {
		got := tableOnPTY(t, cols, args)
		t.Logf("%d columns:\n%s", cols, got)
		plain := ansiEscape.ReplaceAllString(got, "")
		for _, line := range strings.Split(plain, "\n") {
			if n := utf8.RuneCountInString(line); n > cols {
				t.Errorf("%d columns: a line of %d: %q", cols, n, line)
			}
		}
		if !strings.Contains(plain, "api.example.app") || !strings.Contains(plain, "→ "+addr.String()) {
			t.Errorf("%d columns: the target is not shown as api.example.app → %s", cols, addr)
		}
		if !strings.Contains(got, "\x1b[1;31mCRITICAL\x1b[0m") && !strings.Contains(got, "\x1b[31mHIGH\x1b[0m") {
			t.Errorf("%d columns: no severity in colour", cols)
		}
		if cols == 200 && !strings.Contains(plain, "api.example.app:"+fmt.Sprint(addr.Port())+" → "+addr.String()) {
			t.Errorf("200 columns: name and address not on one line")
		}
	}
	if got := tableOnPTY(t, 120, append(args, "--no-color")); ansiEscape.MatchString(got) {
		t.Errorf("--no-color: colours on the terminal")
	}
	t.Setenv("NO_COLOR", "1")
	if got := tableOnPTY(t, 120, args); ansiEscape.MatchString(got) {
		t.Errorf("NO_COLOR=1: colours on the terminal")
	}
	t.Setenv("NO_COLOR", "")
	code, piped, _ := gownRun(t, args...)
	if (code != exitOK && code != exitFindings) || ansiEscape.MatchString(piped) || !strings.Contains(piped, "api.example.app") {
		t.Errorf("piped: exit %d, colour or no name:\n%s", code, piped)
	}
}
