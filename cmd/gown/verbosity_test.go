package main

import (
	"bytes"
	"net"
	"path/filepath"
	"strings"
	"testing"
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
	if want := "gown: " + addr + " closed: connection refused ("; !strings.Contains(errs, want) {
		t.Fatalf("-v: stderr %q lacks %q", errs, want)
	}
	if out != defaultOut {
		t.Fatalf("-v changed stdout: %q vs %q", out, defaultOut)
	}

	out, errs = scan("-q")
	if errs != "" {
		t.Fatalf("-q: stderr %q, want nothing", errs)
	}
	if out != defaultOut {
		t.Fatalf("-q changed stdout: %q vs %q", out, defaultOut)
	}
	t.Logf("-v line: %s", strings.TrimSpace(strings.Split(scanV(t, addr), "\n")[0]))
}

func scanV(t *testing.T, addr string) string {
	var out, errb bytes.Buffer
	run(t.Context(), []string{"scan", addr, "--no-store", "-v"}, nil, &out, &errb)
	return errb.String()
}
