// Package report writes a scan's results in the formats people read: a table
// for a terminal, JSON Lines for machines, SARIF for code-scanning dashboards,
// HTML for a security lead, CSV for spreadsheets and Markdown for tickets.
//
// Every format implements Writer. Writers stream where the format allows: the
// table, JSONL, CSV and SARIF hold one result at a time plus counters. HTML
// and Markdown put a summary above their findings table, so they keep the
// summary counters and at most MaxRows table rows, the most severe first.
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

// Writer turns one scan into one report. Begin is called once, then Add once
// per result in the order the results store walks them (host, port, store),
// then End, which flushes. A Writer is not safe for concurrent use.
type Writer interface {
	Begin(meta ScanMeta) error
	// Add takes one result and the findings drawn from it; fs may be empty.
	// The writer may keep neither past the call.
	Add(r *gown.Result, fs []gown.Finding) error
	End() error
}

// ScanMeta describes the scan a report is about. Zero fields are left out of
// the report rather than printed as zero.
type ScanMeta struct {
	// ID names the scan: its id in the results store, or the file the results
	// were read from.
	ID       string
	Started  time.Time
	Finished time.Time
	// Command is the command line that ran the scan, when known.
	Command string
	// Version is gown's version.
	Version string
}

// Tool names and locates gown in reports that ask for it (SARIF).
const (
	ToolName = "gown"
	// ToolURI is where gown's documentation lives; it is printed as text in
	// HTML, never fetched.
	ToolURI = "https://github.com/gownscan/gown"
)

// constructors maps a --format name to its writer.
var constructors = map[string]func(io.Writer) Writer{
	"table": func(w io.Writer) Writer { return NewTable(w) },
	"jsonl": func(w io.Writer) Writer { return NewJSONL(w) },
	"sarif": func(w io.Writer) Writer { return NewSARIF(w) },
	"html":  func(w io.Writer) Writer { return NewHTML(w) },
	"csv":   func(w io.Writer) Writer { return NewCSV(w) },
	"md":    func(w io.Writer) Writer { return NewMarkdown(w) },
}

// Formats lists the names New accepts, sorted.
func Formats() []string {
	names := make([]string, 0, len(constructors))
	for n := range constructors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New returns the writer for a format name (see Formats) writing to w.
func New(format string, w io.Writer) (Writer, error) {
	c, ok := constructors[strings.ToLower(format)]
	if !ok {
		return nil, fmt.Errorf("unknown report format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	return c(w), nil
}

// Interface guards: the table and JSONL writers serve both the live scan
// (gown.Reporter) and whole-scan reports (Writer).
var (
	_ Writer = (*Table)(nil)
	_ Writer = (*JSONL)(nil)
	_ Writer = (*SARIF)(nil)
	_ Writer = (*HTML)(nil)
	_ Writer = (*CSV)(nil)
	_ Writer = (*Markdown)(nil)
)
