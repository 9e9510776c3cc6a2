package main

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown/report"
)

// TestDemoJSONPipesIntoReport builds gown-demo and gown and runs
// gown-demo --json | gown report --from - as a shell would: every line on
// the demo's stdout is a result (the truth table and notes are on its
// stderr), and the report reads them all.
func TestDemoJSONPipesIntoReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers")
	}
	bin := t.TempDir()
	for _, b := range []string{"gown", "gown-demo"} {
		build := exec.CommandContext(t.Context(), "go", "build", "-o", filepath.Join(bin, b), "../"+b)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b, err, out)
		}
	}
	demo := exec.CommandContext(t.Context(), filepath.Join(bin, "gown-demo"), "--json", "--only", "redis-open,mariadb-open", "--no-store")
	var demoErr bytes.Buffer
	demo.Stderr = &demoErr
	pipe, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	rep := exec.CommandContext(t.Context(), filepath.Join(bin, "gown"), "report", "--from", "-", "--format", "jsonl")
	var tee bytes.Buffer
	rep.Stdin = io.TeeReader(pipe, &tee)
	var repOut, repErr bytes.Buffer
	rep.Stdout, rep.Stderr = &repOut, &repErr
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	if err := rep.Run(); err != nil {
		t.Fatalf("gown report --from -: %v\n%s", err, repErr.String())
	}
	if err := demo.Wait(); err != nil {
		t.Fatalf("gown-demo --json: %v\n%s", err, demoErr.String())
	}
	lines := 0
	sc := bufio.NewScanner(&tee)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		lines++
		l, err := report.DecodeLine(sc.Bytes())
		if err != nil || l.Result == nil {
			t.Errorf("demo stdout line %d is not a result: %v: %.120s", lines, err, sc.Text())
		}
	}
	if lines != 2 {
		t.Errorf("demo wrote %d lines on stdout, want 2 results", lines)
	}
	if !strings.Contains(demoErr.String(), "TEST-BED SERVER") || !strings.Contains(demoErr.String(), "All 2 verdicts") {
		t.Errorf("truth table not on stderr:\n%s", demoErr.String())
	}
	if got := strings.Count(repOut.String(), "\n"); got != lines || !strings.Contains(repOut.String(), `"status":"open"`) {
		t.Errorf("gown report --from - wrote %d lines for %d results:\n%s", got, lines, repOut.String())
	}
}
