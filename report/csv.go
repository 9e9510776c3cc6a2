package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
)

// CSVColumns are the columns of the CSV report, in order; docs/output.md
// describes each. New columns are appended, never inserted.
var CSVColumns = []string{
	"scan", "finding_id", "severity", "rule", "title",
	"host", "ip", "port", "store", "product", "version",
	"status", "tls", "items", "bytes", "reason", "origin",
	"classes", "signs", "locations", "path",
}

// CSV writes one row per finding, for spreadsheets. It streams: each row is
// written as its result arrives. Results without findings give no row.
type CSV struct {
	w    *csv.Writer
	scan string
}

// NewCSV writes to w.
func NewCSV(w io.Writer) *CSV { return &CSV{w: csv.NewWriter(w)} }

// Begin writes the header row.
func (c *CSV) Begin(meta ScanMeta) error {
	c.scan = meta.ID
	return c.w.Write(CSVColumns)
}

// Add writes one row per finding. Standalone findings (a nil result) take
// their host, port and origin from the finding's subject, and name where in
// the app they point.
func (c *CSV) Add(r *gown.Result, fs []gown.Finding) error {
	if r == nil {
		r = subject(fs)
	}
	for _, f := range fs {
		ip := ""
		if r.Target.Addr.IsValid() {
			ip = r.Target.Addr.String()
		}
		rec := []string{
			c.scan, f.ID, f.Severity.String(), f.Rule, f.Title,
			r.Target.Host, ip, strconv.Itoa(r.Target.Port), r.Store, r.Product, r.Version,
			string(r.Status), string(r.TLS.Mode),
			strconv.FormatUint(f.Items, 10), strconv.FormatUint(f.Bytes, 10), r.Reason, r.Target.Origin,
			strings.Join(f.Classes, " "), signsText(r), locationsText(f.Locations, len(f.Locations)),
			r.Target.Path,
		}
		for i := range rec {
			rec[i] = cell(rec[i])
		}
		if err := c.w.Write(rec); err != nil {
			return err
		}
	}
	// Flush per result, like JSONL: an interrupted report keeps whole rows.
	c.w.Flush()
	return c.w.Error()
}

// End flushes.
func (c *CSV) End() error {
	c.w.Flush()
	return c.w.Error()
}

// cell defuses spreadsheet formulas. Product, version, reason and title come
// from the scanned server, which may be hostile: a cell starting with = + - @
// (or a tab or carriage return) would run as a formula when the file is
// opened, so it gets a leading apostrophe, as OWASP's CSV-injection advice
// says. Our own numbers never start with those.
func cell(s string) string {
	// Control and escape characters, C1 and bidi controls and invalid
	// UTF-8 are made visible first: a CSV is also read in a terminal.
	s = text(s)
	if s == "" {
		return s
	}
	if strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
