package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
)

// Table writes one aligned row per result as results arrive, then a summary.
// Columns have fixed widths so that rows can be printed before the scan ends.
type Table struct {
	w        io.Writer
	header   bool
	byStatus map[gown.Status]int
	findings map[gown.Severity]int
	items    uint64
	bytes    uint64
	rows     int
	subjects int // apps and addresses with standalone findings
	// sensitive and compromised count open stores holding sensitive
	// classes and stores with compromise signs.
	sensitive, compromised int
}

var _ gown.Reporter = (*Table)(nil)

// NewTable writes to w.
func NewTable(w io.Writer) *Table {
	return &Table{w: w, byStatus: map[gown.Status]int{}, findings: map[gown.Severity]int{}}
}

const rowFormat = "%-26s %-13s %-22s %-13s %-8s %9s %10s  %-20s %s\n"

// Report writes one row.
func (t *Table) Report(r *gown.Result) error { return t.ReportFindings(r, nil) }

// ReportFindings writes one row, then one line per finding below it. A nil
// result is standalone findings: a row names their subject (an app, an
// address), and each finding says where in the app it points.
func (t *Table) ReportFindings(r *gown.Result, fs []gown.Finding) error {
	if !t.header {
		t.header = true
		if _, err := fmt.Fprintf(t.w, rowFormat, "TARGET", "STORE", "PRODUCT", "STATUS", "TLS", "ITEMS", "BYTES", "DATA", "WHY"); err != nil {
			return err
		}
	}
	if r == nil {
		return t.standalone(fs)
	}
	t.rows++
	t.byStatus[r.Status]++
	items, bytes := "-", "-"
	if r.Inventory != nil {
		items, bytes = strconv.FormatUint(r.Inventory.Items, 10), HumanBytes(r.Inventory.Bytes)
		if r.Status == gown.StatusOpen {
			t.items += r.Inventory.Items
			t.bytes += r.Inventory.Bytes
		}
	}
	product := strings.TrimSpace(r.Product + " " + shortVersion(r.Version))
	tlsMode := string(r.TLS.Mode)
	if tlsMode == "" {
		tlsMode = "-"
	}
	why := text(r.Reason)
	if r.Error != "" && r.Status.Answered() && r.Status != gown.StatusUnknown {
		why += " (then: " + text(r.Error) + ")"
	}
	if sensitive(resultClasses(r, fs)) {
		t.sensitive++
	}
	if kinds, _ := compromiseKinds(r); len(kinds) > 0 {
		t.compromised++
	}
	_, err := fmt.Fprintf(t.w, rowFormat, clip(r.Target.Dial(), 26), clip(orDash(r.Store), 13), clip(orDash(product), 22),
		text(string(r.Status)), text(tlsMode), items, bytes, clip(dataCell(r, fs), 20), why)
	if err != nil {
		return err
	}
	if r.Inventory != nil {
		for _, db := range r.Inventory.Databases {
			if db.System {
				continue
			}
			line := fmt.Sprintf("%28s %-47s %9d %10s  %s", "└", clip(db.Name, 47), db.Items, HumanBytes(db.Bytes), text(dbClasses(r, db.Name)))
			if _, err := fmt.Fprintln(t.w, strings.TrimRight(line, " ")); err != nil {
				return err
			}
		}
	}
	return t.findingLines(fs)
}

// standalone writes a row for the subject of standalone findings, then the
// findings with their places in the app.
func (t *Table) standalone(fs []gown.Finding) error {
	if len(fs) == 0 {
		return nil
	}
	t.subjects++
	sub := fs[0].Target
	kind := "-"
	if sub.Origin == "app" {
		kind = "app"
	}
	if _, err := fmt.Fprintf(t.w, rowFormat, clip(subjectName(sub), 26), kind, "-", "-", "-", "-", "-", "-", subjectWhy(sub)); err != nil {
		return err
	}
	return t.findingLines(fs)
}

// findingLines writes one line per finding, and below an app finding where
// in the app it points.
func (t *Table) findingLines(fs []gown.Finding) error {
	for _, f := range fs {
		t.findings[f.Severity]++
		if _, err := fmt.Fprintf(t.w, "%28s %-8s %s\n", "!", strings.ToUpper(f.Severity.String()), text(f.Title)); err != nil {
			return err
		}
		if len(f.Locations) > 0 {
			if _, err := fmt.Fprintf(t.w, "%28s %-8s at %s\n", "", "", text(locationsText(f.Locations, 3))); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close writes the summary.
func (t *Table) Close() error {
	if t.rows == 0 && t.subjects == 0 {
		_, err := fmt.Fprintln(t.w, "no service answered")
		return err
	}
	if t.rows == 0 {
		return t.findingsLine("\n")
	}
	var parts []string
	for _, s := range []gown.Status{gown.StatusOpen, gown.StatusAuthRequired, gown.StatusRestricted, gown.StatusProtected,
		gown.StatusNotService, gown.StatusUnknown, gown.StatusClosed, gown.StatusFiltered, gown.StatusError} {
		if n := t.byStatus[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	_, err := fmt.Fprintf(t.w, "\n%d services: %s. Exposed without authentication: %d items, %s.\n",
		t.rows, strings.Join(parts, ", "), t.items, HumanBytes(t.bytes))
	if err != nil {
		return err
	}
	if t.sensitive > 0 || t.compromised > 0 {
		_, err = fmt.Fprintf(t.w, "Sensitive data in %d %s; already compromised: %d.\n", t.sensitive, plural(t.sensitive, "store", "stores"), t.compromised)
		if err != nil {
			return err
		}
	}
	return t.findingsLine("")
}

// findingsLine counts the findings by severity, after prefix.
func (t *Table) findingsLine(prefix string) error {
	if len(t.findings) == 0 {
		return nil
	}
	var parts []string
	for s := gown.SeverityCritical; s >= gown.SeverityInfo; s-- {
		if n := t.findings[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	_, err := fmt.Fprintf(t.w, "%sFindings: %s.\n", prefix, strings.Join(parts, ", "))
	return err
}

// HumanBytes renders a byte count in binary units: 1.5 MiB.
func HumanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func shortVersion(v string) string {
	if i := strings.IndexAny(v, "-+ "); i > 0 {
		return v[:i]
	}
	return v
}

// clip makes a cell of at most n characters: text is neutralised first
// (see text), then cut on a character boundary with an ellipsis.
func clip(s string, n int) string {
	s = text(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// text makes server- or app-chosen text safe for a terminal: control and
// escape characters, C1 controls, bidi overrides and invalid UTF-8 become
// visible escapes (redact.Escape). Results of a live scan were cleaned (and
// their secrets masked) by the engine's text pass already; results read
// back from a file or an older store may not have been.
func text(s string) string { return redact.Escape(s) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Begin starts a report. The table prints its header with the first row, as
// in a live scan.
func (t *Table) Begin(ScanMeta) error { return nil }

// Add writes one row, as ReportFindings does.
func (t *Table) Add(r *gown.Result, fs []gown.Finding) error { return t.ReportFindings(r, fs) }

// End writes the summary, as Close does.
func (t *Table) End() error { return t.Close() }

// subjectWhy says what standalone findings are drawn from.
func subjectWhy(t gown.Target) string {
	if t.Origin == "app" {
		return "the app's own code and settings"
	}
	return "all its services in this scan"
}
