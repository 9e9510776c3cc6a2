package fleet

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
)

// Report formats and views of gown fleet report.
var (
	ReportFormats = []string{"table", "html", "csv", "json"}
	// Views are the three ways into a fleet's exposure; "all" is every one
	// (CSV, one table per file, takes one view).
	Views = []string{"all", "backends", "apps", "devices"}
)

// WriteReport writes rep in format; view limits the table, HTML and CSV to
// one view ("" means all, or devices for CSV). Server-chosen text (titles,
// products) is escaped for the format and redacted; owners are masked in
// the report already.
func WriteReport(w io.Writer, format, view string, rep gown.FleetReport) error {
	if view == "" {
		view = "all"
	}
	if !contains(Views, view) {
		return fmt.Errorf("--view %q: want one of %s", view, strings.Join(Views, ", "))
	}
	switch format {
	case "table":
		return writeTable(w, view, rep)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "csv":
		if view == "all" {
			view = "devices"
		}
		return writeCSV(w, view, rep)
	case "html":
		return writeHTML(w, view, rep)
	}
	return fmt.Errorf("--format %q: want one of %s", format, strings.Join(ReportFormats, ", "))
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Gated counts the distinct findings of rep at or above sev: --fail-on.
func Gated(rep gown.FleetReport, sev gown.Severity) int {
	n := 0
	for s := sev; s <= gown.SeverityCritical; s++ {
		n += int(rep.Summary.BySeverity[s])
	}
	return n
}

// text makes server-chosen text (titles, products, store names) safe for a
// terminal or a cell: masked, one line, capped.
func text(s string, max int) string {
	return redact.Text(strings.Join(strings.Fields(s), " "), max)
}

// esc makes the inventory's own values (device and app ids, versions,
// models, masked owners) safe to print: one line, control characters
// shown as escapes, capped; nothing is masked, as nothing there is a
// secret (owners were masked before they were stored).
func esc(s string, max int) string {
	s = redact.Escape(strings.Join(strings.Fields(s), " "))
	if r := []rune(s); max > 0 && len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}

func worst(p *gown.Severity) string {
	if p == nil {
		return "-"
	}
	return strings.ToUpper(p.String())
}

// since says when the oldest finding was first seen: the date of the scan
// that first saw it.
func since(fs []gown.FleetFinding) string {
	var t time.Time
	var id gown.ScanID
	for _, f := range fs {
		if id == 0 || f.FirstSeen < id {
			id, t = f.FirstSeen, f.Since
		}
	}
	return sinceOf(t, id)
}

func sinceOf(t time.Time, id gown.ScanID) string {
	switch {
	case id == 0 && t.IsZero():
		return "-"
	case t.IsZero():
		return fmt.Sprintf("scan %d", id)
	case id == 0:
		return t.UTC().Format("2006-01-02 15:04")
	}
	return t.UTC().Format("2006-01-02 15:04") + fmt.Sprintf(" (scan %d)", id)
}

// Headline says the report in one sentence.
func Headline(rep gown.FleetReport) string {
	s := rep.Summary
	return fmt.Sprintf("%d of %d devices exposed (%d of %d owners) through %d of %d back ends; %d of %d app versions checked, %d not",
		s.DevicesExposed, s.Devices, s.OwnersExposed, s.Owners, s.Exposed, s.Backends, s.Checked, s.Versions, s.NotChecked)
}

func severityLine(s gown.FleetSummary) string {
	var parts []string
	for sev := gown.SeverityCritical; sev >= gown.SeverityInfo; sev-- {
		parts = append(parts, fmt.Sprintf("%d %s", s.BySeverity[sev], sev))
	}
	return strings.Join(parts, ", ")
}

func writeTable(w io.Writer, view string, rep gown.FleetReport) error {
	fmt.Fprintf(w, "fleet scan %d (%s, %s): %s\nfindings: %s\n", rep.Scan.ID, rep.Scan.Started.UTC().Format("2006-01-02 15:04"),
		rep.Scan.State, Headline(rep), severityLine(rep.Summary))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if view == "all" || view == "backends" {
		fmt.Fprintln(tw, "\nBACK END\tSTORE\tSTATUS\tWORST\tFINDINGS\tDEVICES\tOWNERS\tSINCE\tAPPS")
		for _, b := range rep.Backends {
			fmt.Fprintf(tw, "%s:%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", esc(b.Host, 80), b.Port, text(b.Store, 20), b.Status, worst(b.Worst),
				len(b.Findings), b.Devices, b.Owners, since(b.Findings), esc(strings.Join(b.Apps, ", "), 120))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(rep.Backends) == 0 {
			fmt.Fprintln(w, "(no back end of a checked app answered)")
		}
		// What each back end exposes, under the table so that long titles
		// do not widen its columns.
		for _, b := range rep.Backends {
			if len(b.Findings) == 0 {
				continue
			}
			fmt.Fprintf(w, "\n%s:%d\n", esc(b.Host, 80), b.Port)
			for _, f := range b.Findings {
				fmt.Fprintf(w, "  %-8s %-15s %s (first seen %s)\n", strings.ToUpper(f.Severity.String()), text(f.Rule, 40), text(f.Title, 160),
					sinceOf(f.Since, f.FirstSeen))
			}
		}
	}
	if view == "all" || view == "apps" {
		fmt.Fprintln(tw, "\nAPP\tVERSION\tPLATFORM\tCHECK\tHOSTS\tWORST\tFINDINGS\tDEVICES\tSINCE")
		for _, a := range rep.Apps {
			state := a.State
			if a.Reason != "" {
				state += " (" + text(a.Reason, 60) + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\t%s\n", esc(a.AppID, 80), esc(a.Version, 40), a.Platform, state, a.Backends,
				worst(a.Worst), len(a.Findings), a.Devices, since(a.Findings))
		}
	}
	if view == "all" || view == "devices" {
		fmt.Fprintln(tw, "\nDEVICE\tSOURCE\tPLATFORM\tMODEL\tOWNER\tAPPS\tEXPOSED\tUNCHECKED\tWORST\tFINDINGS\tSINCE")
		for _, d := range rep.Devices {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%d\t%s\n", esc(d.MDMID, 60), d.Source, d.Platform, esc(d.Model, 40),
				ownerCell(d.Owner), d.Apps, d.ExposedApps, d.NotChecked, worst(d.Worst), d.Findings, sinceOf(d.Since, 0))
		}
	}
	return tw.Flush()
}

func ownerCell(masked string) string {
	if masked == "" {
		return "-"
	}
	return esc(masked, 60)
}

// CSV columns per view; new columns are only ever appended.
var csvHeaders = map[string][]string{
	"backends": {"host", "port", "store", "product", "status", "worst", "findings", "finding_ids", "devices", "owners", "first_seen", "apps"},
	"apps":     {"platform", "app_id", "name", "version", "state", "reason", "sha256", "hosts", "worst", "findings", "finding_ids", "devices", "first_seen"},
	"devices":  {"source", "device_id", "platform", "model", "os_version", "owner", "apps", "exposed_apps", "not_checked", "worst", "findings", "first_seen"},
}

func writeCSV(w io.Writer, view string, rep gown.FleetReport) error {
	cw := csv.NewWriter(w)
	cw.Write(csvHeaders[view])
	guard := func(s string) string {
		// A cell a spreadsheet would run as a formula gets a leading quote,
		// as gown report's CSV does.
		if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
			return "'" + s
		}
		return s
	}
	cell := func(s string) string { return guard(text(s, 0)) } // server-chosen
	own := func(s string) string { return guard(esc(s, 0)) }   // the inventory's
	ids := func(fs []gown.FleetFinding) string {
		var out []string
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return strings.Join(out, " ")
	}
	sev := func(p *gown.Severity) string {
		if p == nil {
			return ""
		}
		return p.String()
	}
	first := func(fs []gown.FleetFinding) string {
		if s := since(fs); s != "-" {
			return s
		}
		return ""
	}
	switch view {
	case "backends":
		for _, b := range rep.Backends {
			cw.Write([]string{own(b.Host), fmt.Sprint(b.Port), cell(b.Store), cell(b.Product), string(b.Status), sev(b.Worst),
				fmt.Sprint(len(b.Findings)), ids(b.Findings), fmt.Sprint(b.Devices), fmt.Sprint(b.Owners), first(b.Findings), own(strings.Join(b.Apps, "; "))})
		}
	case "apps":
		for _, a := range rep.Apps {
			cw.Write([]string{string(a.Platform), own(a.AppID), own(a.Name), own(a.Version), a.State, own(a.Reason), a.SHA256,
				fmt.Sprint(a.Backends), sev(a.Worst), fmt.Sprint(len(a.Findings)), ids(a.Findings), fmt.Sprint(a.Devices), first(a.Findings)})
		}
	case "devices":
		for _, d := range rep.Devices {
			s := ""
			if !d.Since.IsZero() {
				s = d.Since.UTC().Format(time.RFC3339)
			}
			cw.Write([]string{d.Source, own(d.MDMID), string(d.Platform), own(d.Model), own(d.OSVersion), own(d.Owner), fmt.Sprint(d.Apps),
				fmt.Sprint(d.ExposedApps), fmt.Sprint(d.NotChecked), sev(d.Worst), fmt.Sprint(d.Findings), s})
		}
	}
	cw.Flush()
	return cw.Error()
}

