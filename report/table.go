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
//
// Without a width (a pipe, a file) each row is one line and WHY runs on.
// With one (a terminal, TableOptions.Width), the row keeps within it: WHY
// wraps at word boundaries inside its column, the columns that do not fit
// are left out (PRODUCT first, then TLS, BYTES, DATA), and when even then
// WHY has no room it goes on the lines below the row. A cell longer than
// its column is cut with an ellipsis; text is never cut inside a word
// unless one word is wider than the whole column.
type Table struct {
	w        io.Writer
	opt      TableOptions
	lay      layout
	header   bool
	byStatus map[gown.Status]int
	findings map[gown.Severity]int
	items    uint64
	bytes    uint64
	rows     int
	subjects int // apps and addresses with standalone findings
	apps     int // apps shown (AddApp)
	// sensitive and compromised count open stores holding sensitive
	// classes and stores with compromise signs.
	sensitive, compromised int
}

var _ gown.Reporter = (*Table)(nil)

// TableOptions fit the table to a terminal.
type TableOptions struct {
	// Width is the terminal's columns; 0 leaves rows unbounded, one line
	// each, for pipes and files. Below 40 it is taken as 40.
	Width int
	// Color marks severities (and open stores) with ANSI colours: for a
	// terminal only, and never when NO_COLOR is set (the caller decides).
	Color bool
}

// NewTable writes to w with unbounded rows and no colour.
func NewTable(w io.Writer) *Table { return NewTableWith(w, TableOptions{}) }

// NewTableWith writes to w fitted to o.
func NewTableWith(w io.Writer, o TableOptions) *Table {
	if o.Width > 0 && o.Width < 40 {
		o.Width = 40
	}
	return &Table{w: w, opt: o, lay: newLayout(o.Width), byStatus: map[gown.Status]int{}, findings: map[gown.Severity]int{}}
}

// The columns before WHY, in order.
const (
	colTarget = iota
	colStore
	colProduct
	colStatus
	colTLS
	colItems
	colBytes
	colData
	nCols
)

// column is one fixed-width column: its title, width, alignment, and the
// spaces before the next.
type column struct {
	title string
	width int
	right bool
	gap   int
}

var columns = [nCols]column{
	{"TARGET", 26, false, 1}, {"STORE", 13, false, 1}, {"PRODUCT", 22, false, 1}, {"STATUS", 13, false, 1},
	{"TLS", 8, false, 1}, {"ITEMS", 9, true, 1}, {"BYTES", 10, true, 2}, {"DATA", 20, false, 1},
}

// dropOrder is the order columns leave a narrow terminal.
var dropOrder = []int{colProduct, colTLS, colBytes, colData}

// minWhy is the narrowest WHY column worth keeping beside the row.
const minWhy = 30

// layout is which columns a width shows and where WHY goes.
type layout struct {
	width    int // 0: unbounded
	cols     [nCols]column
	show     [nCols]bool
	why      int  // WHY's column width; 0: unbounded
	whyUnder bool // WHY on the lines below the row
	indent   int  // where finding and database lines start
}

func newLayout(width int) layout {
	l := layout{width: width, indent: 27, cols: columns}
	// A wide terminal gives TARGET room for a name and its address
	// (cache.shop-api.example → 127.0.0.11:6379) on one line.
	l.cols[colTarget].width = min(max(26, 26+(width-160)/2), 46)
	for i := range l.show {
		l.show[i] = true
	}
	if width == 0 {
		return l
	}
	fixed := func() int {
		n := 0
		for i, c := range l.cols {
			if l.show[i] {
				n += c.width + c.gap
			}
		}
		return n
	}
	var dropped []int
	for _, c := range dropOrder {
		if width-fixed() >= minWhy {
			break
		}
		l.show[c] = false
		dropped = append(dropped, c)
	}
	if width-fixed() < minWhy {
		// WHY goes below the row: take back what fits, last dropped first.
		l.whyUnder = true
		for i := len(dropped) - 1; i >= 0; i-- {
			c := dropped[i]
			if fixed()+l.cols[c].width+l.cols[c].gap <= width {
				l.show[c] = true
			}
		}
		// Still too wide: ITEMS, BYTES and STORE go too, then TARGET
		// narrows (the last column's gap is never printed).
		for _, c := range []int{colItems, colBytes, colStore} {
			if fixed()-1 > width {
				l.show[c] = false
			}
		}
		if over := fixed() - 1 - width; over > 0 {
			l.cols[colTarget].width = max(l.cols[colTarget].width-over, 12)
		}
		l.why = width - 4
	} else {
		l.why = width - fixed()
	}
	if width < 100 {
		l.indent = 2
	} else {
		l.indent += l.cols[colTarget].width - 26 // under the └ of the databases
	}
	return l
}

