package report

import (
	"bufio"
	"crypto/sha256"
	_ "embed" // the page template
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
)

// HTML writes one self-contained page for a security lead: the summary in the
// research's terms (apps → services → open stores → records and bytes →
// sensitive classes → compromised), bar charts drawn as inline SVG, a sortable
// findings table and each finding's evidence. The page loads nothing: its CSS
// and a few lines of script are inline, and a Content-Security-Policy allows
// only those two (by hash), so even text that escaped escaping could fetch
// nothing. All server text goes through html/template's escaping.
//
// It keeps the summary counters and at most MaxRows findings, the most
// severe; the page says how many were left out.
type HTML struct {
	w    *bufio.Writer
	meta ScanMeta
	sum  *Summary
	rows rows
}

// NewHTML writes to w.
func NewHTML(w io.Writer) *HTML {
	return &HTML{w: bufio.NewWriter(w), sum: newSummary(), rows: rows{max: MaxRows}}
}

// Begin keeps the scan's description.
func (h *HTML) Begin(meta ScanMeta) error { h.meta = meta; return nil }

// Add counts a result and keeps its findings' rows.
func (h *HTML) Add(r *gown.Result, fs []gown.Finding) error {
	h.sum.add(r, fs)
	for _, f := range fs {
		h.rows.add(r, f)
	}
	return nil
}

// End renders the page.
func (h *HTML) End() error {
	if err := pageTemplate.Execute(h.w, h.view()); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return h.w.Flush()
}

//go:embed html.tmpl
var pageSource string

//go:embed html.css
var pageCSS string

//go:embed html.js
var pageJS string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"bytes":     HumanBytes,
	"thousands": thousands,
	"upper":     strings.ToUpper,
}).Parse(pageSource))

// csp allows the page's own style and script, by hash, and nothing else.
var csp = fmt.Sprintf("default-src 'none'; style-src '%s'; script-src '%s'; img-src data:; base-uri 'none'; form-action 'none'",
	cspHash(pageCSS), cspHash(pageJS))

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// htmlView is what the template renders.
type htmlView struct {
	Meta       ScanMeta
	MetaLine   string
	CSP        string
	CSS        template.CSS
	JS         template.JS
	Headline   string
	Funnel     []funnelStep
	Charts     []chart
	Rows       []htmlRow
	Dropped    int
	MaxRows    int
	Severities string
	Rules      []Rule
	ToolURI    string
}

type funnelStep struct {
	Label, Value, Note string
	Class              string // "alert" for exposure, "muted" for not assessed
}

type htmlRow struct {
	Seq        int
	Sev        string
	SevRank    int
	F          gown.Finding
	R          *gown.Result
	Target     string // for sorting: host:port (ip)
	HostPort   string
	IP         string // the address dialled, when it differs from the host
	Product    string
	MoreDBs    bool
	RuleKnown  bool
	EvidenceNo int
}

func (h *HTML) view() htmlView {
	s := h.sum
	v := htmlView{Meta: h.meta, MetaLine: metaLine(h.meta), CSP: csp, CSS: template.CSS(pageCSS),
		JS: template.JS(pageJS), Dropped: h.rows.dropped, MaxRows: MaxRows, Severities: severityLine(s), ToolURI: ToolURI}
	v.Headline = headline(s)
	v.Funnel = []funnelStep{
		{Label: "Apps", Value: "—", Note: "not part of this scan: targets given directly", Class: "muted"},
		{Label: "Services answered", Value: thousands(uint64(s.Services)), Note: "on " + hostCount(s) + " " + plural(s.Hosts, "host", "hosts")},
		{Label: "Open stores", Value: thousands(uint64(s.Open)), Note: "answer without authentication", Class: alertIf(s.Open > 0)},
		{Label: "Exposed", Value: HumanBytes(s.Bytes), Note: thousands(s.Items) + " records", Class: alertIf(s.Items > 0 || s.Bytes > 0)},
		{Label: "Sensitive data", Value: "not assessed", Note: "sampling of records is not part of this scan yet", Class: "muted"},
		{Label: "Compromised", Value: "not assessed", Note: "ransom-note and wipe checks are not part of this scan yet", Class: "muted"},
	}
	v.Charts = []chart{storeChart(s), severityChart(s), {Title: "Exposed data by class", Empty: "Not assessed: gown has not sampled records in this scan, so it cannot say which classes of data (e-mail, phone, password, card, token…) are exposed."}}
	used := map[string]bool{}
	for _, x := range h.rows.sorted() {
		_, _, known := RuleByID(x.f.Rule)
		hr := htmlRow{Seq: x.seq, Sev: x.f.Severity.String(), SevRank: int(x.f.Severity), F: x.f, R: x.r,
			Target: x.f.Target.String(), HostPort: net.JoinHostPort(x.f.Target.Host, strconv.Itoa(x.f.Target.Port)),
			IP: targetIP(x.f.Target), Product: strings.TrimSpace(x.r.Product + " " + x.r.Version),
			MoreDBs: x.r.Inventory != nil && x.r.Inventory.Truncated, RuleKnown: known, EvidenceNo: len(x.r.Evidence)}
		v.Rows = append(v.Rows, hr)
		if known && !used[x.f.Rule] {
			used[x.f.Rule] = true
		}
	}
	for _, r := range Rules {
		if used[r.ID] {
			v.Rules = append(v.Rules, r)
		}
	}
	return v
}