//go:embed report.tmpl
var reportTmpl string

//go:embed report.css
var reportCSS string

// htmlPage is parsed on first use, not at start: every gown command would
// pay for it (0.1-0.5 ms of start-up, GODEBUG=inittrace=1), and only the
// fleet report's HTML needs it.
var htmlPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("fleet").Funcs(template.FuncMap{
		"worst": worst, "since": since, "sinceOf": sinceOf, "text": func(s string) string { return text(s, 200) }, "esc": func(s string) string { return esc(s, 200) },
		"upper": strings.ToUpper, "owner": ownerCell, "lower": strings.ToLower,
		"sevclass": func(p *gown.Severity) string {
			if p == nil {
				return "none"
			}
			return p.String()
		},
	}).Parse(reportTmpl))
})

// htmlCSP allows the page's one style block, by hash, and nothing else: no
// script, no image, no font, no connection.
var htmlCSP = sync.OnceValue(func() string {
	sum := sha256.Sum256([]byte(reportCSS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; base-uri 'none'; form-action 'none'"
})

func writeHTML(w io.Writer, view string, rep gown.FleetReport) error {
	return htmlPage().Execute(w, map[string]any{"R": rep, "View": view, "Headline": Headline(rep), "Severities": severityLine(rep.Summary),
		"CSP": htmlCSP(), "CSS": template.CSS(reportCSS), "Started": rep.Scan.Started.UTC().Format("2006-01-02 15:04 MST")})
}
