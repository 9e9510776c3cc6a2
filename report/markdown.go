package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

// Markdown writes a summary and a findings table for tickets and chat
// (GitHub-flavoured Markdown). It keeps the summary counters and at most
// MaxRows rows, the most severe, and writes everything at End so that the
// summary comes first.
type Markdown struct {
	w    *bufio.Writer
	meta ScanMeta
	sum  *Summary
	rows rows
	// apps holds the apps section as written so far (AddApp), at most
	// maxHTMLApps apps; appsDropped counts the rest.
	apps        strings.Builder
	nApps       int
	appsDropped int
}

// NewMarkdown writes to w.
func NewMarkdown(w io.Writer) *Markdown {
	return &Markdown{w: bufio.NewWriter(w), sum: newSummary(), rows: rows{max: MaxRows}}
}

// Begin keeps the scan's description for the heading.
func (m *Markdown) Begin(meta ScanMeta) error { m.meta = meta; return nil }

// Add counts a result and keeps its findings' rows.
func (m *Markdown) Add(r *gown.Result, fs []gown.Finding) error {
	m.sum.add(r, fs)
	for _, f := range fs {
		m.rows.add(r, f)
	}
	return nil
}

// End writes the report.
func (m *Markdown) End() error {
	w := m.w
	fmt.Fprintf(w, "# gown report%s\n\n", mdOpt(": scan ", m.meta.ID))
	if line := metaLine(m.meta); line != "" {
		fmt.Fprintf(w, "%s\n\n", mdText(line))
	}
	if m.meta.Command != "" {
		fmt.Fprintf(w, "Command: %s\n\n", mdText(m.meta.Command))
	}
	m.writeSummary()
	if m.nApps > 0 {
		fmt.Fprintf(w, "## Apps\n\n%s", m.apps.String())
		if m.appsDropped > 0 {
			fmt.Fprintf(w, "_%d more apps are not listed._\n\n", m.appsDropped)
		}
	}
	fmt.Fprintf(w, "## Findings\n\n")
	rs := m.rows.sorted()
	if len(rs) == 0 {
		fmt.Fprintf(w, "No findings.\n")
	} else {
		fmt.Fprintf(w, "| Severity | Finding | Target | Store | Records | Bytes | Data | Why | ID |\n")
		fmt.Fprintf(w, "|---|---|---|---|--:|--:|---|---|---|\n")
	}
	for _, x := range rs {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			strings.ToUpper(x.f.Severity.String()), mdText(findingText(x.f)), mdText(targetText(x.f.Target)),
			mdText(x.f.Store), thousands(x.f.Items), HumanBytes(x.f.Bytes), mdText(dataText(x.r, x.f)), mdText(x.r.Reason), mdText(x.f.ID))
	}
	if m.rows.dropped > 0 {
		fmt.Fprintf(w, "\n_%s less severe findings are not listed: the table keeps the %s most severe._\n",
			thousands(uint64(m.rows.dropped)), thousands(MaxRows))
	}
	return w.Flush()
}

