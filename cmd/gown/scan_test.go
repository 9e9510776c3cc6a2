package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/report"
)

// TestScanJSONAgainstTestBed runs the CLI as a user would:
// gown scan 127.0.0.1 --ports P1,P2 --json, against real servers.
func TestScanJSONAgainstTestBed(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "mariadb-open", "redis-password")
	ro, mo, rp := bed.Get("redis-open"), bed.Get("mariadb-open"), bed.Get("redis-password")
	ports := fmt.Sprintf("%d,%d,%d", ro.Addr.Port(), mo.Addr.Port(), rp.Addr.Port())
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"scan", "127.0.0.1", "--ports", ports, "--json", "--source", testbed.Source.String()}, nil, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d; stderr %s", code, errb.String())
	}
	t.Logf("gown scan 127.0.0.1 --ports %s --json:\n%s", ports, out.String())

	byPort := map[int]report.Line{}
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l report.Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line is not JSON: %v: %s", err, sc.Text())
		}
		byPort[l.Target.Port] = l
	}
	if len(byPort) != 3 {
		t.Fatalf("%d result lines, want 3", len(byPort))
	}
	for _, s := range []*testbed.Server{ro, mo, rp} {
		l := byPort[int(s.Addr.Port())]
		if l.Result == nil || l.Status != s.Want.Status {
			t.Errorf("%s: line %+v, want status %s", s.Name, l.Result, s.Want.Status)
			continue
		}
		if s.Want.Status == "open" && (l.Inventory == nil || l.Inventory.Items != s.Want.Items || l.Inventory.Bytes == 0) {
			t.Errorf("%s: inventory %+v, planted %d items", s.Name, l.Inventory, s.Want.Items)
		}
		if s.Want.Status != "open" {
			continue
		}
		rules := map[string]string{}
		for _, f := range l.Findings {
			rules[f.Rule] = f.Severity.String()
		}
		if rules["open-store"] != "high" {
			t.Errorf("%s: findings %v, want open-store high", s.Name, rules)
		}
		// The corpus planted there holds personal data and a ransom note.
		if len(s.Want.Classes) > 0 && (rules["sensitive-data"] != "critical" || rules["compromised"] != "critical") {
			t.Errorf("%s: findings %v, want sensitive-data and compromised, critical", s.Name, rules)
		}
	}
}

// TestScanFailOnAndTable checks the table output and the --fail-on exit
// codes of gown scan against real servers, then of gown report on the same
// scans read back from the store: 0 when no finding reaches the level, 3
// when one does. The codes are logged.
func TestScanFailOnAndTable(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "redis-password")
	open, pass := bed.Get("redis-open").Addr.String(), bed.Get("redis-password").Addr.String()
	cases := []struct {
		failOn string
		specs  []string
		want   int
		// Without sampling redis-open shows no data classes and no signs:
		// its worst finding is open-store, high.
		noSample bool
	}{
		{"critical", []string{open, pass}, exitFindings, false},
		{"critical", []string{open, pass}, exitOK, true},
		{"high", []string{open, pass}, exitFindings, true},
		{"low", []string{open, pass}, exitFindings, true},
		// redis-password alone: one low finding (auth without TLS).
		{"medium", []string{pass}, exitOK, true},
		{"low", []string{pass}, exitFindings, true},
		{"", []string{open, pass}, exitOK, false}, // no gate: findings never fail the run
	}
	for i, c := range cases {
		var out, errb bytes.Buffer
		db := filepath.Join(t.TempDir(), fmt.Sprintf("f%d.db", i))
		args := append([]string{"scan", "--db", db, "--source", testbed.Source.String(), "--no-sample=" + fmt.Sprint(c.noSample)}, c.specs...)
		if c.failOn != "" {
			args = append(args, "--fail-on", c.failOn)
		}
		code := run(t.Context(), args, nil, &out, &errb)
		t.Logf("gown scan (%d targets, no-sample %v) --fail-on %q → exit %d", len(c.specs), c.noSample, c.failOn, code)
		if code != c.want {
			t.Errorf("--fail-on %q (no-sample %v): exit %d, want %d; stderr %s", c.failOn, c.noSample, code, c.want, errb.String())
		}
		if len(c.specs) == 2 && (!strings.Contains(out.String(), "open") || !strings.Contains(out.String(), "auth-required")) {
			t.Errorf("table lacks the verdicts:\n%s", out.String())
		}
		if c.want == exitFindings && !strings.Contains(errb.String(), "at or above the --fail-on level") {
			t.Errorf("exit 3 without saying why: %q", errb.String())
		}
		if c.failOn == "" {
			continue
		}
		// The same gate on the stored scan gives the same code.
		out.Reset()
		errb.Reset()
		code = run(t.Context(), []string{"report", "--db", db, "--format", "csv", "--fail-on", c.failOn}, nil, &out, &errb)
		t.Logf("gown report (that scan, from the store) --fail-on %s → exit %d", c.failOn, code)
		if code != c.want {
			t.Errorf("report --fail-on %s: exit %d, want %d; stderr %s", c.failOn, code, c.want, errb.String())
		}
	}
}

func TestScanUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"scan"},
		{"scan", "127.0.0.1", "--ports", "0"},
		{"scan", "127.0.0.1", "--fail-on", "severe"},
		{"scan", "127.0.0.1", "--probers", "nosuch"},
		{"nosuch"},
	} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), args, nil, &out, &errb); code != exitUsage {
			t.Errorf("%q: exit %d, want %d (stderr %s)", args, code, exitUsage, errb.String())
		}
	}
}

func TestScanStdinListAndClosedPorts(t *testing.T) {
	bed := testbed.Require(t, "redis-open")
	in := strings.NewReader("# targets\n" + bed.Get("redis-open").Addr.String() + "\n127.0.0.1:1\n")
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"scan", "-l", "-", "--json", "--all"}, in, &out, &errb)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Fatalf("%d lines, want 2 (open redis and closed port 1):\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), `"status":"closed"`) {
		t.Errorf("closed port not reported with --all:\n%s", out.String())
	}
}
