package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueueFlags: the queue's flags are checked before anything is
// opened or dialled; the scan and the queue run in queue/'s tests.
func TestQueueFlags(t *testing.T) {
	pg := "postgres://gown@127.0.0.1:1/gown"
	sqlite := filepath.Join(t.TempDir(), "s.db")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"scan", "127.0.0.1", "--queue", "nats://127.0.0.1:1", "--db", sqlite}, "--queue needs --db postgres://"},
		{[]string{"scan", "127.0.0.1", "--queue", "nats://127.0.0.1:1", "--no-store", "--db", pg}, "--queue needs --db postgres://"},
		{[]string{"scan", "127.0.0.1", "--queue", "nats://127.0.0.1:1", "--db", pg, "--fail-on", "high"}, "needs --follow"},
		{[]string{"scan", "127.0.0.1", "--follow"}, "give --queue too"},
		{[]string{"scan", "127.0.0.1", "--queue", "http://127.0.0.1:1", "--db", pg}, "nats://HOST:PORT"},
		{[]string{"scan", "127.0.0.1", "--queue", "nats://127.0.0.1:1", "--db", pg, "--batch", "0"}, "--batch 0"},
		{[]string{"scan", "127.0.0.1", "--queue", "nats://127.0.0.1:1", "--db", pg, "--partitions", "5000"}, "5000 partitions"},
		{[]string{"worker", "--db", pg}, "--queue nats://HOST:PORT is required"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--db", sqlite}, "--db postgres://... is required"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--db", pg, "extra"}, "takes no arguments"},
		{[]string{"worker", "--queue", "nats://127.0.0.1:1", "--db", pg, "--max-deliver", "-1"}, "out of range"},
		{[]string{"scans", "cancel", "--db", sqlite}, "want cancel SCAN"},
		{[]string{"scans", "cancel", "x", "--db", sqlite}, "want a scan id"},
		{[]string{"scans", "frob", "--db", sqlite}, "want cancel SCAN"},
	} {
		var out, errb bytes.Buffer
		code := run(t.Context(), c.args, nil, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), c.want) {
			t.Errorf("gown %s: exit %d, stderr %q; want exit %d and %q", strings.Join(c.args, " "), code, errb.String(), exitUsage, c.want)
		}
	}
}

// TestScansQueueCommands: on a store with no queued scan, the dead letters
// are an empty list and cancelling names the scan that is not queued.
func TestScansQueueCommands(t *testing.T) {
	db := filepath.Join(t.TempDir(), "s.db")
	if out := runOK(t, "scans", "--dead", "--db", db); !strings.HasPrefix(out, "SCAN  BATCH  TARGETS") || strings.Count(out, "\n") != 1 {
		t.Errorf("gown scans --dead on an empty store:\n%s", out)
	}
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"scans", "cancel", "7", "--db", db}, nil, &out, &errb); code != exitError ||
		!strings.Contains(errb.String(), "scan 7 is not a queued scan") {
		t.Errorf("cancelling scan 7 of an empty store: exit %d, %q", code, errb.String())
	}
	if out := runOK(t, "scans", "--db", db); !strings.Contains(out, "QUEUE") {
		t.Errorf("gown scans has no QUEUE column:\n%s", out)
	}
}