func (m *Markdown) writeSummary() {
	w, s := m.w, m.sum
	fmt.Fprintf(w, "## Summary\n\n| | |\n|---|--:|\n")
	if s.Apps > 0 {
		fmt.Fprintf(w, "| **Apps with findings in their own code** | **%d** (%d %s: hard-coded credentials, clear text) |\n",
			s.Apps, s.AppFindings, plural(s.AppFindings, "finding", "findings"))
	} else {
		fmt.Fprintf(w, "| Apps | no findings in an app's own code in this scan |\n")
	}
	fmt.Fprintf(w, "| Services answered | %s on %s %s |\n", thousands(uint64(s.Services)), hostCount(s), plural(s.Hosts, "host", "hosts"))
	fmt.Fprintf(w, "| **Open stores (no authentication)** | **%s** |\n", thousands(uint64(s.Open)))
	fmt.Fprintf(w, "| Records exposed | %s |\n", thousands(s.Items))
	fmt.Fprintf(w, "| Bytes exposed | %s |\n", HumanBytes(s.Bytes))
	fmt.Fprintf(w, "| **Sensitive data (sampled)** | %s |\n", mdText(sensitiveLine(s)))
	fmt.Fprintf(w, "| **Compromised (ransom notes, wipes, takeovers)** | %s |\n", mdText(compromisedLine(s)))
	if s.Honeypots > 0 {
		fmt.Fprintf(w, "| Possible honeypots | %d |\n", s.Honeypots)
	}
	fmt.Fprintf(w, "\nFindings: %s.\n\n", severityLine(s))
	if len(s.ByStore) == 0 {
		return
	}
	fmt.Fprintf(w, "| Store | Services | Open | Records exposed | Bytes exposed |\n|---|--:|--:|--:|--:|\n")
	for _, n := range s.StoreNames() {
		c := s.ByStore[n]
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s |\n", mdText(n), c.Services, c.Open, thousands(c.Items), HumanBytes(c.Bytes))
	}
	fmt.Fprintln(w)
	if len(s.ByClass) == 0 {
		return
	}
	fmt.Fprintf(w, "| Sensitive class | Stores | Sampled records holding it |\n|---|--:|--:|\n")
	for _, n := range s.ClassNames() {
		c := s.ByClass[n]
		fmt.Fprintf(w, "| %s | %d | %d |\n", mdText(n), c.Stores, c.Records)
	}
	fmt.Fprintln(w)
}

// sensitiveLine sums up sampling: how many open stores hold sensitive
// data and which classes are most spread.
func sensitiveLine(s *Summary) string {
	if !s.Assessed {
		return "not assessed (sampling off)"
	}
	if len(s.ByClass) == 0 {
		return fmt.Sprintf("none found in %s sampled records", thousands(s.Sampled))
	}
	return fmt.Sprintf("%d %s: %s (%s records sampled)", s.Sensitive, plural(s.Sensitive, "store", "stores"),
		strings.Join(ShortClasses(s.ClassNames(), 6), ", "), thousands(s.Sampled))
}

// compromisedLine sums up the compromise signs.
func compromisedLine(s *Summary) string {
	if !s.Assessed {
		return "not assessed"
	}
	if s.Compromised == 0 {
		return "none seen"
	}
	var kinds []string
	for _, k := range s.KindNames() {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, s.ByKind[k]))
	}
	return fmt.Sprintf("%d %s (%s)", s.Compromised, plural(s.Compromised, "store", "stores"), strings.Join(kinds, ", "))
}

// ShortClasses keeps the first n names and says how many more there were.
func ShortClasses(l []string, n int) []string {
	if len(l) <= n {
		return l
	}
	return append(append([]string(nil), l[:n]...), fmt.Sprintf("+%d", len(l)-n))
}

// dataText is a finding's data cell: its classes and the result's
// compromise sign kinds.
func dataText(r *gown.Result, f gown.Finding) string {
	parts := []string{}
	if len(f.Classes) > 0 {
		parts = append(parts, strings.Join(f.Classes, ", "))
	}
	if kinds, hp := compromiseKinds(r); len(kinds) > 0 {
		parts = append(parts, "compromised: "+strings.Join(kinds, ", "))
	} else if hp {
		parts = append(parts, "possible honeypot")
	}
	return strings.Join(parts, " · ")
}

// mdEscaped are the characters that make Markdown markup or split a table
// cell. Server text is hostile: a title may hold a pipe to break the table, a
// tag, or a link to someone's tracker.
const mdEscaped = "\\`*_[]<>|~&"