func targetIP(t gown.Target) string {
	if t.Addr.IsValid() && t.Addr.String() != t.Host {
		return t.Addr.String()
	}
	return ""
}

func alertIf(b bool) string {
	if b {
		return "alert"
	}
	return ""
}

// headline is the one sentence a reader forwards.
func headline(s *Summary) string {
	switch {
	case s.Services == 0:
		return "No data store answered."
	case s.Open == 0:
		return fmt.Sprintf("%s data %s answered; none gave out data without authentication.",
			thousands(uint64(s.Services)), plural(s.Services, "store", "stores"))
	}
	return fmt.Sprintf("%s of %s data stores answer without authentication, exposing %s records (%s).",
		thousands(uint64(s.Open)), thousands(uint64(s.Services)), thousands(s.Items), HumanBytes(s.Bytes))
}

// chart is a horizontal bar chart drawn as inline SVG by the template.
type chart struct {
	Title  string
	Empty  string // shown instead of bars when set
	Bars   []bar
	Height int
}

// bar is one row of a chart: a full-width track, a background bar (Total)
// and a foreground bar (Part) in Class's colour.
type bar struct {
	Label      string
	Value      string
	Y, TextY   int
	Total      int // px
	Part       int // px
	Class      string
	TrackWidth int
}

// Chart geometry, in SVG user units.
const (
	chartBarArea = 150
	chartRow     = 30
)

func scale(v, maxv uint64) int {
	if v == 0 || maxv == 0 {
		return 0
	}
	return max(3, int(v*chartBarArea/maxv))
}

func storeChart(s *Summary) chart {
	c := chart{Title: "Services by store: open of answered"}
	names := s.StoreNames()
	var maxv uint64
	for _, n := range names {
		maxv = max(maxv, uint64(s.ByStore[n].Services))
	}
	for i, n := range names {
		sc := s.ByStore[n]
		val := fmt.Sprintf("%d of %d open", sc.Open, sc.Services)
		if sc.Open > 0 {
			val += " · " + HumanBytes(sc.Bytes)
		}
		c.Bars = append(c.Bars, bar{Label: n, Value: val, Y: i*chartRow + 6, TextY: i*chartRow + 21,
			Total: scale(uint64(sc.Services), maxv), Part: scale(uint64(sc.Open), maxv), Class: "open", TrackWidth: chartBarArea})
	}
	if len(names) == 0 {
		c.Empty = "No service answered."
	}
	c.Height = max(1, len(names))*chartRow + 6
	return c
}

func severityChart(s *Summary) chart {
	c := chart{Title: "Findings by severity"}
	var maxv uint64
	for _, n := range s.BySeverity {
		maxv = max(maxv, uint64(n))
	}
	for i := 0; i <= int(gown.SeverityCritical); i++ {
		sev := gown.SeverityCritical - gown.Severity(i)
		n := uint64(s.BySeverity[sev])
		c.Bars = append(c.Bars, bar{Label: sev.String(), Value: strconv.FormatUint(n, 10), Y: i*chartRow + 6,
			TextY: i*chartRow + 21, Part: scale(n, maxv), Class: "sev-" + sev.String(), TrackWidth: chartBarArea})
	}
	c.Height = (int(gown.SeverityCritical)+1)*chartRow + 6
	return c
}
