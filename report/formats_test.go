package report_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"regexp"
	"strings"
	"testing"

	"github.com/gownscan/gown/assess"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/report"
)

func TestNew(t *testing.T) {
	for _, f := range report.Formats() {
		if w, err := report.New(f, &bytes.Buffer{}); err != nil || w == nil {
			t.Errorf("New(%q): %v", f, err)
		}
	}
	if _, err := report.New("pdf", &bytes.Buffer{}); err == nil {
		t.Error("New(pdf) gave no error")
	}
}

// TestRulesCoverAssess makes sure every rule assess emits has its texts here.
func TestRulesCoverAssess(t *testing.T) {
	seen := map[string]bool{}
	fs := append(assess.AppFindings(fixtureApp()), fixtureTraffic().Findings()...)
	for _, e := range fixture() {
		fs = append(fs, assess.Findings(e.r)...)
	}
	for _, f := range fs {
		seen[f.Rule] = true
		if _, _, ok := report.RuleByID(f.Rule); !ok {
			t.Errorf("rule %q from assess is missing from report.Rules", f.Rule)
		}
	}
	for _, r := range assess.Rules {
		if rr, _, ok := report.RuleByID(r.ID); !ok || rr.Severity != r.Severity {
			t.Errorf("assess rule %s (%s) has no text in report.Rules or another severity", r.ID, r.Severity)
		}
	}
	for _, r := range report.Rules {
		if !seen[r.ID] {
			t.Errorf("fixture exercises no finding of rule %q: add a result that does", r.ID)
		}
		if r.Short == "" || r.Full == "" || r.Remediation == "" || r.Name == "" {
			t.Errorf("rule %q lacks a text", r.ID)
		}
	}
}

// TestJSONLIsLiveStream checks that the JSONL report is, line for line, what
// gown scan --json writes for the same results.
func TestJSONLIsLiveStream(t *testing.T) {
	var live bytes.Buffer
	j := report.NewJSONL(&live)
	for _, e := range fixture() {
		if err := j.ReportFindings(e.r, e.fs); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	got := render(t, "jsonl", fixtureMeta(), fixture())
	if !bytes.Equal(got, live.Bytes()) {
		t.Fatalf("report JSONL differs from the live stream")
	}
	sc := bufio.NewScanner(bytes.NewReader(got))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		l, err := report.DecodeLine(sc.Bytes())
		if err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if e := fixture()[n]; (l.Result == nil) != (e.r == nil) || len(l.Findings) != len(e.fs) {
			t.Errorf("line %d: result %v with %d findings, want result %v with %d", n+1, l.Result != nil, len(l.Findings), e.r != nil, len(e.fs))
		}
		n++
	}
	if n != len(fixture()) {
		t.Errorf("%d lines, want %d", n, len(fixture()))
	}
}

// TestCSV reads the report back: the documented header, one row per finding,
// and server text that would run as a formula defused.
func TestCSV(t *testing.T) {
	recs, err := csv.NewReader(bytes.NewReader(render(t, "csv", fixtureMeta(), fixture()))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != strings.Join(report.CSVColumns, ",") {
		t.Errorf("header %v", recs[0])
	}
	n := 0
	for _, e := range fixture() {
		n += len(e.fs)
	}
	if len(recs)-1 != n {
		t.Errorf("%d rows, want %d findings", len(recs)-1, n)
	}
	defused := false
	for _, rec := range recs[1:] {
		for _, c := range rec {
			if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				t.Errorf("cell %q would run as a spreadsheet formula", c)
			}
			defused = defused || strings.HasPrefix(c, "'=")
		}
	}
	if !defused {
		t.Error("the fixture's hostile version did not reach the CSV")
	}
}

// TestMarkdownInert checks that server text cannot break the table or add
// markup: every findings row has exactly as many unescaped pipes as columns
// need, and no raw tag or link survives.
func TestMarkdownInert(t *testing.T) {
	md := string(render(t, "md", fixtureMeta(), fixture()))
	unescapedPipe := regexp.MustCompile(`(^|[^\\])\|`)
	inFindings := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "## Findings") {
			inFindings = true
		}
		if inFindings && strings.HasPrefix(line, "| ") {
			if n := len(unescapedPipe.FindAllString(line, -1)); n != 10 {
				t.Errorf("row has %d cell separators, want 10: %s", n, line)
			}
		}
	}
	// A markup character is live unless a backslash escapes it.
	for _, bad := range []string{`<script`, `<img`, `\]\(https://`} {
		if m := regexp.MustCompile(`(^|[^\\])` + bad).FindString(md); m != "" {
			t.Errorf("Markdown holds live %q", m)
		}
	}
	if !strings.Contains(md, `\<script\>`) {
		t.Error("the fixture's hostile reason did not reach the Markdown")
	}
}

// TestNoSecretInAnyFormat renders the fixture scan, whose stores were
// sampled from the test bed's planted people and ransom note, in every
// format and checks that no planted secret and not the note's contact
// address comes out whole, while the masked forms do.
func TestNoSecretInAnyFormat(t *testing.T) {
	for _, format := range report.Formats() {
		out := string(render(t, format, fixtureMeta(), fixture()))
		for _, s := range append(testbed.Secrets(), testbed.RansomContact) {
			if strings.Contains(out, s) {
				t.Errorf("%s report holds %q", format, s)
			}
		}
		for _, want := range []string{"payment-card", "redis-cron"} {
			if format != "table" && !strings.Contains(out, want) {
				t.Errorf("%s report lacks %q", format, want)
			}
		}
	}
}