// mdText makes text inert in a Markdown table cell: one line, no control
// bytes, markup characters backslash-escaped.
func mdText(s string) string {
	var b strings.Builder
	for _, c := range text(s) {
		switch {
		case c == '\n' || c == '\r' || c == '\t':
			b.WriteByte(' ')
		case c < 0x20 || c == 0x7f:
		case strings.ContainsRune(mdEscaped, c):
			b.WriteByte('\\')
			b.WriteRune(c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

func mdOpt(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + mdText(s)
}

// metaLine describes the scan in one line: times and version.
func metaLine(m ScanMeta) string {
	var parts []string
	if !m.Started.IsZero() {
		parts = append(parts, "started "+m.Started.UTC().Format(time.RFC3339))
	}
	if !m.Finished.IsZero() {
		parts = append(parts, "finished "+m.Finished.UTC().Format(time.RFC3339))
		if !m.Started.IsZero() {
			parts = append(parts, "took "+m.Finished.Sub(m.Started).Round(time.Second).String())
		}
	}
	if m.Version != "" {
		parts = append(parts, "gown "+m.Version)
	}
	return strings.Join(parts, " · ")
}

// severityLine lists finding counts, most severe first: "1 critical, 2 high".
func severityLine(s *Summary) string {
	var parts []string
	for sev := gown.SeverityCritical; sev >= gown.SeverityInfo; sev-- {
		if n := s.BySeverity[sev]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, sev))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func hostCount(s *Summary) string {
	if s.HostsCapped {
		return "at least " + thousands(uint64(s.Hosts))
	}
	return thousands(uint64(s.Hosts))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// thousands groups digits: 1,234,567.
func thousands(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// findingText is a finding's title, with where in the app it points when
// it is about an app's own code.
func findingText(f gown.Finding) string {
	if len(f.Locations) == 0 {
		return f.Title
	}
	return f.Title + " (at " + locationsText(f.Locations, 3) + ")"
}

var _ AppWriter = (*Markdown)(nil)

// AddApp adds an app the scan read to the report's apps section: who it
// is, its endpoints counted by party, and a table of those gown probes or
// might (first, unknown, internal; at most tableListed each) with their
// store and where they were found.
func (m *Markdown) AddApp(a *gown.App) error {
	if m.nApps >= maxHTMLApps {
		m.appsDropped++
		return nil
	}
	m.nApps++
	w := &m.apps
	fmt.Fprintf(w, "### %s\n\n", mdText(appTitle(a)))
	var facts []string
	if a.Platform != "" {
		facts = append(facts, mdText(strings.TrimSpace(string(a.Platform)+" "+a.Format)))
	}
	if a.ID != "" {
		facts = append(facts, "file "+mdText(a.File))
	}
	if len(a.Frameworks) > 0 {
		facts = append(facts, "built with "+mdText(strings.Join(a.Frameworks, ", ")))
	}
	if a.Encrypted {
		facts = append(facts, "**encrypted: results incomplete**")
	}
	if len(facts) > 0 {
		fmt.Fprintf(w, "%s\n\n", strings.Join(facts, " · "))
	}
	if len(a.Identity) > 0 {
		fmt.Fprintf(w, "Identity: %s\n\n", mdText(strings.Join(a.Identity, "; ")))
	}
	groups := ByParty(a.Endpoints, tableListed)
	if len(groups) == 0 {
		fmt.Fprintf(w, "Endpoints: none.\n\n")
		return nil
	}
	fmt.Fprintf(w, "Endpoints by party: %s.\n\n", mdText(PartyCounts(groups)))
	header := false
	for _, g := range groups {
		if !listedParty(g.Party) {
			continue
		}
		if !header {
			header = true
			fmt.Fprintf(w, "| Party | Store | Endpoint | Found at |\n|---|---|---|---|\n")
		}
		for _, e := range g.Endpoints {
			v := mdText(e.Value)
			if n := EndpointNotes(a, e); len(n) > 0 {
				v += " (" + mdText(strings.Join(n, ", ")) + ")"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", g.Party, mdText(EndpointStore(e)), v, mdText(EndpointWhere(e)))
		}
		if g.More > 0 {
			fmt.Fprintf(w, "| %s | | +%d more | |\n", g.Party, g.More)
		}
	}
	if header {
		fmt.Fprintln(w)
	}
	return nil
}