// Report writes one row.
func (t *Table) Report(r *gown.Result) error { return t.ReportFindings(r, nil) }

// ReportFindings writes one row, then one line per finding below it. A nil
// result is standalone findings: a row names their subject (an app, an
// address), and each finding says where in the app it points.
func (t *Table) ReportFindings(r *gown.Result, fs []gown.Finding) error {
	if !t.header {
		t.header = true
		var cells [nCols][]string
		for i, c := range columns {
			cells[i] = []string{c.title}
		}
		if err := t.row(cells, []string{"WHY"}, ""); err != nil {
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
	cells := [nCols][]string{
		t.targetCell(r.Target), {clip(orDash(r.Store), 13)}, {clip(orDash(product), 22)},
		{text(string(r.Status))}, {text(tlsMode)}, {items}, {bytes}, {clip(dataCell(r, fs), 20)},
	}
	statusColor := ""
	if r.Status == gown.StatusOpen {
		statusColor = ansiRed
	}
	if data := cells[colData][0]; t.lay.whyUnder && !t.lay.show[colData] && data != "-" {
		why = "data " + data + " · " + why // DATA has no column here
	}
	if err := t.row(cells, t.wrapWhy(why), statusColor); err != nil {
		return err
	}
	if r.Inventory != nil {
		for _, db := range r.Inventory.Databases {
			if db.System {
				continue
			}
			if err := t.dbLine(db, dbClasses(r, db.Name)); err != nil {
				return err
			}
		}
	}
	return t.findingLines(fs)
}

// targetCell names a target as given: the address alone, or the name the
// user or the app gave with the address it resolved to, on one line when
// the column holds both (api.example.app → 203.0.113.7:9200), else the
// name and port, then the address below.
func (t *Table) targetCell(tg gown.Target) []string {
	dial := tg.Dial()
	if !tg.Addr.IsValid() || tg.Host == "" || tg.Host == tg.Addr.String() {
		return []string{clip(dial, t.colWidth(colTarget))}
	}
	both := subjectName(tg) + " → " + dial
	if w := t.colWidth(colTarget); utf8.RuneCountInString(text(both)) <= w {
		return []string{text(both)}
	}
	w := t.colWidth(colTarget)
	return append(wrapName(text(subjectName(tg)), w), clip("→ "+dial, w))
}

// wrapName breaks a host name over lines of at most width characters
// after its dots, the way a word is wrapped at its spaces.
func wrapName(s string, width int) []string {
	var parts []string
	for s != "" {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			parts = append(parts, s)
			break
		}
		parts = append(parts, s[:i+1])
		s = s[i+1:]
	}
	var lines []string
	cur := ""
	for _, p := range parts {
		if cur != "" && utf8.RuneCountInString(cur+p) > width {
			lines = append(lines, cur)
			cur = ""
		}
		cur += p
		for utf8.RuneCountInString(cur) > width {
			r := []rune(cur)
			lines = append(lines, string(r[:width]))
			cur = string(r[width:])
		}
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// colWidth is a column's width.
func (t *Table) colWidth(c int) int { return t.lay.cols[c].width }

// wrapWhy lays WHY out for its column: one line when unbounded, wrapped
// at word boundaries otherwise.
func (t *Table) wrapWhy(why string) []string {
	if t.lay.why == 0 {
		return []string{why}
	}
	return wrapWords(why, t.lay.why)
}

// row writes cells (each one or more lines) in the columns the layout
// shows, then WHY beside them or below.
func (t *Table) row(cells [nCols][]string, why []string, statusColor string) error {
	lines := 1
	for i, c := range cells {
		if t.lay.show[i] {
			lines = max(lines, len(c))
		}
	}
	if !t.lay.whyUnder {
		lines = max(lines, len(why))
	}
	var b strings.Builder
	for n := 0; n < lines; n++ {
		var line strings.Builder
		for i, c := range t.lay.cols {
			if !t.lay.show[i] {
				continue
			}
			cell := ""
			if n < len(cells[i]) {
				cell = cells[i][n]
			}
			pad := strings.Repeat(" ", max(0, c.width-utf8.RuneCountInString(cell)))
			if i == colStatus && statusColor != "" && n == 0 {
				cell = t.paint(statusColor, cell)
			}
			if c.right {
				line.WriteString(pad + cell)
			} else {
				line.WriteString(cell + pad)
			}
			line.WriteString(strings.Repeat(" ", c.gap))
		}
		if !t.lay.whyUnder && n < len(why) {
			line.WriteString(why[n])
		}
		out := line.String()
		if t.lay.width > 0 || n > 0 {
			// Unbounded rows keep their trailing spaces as they always
			// have; wrapped and continued lines drop them.
			out = strings.TrimRight(out, " ")
		}
		b.WriteString(out + "\n")
	}
	if t.lay.whyUnder {
		for _, l := range why {
			b.WriteString("    " + l + "\n")
		}
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

// dbLine writes one database of a result.
func (t *Table) dbLine(db gown.Database, classes string) error {
	if t.lay.width == 0 || t.lay.show[colProduct] && t.lay.show[colData] {
		// Under ITEMS and BYTES, moved right as far as TARGET grew.
		at := 28 + t.colWidth(colTarget) - 26
		line := fmt.Sprintf("%*s %-47s %9d %10s  %s", at, "└", clip(db.Name, 47), db.Items, HumanBytes(db.Bytes), text(classes))
		if t.lay.width > 0 {
			return t.hanging(strings.TrimRight(line, " "), at+1+47+1+9+1+10+2)
		}
		_, err := fmt.Fprintln(t.w, strings.TrimRight(line, " "))
		return err
	}
	head := strings.Repeat(" ", t.lay.indent) + "└ "
	return t.hanging(head+strings.TrimRight(fmt.Sprintf("%s  %d items  %s  %s", clip(db.Name, 47), db.Items, HumanBytes(db.Bytes), text(classes)), " "),
		utf8.RuneCountInString(head))
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
	cells := [nCols][]string{{clip(subjectName(sub), t.colWidth(colTarget))}, {kind}, {"-"}, {"-"}, {"-"}, {"-"}, {"-"}, {"-"}}
	if err := t.row(cells, t.wrapWhy(subjectWhy(sub)), ""); err != nil {
		return err
	}
	return t.findingLines(fs)
}

// findingLines writes one line per finding, and below an app finding where
// in the app it points.
func (t *Table) findingLines(fs []gown.Finding) error {
	for _, f := range fs {
		t.findings[f.Severity]++
		sev := fmt.Sprintf("%-8s", strings.ToUpper(f.Severity.String()))
		if t.lay.width == 0 {
			bare := strings.TrimRight(sev, " ")
			if _, err := fmt.Fprintf(t.w, "%28s %s %s\n", "!", t.paint(severityColor[f.Severity], bare)+sev[len(bare):], text(f.Title)); err != nil {
				return err
			}
			if len(f.Locations) > 0 {
				if _, err := fmt.Fprintf(t.w, "%28s %-8s at %s\n", "", "", text(locationsText(f.Locations, 3))); err != nil {
					return err
				}
			}
			continue
		}
		head := strings.Repeat(" ", t.lay.indent) + "! "
		body := utf8.RuneCountInString(head) + 9
		if err := t.hangingPainted(head, sev, text(f.Title), body, severityColor[f.Severity]); err != nil {
			return err
		}
		if len(f.Locations) > 0 {
			if err := t.hanging(strings.Repeat(" ", body)+"at "+text(locationsText(f.Locations, 3)), body+3); err != nil {
				return err
			}
		}
	}
	return nil
}

// hanging writes line wrapped to the width, continuation lines indented
// by indent; the first line keeps line's own leading spaces.
func (t *Table) hanging(line string, indent int) error {
	trimmed := strings.TrimLeft(line, " ")
	return t.hangingPainted(line[:len(line)-len(trimmed)], "", trimmed, indent, "")
}

// hangingPainted writes head, then word (painted with color) and a space,
// then rest wrapped to the width, its continuation lines indented by
// indent.
func (t *Table) hangingPainted(head, word, rest string, indent int, color string) error {
	prefix := head
	if word != "" {
		bare := strings.TrimRight(word, " ")
		prefix += t.paint(color, bare) + word[len(bare):] + " "
	}
	lead := utf8.RuneCountInString(head)
	if word != "" {
		lead += utf8.RuneCountInString(word) + 1
	}
	lines := []string{rest} // kept as it is, spacing and all, when it fits
	if lead+utf8.RuneCountInString(rest) > t.lay.width {
		lines = wrapHanging(rest, max(t.lay.width-lead, 10), max(t.lay.width-indent, 10))
	}
	var b strings.Builder
	for i, l := range lines {
		if i == 0 {
			b.WriteString(prefix + l + "\n")
			continue
		}
		b.WriteString(strings.Repeat(" ", indent) + l + "\n")
	}
	_, err := io.WriteString(t.w, b.String())
	return err
}

// wrapHanging wraps s to first characters on its first line and rest on
// the others.
func wrapHanging(s string, first, rest int) []string {
	lines := wrapWords(s, first)
	if len(lines) == 1 {
		return lines
	}
	tail := strings.Join(lines[1:], " ")
	return append(lines[:1], wrapWords(tail, rest)...)
}

// wrapWords breaks s into lines of at most width characters at spaces. A
// word wider than width is the only thing cut, at width.
func wrapWords(s string, width int) []string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return []string{""}
	}
	var lines []string
	cur, n := "", 0
	for _, w := range words {
		wn := utf8.RuneCountInString(w)
		for wn > width {
			if n > 0 {
				lines = append(lines, cur)
				cur, n = "", 0
			}
			r := []rune(w)
			lines = append(lines, string(r[:width]))
			w, wn = string(r[width:]), wn-width
		}
		switch {
		case n == 0:
			cur, n = w, wn
		case n+1+wn <= width:
			cur, n = cur+" "+w, n+1+wn
		default:
			lines = append(lines, cur)
			cur, n = w, wn
		}
	}
	if n > 0 || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}

// ANSI colours, used only with TableOptions.Color.
const (
	ansiRed     = "\x1b[31m"
	ansiBoldRed = "\x1b[1;31m"
	ansiYellow  = "\x1b[33m"
	ansiCyan    = "\x1b[36m"
	ansiDim     = "\x1b[2m"
	ansiReset   = "\x1b[0m"
)

var severityColor = map[gown.Severity]string{
	gown.SeverityCritical: ansiBoldRed, gown.SeverityHigh: ansiRed, gown.SeverityMedium: ansiYellow,
	gown.SeverityLow: ansiCyan, gown.SeverityInfo: ansiDim,
}

// paint colours s when the table is in colour.
func (t *Table) paint(color, s string) string {
	if !t.opt.Color || color == "" {
		return s
	}
	return color + s + ansiReset
}

// Close writes the summary.
func (t *Table) Close() error {
	if t.rows == 0 && t.subjects == 0 {
		if t.apps > 0 {
			return t.para(fmt.Sprintf("\n%d %s read; no service answered and no finding.", t.apps, plural(t.apps, "app", "apps")))
		}
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
	err := t.para(fmt.Sprintf("\n%d services: %s. Exposed without authentication: %d items, %s.",
		t.rows, strings.Join(parts, ", "), t.items, HumanBytes(t.bytes)))
	if err != nil {
		return err
	}
	if t.sensitive > 0 || t.compromised > 0 {
		err = t.para(fmt.Sprintf("Sensitive data in %d %s; already compromised: %d.", t.sensitive, plural(t.sensitive, "store", "stores"), t.compromised))
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
	return t.para(fmt.Sprintf("%sFindings: %s.", prefix, strings.Join(parts, ", ")))
}

// para writes a summary line, wrapped at the width when there is one.
func (t *Table) para(s string) error {
	lead := ""
	if strings.HasPrefix(s, "\n") {
		lead, s = "\n", s[1:]
	}
	lines := []string{s}
	if t.lay.width > 0 {
		lines = wrapWords(s, t.lay.width)
	}
	_, err := io.WriteString(t.w, lead+strings.Join(lines, "\n")+"\n")
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

var _ AppWriter = (*Table)(nil)

// AddApp writes an app the scan read as a compact section: who it is, what
// its endpoints' parties rest on, their count by party, and one line per
// endpoint of the parties gown probes or might (first, unknown, internal;
// at most tableListed each) with its store and where it was found.
// Third-party and development hosts are counted only: gown app lists them.
func (t *Table) AddApp(a *gown.App) error {
	t.apps++
	head := "APP " + text(appTitle(a))
	if a.Platform != "" {
		head += "  " + text(strings.TrimSpace(string(a.Platform)+" "+a.Format))
	}
	if a.ID != "" {
		head += "  " + text(a.File)
	}
	if len(a.Frameworks) > 0 {
		head += "  frameworks " + text(strings.Join(a.Frameworks, ","))
	}
	if a.Encrypted {
		head += "  ENCRYPTED: incomplete"
	}
	if err := t.appLine(head, 4); err != nil {
		return err
	}
	if len(a.Identity) > 0 {
		if err := t.appLine("  identity: "+text(strings.Join(a.Identity, "; ")), 12); err != nil {
			return err
		}
	}
	groups := ByParty(a.Endpoints, tableListed)
	if len(groups) == 0 {
		return t.appLine("  endpoints: none", 4)
	}
	if err := t.appLine("  endpoints by party: "+PartyCounts(groups), 4); err != nil {
		return err
	}
	for _, g := range groups {
		if !listedParty(g.Party) {
			continue
		}
		for _, e := range g.Endpoints {
			line := fmt.Sprintf("    %-8s %-13s %s", g.Party, clip(EndpointStore(e), 13), text(e.Value))
			if n := EndpointNotes(a, e); len(n) > 0 {
				line += "  [" + strings.Join(n, ", ") + "]"
			}
			if w := EndpointWhere(e); w != "" {
				line += "  at " + text(w)
			}
			if err := t.appLine(line, 27); err != nil {
				return err
			}
		}
		if g.More > 0 {
			if err := t.appLine(fmt.Sprintf("    %-8s +%d more", g.Party, g.More), 13); err != nil {
				return err
			}
		}
	}
	_, err := fmt.Fprintln(t.w)
	return err
}

// appLine writes a line of an app's section: as it is without a width,
// wrapped with continuation lines at indent within one.
func (t *Table) appLine(line string, indent int) error {
	if t.lay.width == 0 {
		_, err := fmt.Fprintln(t.w, line)
		return err
	}
	return t.hanging(line, indent)
}
