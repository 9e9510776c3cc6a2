package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenJSONL is the report package's fixture scan as gown scan --json writes
// it: the input a user would give to gown report --from.
var goldenJSONL = filepath.Join("..", "..", "report", "testdata", "golden", "report.jsonl")

func reportCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cmdReport(t.Context(), args, stdio{out: &out, err: &errb})
	return out.String(), err
}

// TestReportFromJSONL writes every format from a scan's JSON Lines.
func TestReportFromJSONL(t *testing.T) {
	want, err := os.ReadFile(goldenJSONL)
	if err != nil {
		t.Fatal(err)
	}
	// JSONL in, JSONL out: the report is the live stream, byte for byte.
	got, err := reportCmd(t, "--from", goldenJSONL, "--format", "jsonl")
	if err != nil || got != string(want) {
		t.Fatalf("jsonl round trip differs (err %v)", err)
	}

	dir := t.TempDir()
	sarifPath := filepath.Join(dir, "gown.sarif")
	if _, err := reportCmd(t, "--from", goldenJSONL, "--format", "sarif", "-o", sarifPath); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Runs []struct {
			Results     []json.RawMessage `json:"results"`
			Invocations []struct {
				Start string `json:"startTimeUtc"`
				End   string `json:"endTimeUtc"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	b, _ := os.ReadFile(sarifPath)
	if err := json.Unmarshal(b, &log); err != nil || len(log.Runs) != 1 {
		t.Fatalf("SARIF file: %v\n%s", err, b)
	}
	nFindings := strings.Count(string(want), `"rule":`)
	if n := len(log.Runs[0].Results); n != nFindings || n == 0 {
		t.Errorf("%d SARIF results, want the fixture's %d findings", n, nFindings)
	}
	if inv := log.Runs[0].Invocations[0]; inv.Start != "2026-03-14T09:26:53Z" || inv.End == "" {
		t.Errorf("scan times from the file: %+v", inv)
	}

	got, err = reportCmd(t, "--from", goldenJSONL, "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(got)).ReadAll()
	if err != nil || len(recs) != nFindings+1 || recs[1][0] != "report.jsonl" {
		t.Errorf("csv: %v, %d records, first %v", err, len(recs), recs)
	}
	for _, f := range []string{"html", "md", "table"} {
		if got, err := reportCmd(t, "--from", goldenJSONL, "--format", f); err != nil || !strings.Contains(got, "Elasticsearch") {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestReportUsage covers the errors a user can make.
func TestReportUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--from", goldenJSONL, "--format", "pdf"},
		{"seven", "--db", filepath.Join(t.TempDir(), "gown-report-usage.db")},
		{"7", "--from", goldenJSONL},
	} {
		_, err := reportCmd(t, args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte("{\"status\":\"open\"}\nnot json\n"), 0o644)
	out := filepath.Join(t.TempDir(), "r.html")
	if _, err := reportCmd(t, "--from", bad, "--format", "html", "-o", out); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad line: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("a failed report left its output file behind")
	}
}

// TestReportStdin reads results from standard input.
func TestReportStdin(t *testing.T) {
	in, _ := os.ReadFile(goldenJSONL)
	var out bytes.Buffer
	err := cmdReport(t.Context(), []string{"--from", "-", "--format", "md"}, stdio{in: bytes.NewReader(in), out: &out, err: &bytes.Buffer{}})
	if err != nil || !strings.Contains(out.String(), "# gown report: scan stdin") {
		t.Errorf("%v\n%s", err, out.String())
	}
}

// TestReportFromStore scans a real server into a fresh SQLite store, then
// reports that scan from the store as SARIF and Markdown.
func TestReportFromStore(t *testing.T) {
	bed := testbed.Require(t, "redis-open")
	want := fmt.Sprintf("Redis answers without authentication and holds %d items", bed.Get("redis-open").Want.Items)
	db := filepath.Join(t.TempDir(), "gown.db")
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"scan", bed.Get("redis-open").Addr.String(), "--db", db, "--source", testbed.Source.String()}, nil, &out, &errb); code != exitOK {
		t.Fatalf("scan exit %d: %s", code, errb.String())
	}
	for _, f := range []string{"sarif", "md"} {
		out.Reset()
		errb.Reset()
		if code := run(t.Context(), []string{"report", "--db", db, "--format", f}, nil, &out, &errb); code != exitOK {
			t.Fatalf("report %s exit %d: %s", f, code, errb.String())
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("report %s from the store lacks the open Redis finding:\n%s", f, out.String())
		}
	}
	out.Reset()
	if code := run(t.Context(), []string{"report", "1", "--db", db, "--format", "csv"}, nil, &out, &errb); code != exitOK || !strings.Contains(out.String(), "open-store") {
		t.Errorf("report 1: exit %d, %s", code, out.String())
	}
}

// TestReportFailOn gates on stored results as gown scan gates on live ones:
// for each level, exit 3 when the fixture holds a finding at or above it, 0
// when not, 2 for a level that does not exist. The report is written either
// way.
func TestReportFailOn(t *testing.T) {
	b, err := os.ReadFile(goldenJSONL)
	if err != nil {
		t.Fatal(err)
	}
	top := gown.SeverityInfo
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var l struct{ Findings []gown.Finding }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		for _, f := range l.Findings {
			top = max(top, f.Severity)
		}
	}
	for _, level := range []string{"info", "low", "medium", "high", "critical", "severe"} {
		want := exitUsage
		if sev, err := gown.ParseSeverity(level); err == nil {
			want = exitOK
			if sev <= top {
				want = exitFindings
			}
		}
		var out, errb bytes.Buffer
		code := run(t.Context(), []string{"report", "--from", goldenJSONL, "--format", "csv", "--fail-on", level}, nil, &out, &errb)
		t.Logf("gown report --from report.jsonl --fail-on %s → exit %d (highest finding: %s)", level, code, top)
		if code != want {
			t.Errorf("--fail-on %s: exit %d, want %d (stderr %s)", level, code, want, errb.String())
		}
		if want != exitUsage && !strings.Contains(out.String(), "severity") {
			t.Errorf("--fail-on %s: no report written:\n%s", level, out.String())
		}
	}
}
