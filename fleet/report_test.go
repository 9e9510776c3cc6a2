package fleet

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// hostileReport is a fleet report whose server- and inventory-chosen text
// tries markup, terminal escapes, formulas and a secret.
func hostileReport() gown.FleetReport {
	crit, low := gown.SeverityCritical, gown.SeverityLow
	since := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	f := gown.FleetFinding{ID: "abc123", Severity: crit, Rule: "open-store", Title: "<script>alert(1)</script> holds 9 items at mysql://root:Winter2024-hr@db",
		Store: "redis", Items: 9, FirstSeen: 3, Since: since}
	rep := gown.FleetReport{Scan: gown.ScanMeta{ID: 7, Started: since, State: gown.ScanDone}}
	rep.Summary = gown.FleetSummary{Devices: 2, DevicesExposed: 1, Owners: 2, OwnersExposed: 1, Versions: 2, Checked: 1, NotChecked: 1, Backends: 1, Exposed: 1}
	rep.Summary.BySeverity[crit] = 1
	rep.Backends = []gown.FleetBackend{{Host: "cache.acme-fleet.net", Port: 6379, Store: "redis", Product: "Redis\x1b[31m", Status: gown.StatusOpen,
		Worst: &crit, Findings: []gown.FleetFinding{f}, Apps: []string{"com.acme.x 1.0"}, Devices: 1, Owners: 1}}
	rep.Apps = []gown.FleetAppExposure{{Platform: "android", AppID: "com.acme.x", Version: "1.0", State: gown.CheckScanned, SHA256: "ff", Backends: 1,
		Worst: &crit, Findings: []gown.FleetFinding{f}, Devices: 1},
		{Platform: "ios", AppID: "=HYPERLINK(\"http://x\")", Version: "2", State: gown.CheckNoBinary, Reason: "no binary given", Devices: 1}}
	rep.Devices = []gown.FleetDeviceRow{{Source: "generic", MDMID: "dev-1", Platform: "android", Model: "<b>Pixel</b>", Owner: "a***@a***.net",
		Apps: 1, ExposedApps: 1, Worst: &crit, Findings: 1, Since: since},
		{Source: "generic", MDMID: "+dev-2", Platform: "ios", Apps: 1, NotChecked: 1, Worst: &low}}
	return rep
}

// TestReportFormats writes the hostile report in every format and view:
// markup and escapes stay text, formulas are defused, the secret is
// masked, the HTML's one style block is the one its CSP allows.
func TestReportFormats(t *testing.T) {
	rep := hostileReport()
	for _, format := range ReportFormats {
		for _, view := range Views {
			var b bytes.Buffer
			if err := WriteReport(&b, format, view, rep); err != nil {
				t.Fatalf("%s %s: %v", format, view, err)
			}
			out := b.String()
			// Terminal escapes never; markup only where it is markup;
			// the secret wherever gown writes text for people (JSON is
			// the stored data, redacted when it was stored).
			bad := []string{"\x1b[31m"}
			if format == "html" {
				bad = append(bad, "<script>alert", "<b>Pixel")
			}
			if format != "json" {
				bad = append(bad, "Winter2024-hr")
			}
			for _, bad := range bad {
				if strings.Contains(out, bad) {
					t.Errorf("%s %s: holds %q raw", format, view, bad)
				}
			}
			switch format {
			case "json":
				var back gown.FleetReport
				if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Summary != rep.Summary {
					t.Errorf("json: %v %+v", err, back.Summary)
				}
			case "csv":
				rows, err := csv.NewReader(&b).ReadAll()
				if err != nil || len(rows) < 2 {
					t.Fatalf("csv %s: %v %q", view, err, rows)
				}
				for _, r := range rows[1:] {
					for _, c := range r {
						if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
							t.Errorf("csv %s: a cell a spreadsheet would run: %q", view, c)
						}
					}
				}
			case "html":
				i, j := strings.Index(out, "<style>"), strings.Index(out, "</style>")
				sum := sha256.Sum256([]byte(out[i+len("<style>") : j]))
				if !strings.Contains(html.UnescapeString(out), "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") || strings.Contains(out, "<script") {
					t.Errorf("html %s: the style block is not the one the CSP allows, or a script is there", view)
				}
			case "table":
				if view == "all" && !strings.Contains(out, "1 of 2 devices exposed (1 of 2 owners)") {
					t.Errorf("table: no headline:\n%s", out)
				}
			}
		}
	}
	if Gated(rep, gown.SeverityHigh) != 1 || Gated(rep, gown.SeverityLow) != 1 {
		t.Error("Gated counts the wrong findings")
	}
	if err := WriteReport(&bytes.Buffer{}, "pdf", "", rep); err == nil {
		t.Error("an unknown format was written")
	}
}
