package report

import (
	"bufio"
	"crypto/sha256"
	_ "embed" // the page template
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

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
	// apps are the apps a scan read, when the results come with them
	// (gown app --json read back): at most maxHTMLApps, the rest counted.
	apps        []htmlApp
	appsDropped int
}

// maxHTMLApps bounds the apps the page lists.
const maxHTMLApps = 500

// htmlApp is what the page shows of one app: identity, and the back ends
// it names grouped by party (first party first), each with its store and
// where in the app it was found, at most maxHTMLEndpoints per party.
type htmlApp struct {
	File, Platform, Format, ID, Version string
	Frameworks, Identity                []string
	Groups                              []htmlPartyGroup
	// Counts sums up the endpoints by party ("first 3 · third 12").
	Counts                 string
	Credentials, Cleartext int
	Encrypted              bool
}

// htmlPartyGroup is one party's endpoints of an app.
type htmlPartyGroup struct {
	Party, Label string
	Count, More  int
	Endpoints    []htmlEndpoint
}

// htmlEndpoint is one endpoint as the app card shows it.
type htmlEndpoint struct {
	Value, Store, Where string
	Notes               []string
}

// maxHTMLEndpoints bounds the endpoints the card lists per party.
const maxHTMLEndpoints = 20

var _ AppWriter = (*HTML)(nil)

// AddApp keeps an app for the page's apps section.
func (h *HTML) AddApp(a *gown.App) error {
	if len(h.apps) >= maxHTMLApps {
		h.appsDropped++
		return nil
	}
	ha := htmlApp{File: a.File, Platform: string(a.Platform), Format: a.Format, ID: a.ID, Version: a.Version,
		Frameworks: a.Frameworks, Identity: a.Identity, Credentials: len(a.Credentials), Cleartext: len(a.Cleartext),
		Encrypted: a.Encrypted}
	groups := ByParty(a.Endpoints, maxHTMLEndpoints)
	ha.Counts = PartyCounts(groups)
	for _, g := range groups {
		hg := htmlPartyGroup{Party: string(g.Party), Label: g.Label(), Count: g.Count(), More: g.More}
		for _, e := range g.Endpoints {
			hg.Endpoints = append(hg.Endpoints, htmlEndpoint{Value: e.Value, Store: EndpointStore(e), Where: EndpointWhere(e),
				Notes: EndpointNotes(a, e)})
		}
		ha.Groups = append(ha.Groups, hg)
	}
	h.apps = append(h.apps, ha)
	return nil
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
	if err := pageTemplate().Execute(h.w, h.view()); err != nil {
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

// pageTemplate is parsed on first use, not at init: every gown command
// would otherwise pay for it (see internal/lazyre).
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Funcs(template.FuncMap{
		"bytes":     HumanBytes,
		"ibytes":    func(n int64) string { return HumanBytes(uint64(max(n, 0))) },
		"thousands": thousands,
		"upper":     strings.ToUpper,
		"join":      func(l []string) string { return strings.Join(l, ", ") },
		"location":  Location,
		"readable":  readable,
	}).Parse(pageSource))
})

// csp allows the page's own style and script, by hash, and nothing else.
var csp = sync.OnceValue(func() string {
	return fmt.Sprintf("default-src 'none'; style-src '%s'; script-src '%s'; img-src data:; base-uri 'none'; form-action 'none'",
		cspHash(pageCSS), cspHash(pageJS))
})

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
	Groups     []*htmlGroup
	NFindings  int
	Stores     []string // for the filter
	Classes    []string
	Apps       []htmlApp
	AppsMore   int
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
	// Kinds are the compromise sign kinds on the result ("honeypot?" when
	// it may be staged).
	Kinds []string
	CWE   string
}

// htmlGroup is one store (or app, or address) with its findings: what the
// store is, holds and answered is shown once, above its findings.
type htmlGroup struct {
	Key      string
	First    htmlRow // the most severe finding's row, for the store's facts
	Rows     []htmlRow
	Classes  []string // sensitive classes over its findings, once
	MaxRank  int
	MaxSev   string
	Items    uint64
	Bytes    uint64
	Search   string // lowercase text the search box matches
	ClassStr string // space-separated, for the class filter
}

func (h *HTML) view() htmlView {
	s := h.sum
	v := htmlView{Meta: h.meta, MetaLine: metaLine(h.meta), CSP: csp(), CSS: template.CSS(pageCSS),
		JS: template.JS(pageJS), Dropped: h.rows.dropped, MaxRows: MaxRows, Severities: severityLine(s), ToolURI: ToolURI}
	v.Headline = headline(s)
	v.Funnel = []funnelStep{
		appStep(s),
		{Label: "Services answered", Value: thousands(uint64(s.Services)), Note: "on " + hostCount(s) + " " + plural(s.Hosts, "host", "hosts")},
		{Label: "Open stores", Value: thousands(uint64(s.Open)), Note: "answer without authentication", Class: alertIf(s.Open > 0)},
		{Label: "Exposed", Value: HumanBytes(s.Bytes), Note: thousands(s.Items) + " records", Class: alertIf(s.Items > 0 || s.Bytes > 0)},
		sensitiveStep(s),
		compromisedStep(s),
	}
	v.Charts = []chart{storeChart(s), severityChart(s), classChart(s)}
	for i, lw := range []int{chartLabels, chartLabels, chartLabels + 25} {
		v.Charts[i].place(lw)
	}
	used := map[string]bool{}
	byKey := map[string]*htmlGroup{}
	stores, classes := map[string]bool{}, map[string]bool{}
	for _, x := range h.rows.sorted() {
		rule, _, known := RuleByID(x.f.Rule)
		hr := htmlRow{Seq: x.seq, Sev: x.f.Severity.String(), SevRank: int(x.f.Severity), F: x.f, R: x.r,
			Target: x.f.Target.String(), HostPort: subjectName(x.f.Target),
			IP: targetIP(x.f.Target), Product: strings.TrimSpace(x.r.Product + " " + x.r.Version),
			MoreDBs: x.r.Inventory != nil && x.r.Inventory.Truncated, RuleKnown: known, EvidenceNo: len(x.r.Evidence), CWE: rule.CWE}
		kinds, hp := compromiseKinds(x.r)
		if hp {
			kinds = append(kinds, "honeypot?")
		}
		hr.Kinds = kinds
		// Rows come most severe first: a store's group is made by its
		// most severe finding and keeps that place.
		key := subjectName(x.f.Target) + "|" + x.f.Store + "|" + x.f.Target.Origin
		g := byKey[key]
		if g == nil {
			g = &htmlGroup{Key: key, First: hr, MaxRank: hr.SevRank, MaxSev: hr.Sev}
			byKey[key] = g
			v.Groups = append(v.Groups, g)
		}
		g.Rows = append(g.Rows, hr)
		g.Items, g.Bytes = max(g.Items, x.f.Items), max(g.Bytes, x.f.Bytes)
		for _, c := range x.f.Classes {
			if !slices.Contains(g.Classes, c) {
				g.Classes = append(g.Classes, c)
			}
			classes[c] = true
		}
		store := x.f.Store
		if x.f.Target.Origin == "app" {
			store = "app"
		}
		if store != "" {
			stores[store] = true
		}
		v.NFindings++
		if known && !used[x.f.Rule] {
			used[x.f.Rule] = true
		}
	}
	for _, g := range v.Groups {
		var b strings.Builder
		b.WriteString(g.First.HostPort + " " + g.First.IP + " " + g.First.F.Store + " " + g.First.Product + " " + g.First.Target)
		for _, r := range g.Rows {
			b.WriteString(" " + r.F.Title + " " + r.F.Rule + " " + r.F.ID)
		}
		g.Search = strings.ToLower(b.String())
		g.ClassStr = strings.Join(g.Classes, " ")
	}
	v.Stores, v.Classes = sortedSet(stores), sortedSet(classes)
	v.Apps, v.AppsMore = h.apps, h.appsDropped
	if len(v.Apps) == 0 {
		// Results from the store carry no app objects: the apps are
		// those with findings in their own code.
		for _, g := range v.Groups {
			if g.First.F.Target.Origin != "app" {
				continue
			}
			a := htmlApp{ID: g.First.HostPort, Counts: "endpoints not stored with this scan"}
			for _, r := range g.Rows {
				if len(r.F.Locations) > 0 && a.File == "" {
					a.File, _, _ = strings.Cut(r.F.Locations[0].Container, "!")
				}
				switch r.F.Rule {
				case "hardcoded-credential":
					a.Credentials++
				case "cleartext-transport":
					a.Cleartext++
				}
			}
			v.Apps = append(v.Apps, a)
		}
	}
	if len(h.apps) > 0 {
		v.Funnel[0] = appsReadStep(len(h.apps)+h.appsDropped, s)
	}
	for _, r := range Rules {
		if used[r.ID] {
			v.Rules = append(v.Rules, r)
		}
	}
	return v
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// readable shows evidence as it crossed the wire: the escapes the text
// pass wrote for line ends and tabs become line ends and tabs again, in a
// <pre>; every other escape stays visible, and html/template escapes the
// rest.
func readable(s string) string {
	return strings.NewReplacer(`\r\n`, "\n", `\n`, "\n", `\r`, "\n", `\t`, "\t").Replace(s)
}

// appsReadStep is the funnel's first step when the scan's apps came with
// its results: how many were read, how many hold findings in their code.
func appsReadStep(n int, s *Summary) funnelStep {
	st := funnelStep{Label: "Apps read", Value: thousands(uint64(n))}
	if s.Apps == 0 {
		st.Note = "no findings in their own code"
		return st
	}
	st.Class = "alert"
	st.Note = fmt.Sprintf("%d with %d %s in their own code: hard-coded credentials, clear text", s.Apps, s.AppFindings, plural(s.AppFindings, "finding", "findings"))
	return st
}

// appStep is the funnel's first step: the apps whose own code holds
// findings, when the scan read apps.
func appStep(s *Summary) funnelStep {
	if s.Apps == 0 {
		return funnelStep{Label: "Apps", Value: "—", Note: "no findings in an app's own code in this scan", Class: "muted"}
	}
	return funnelStep{Label: "Apps", Value: thousands(uint64(s.Apps)), Class: "alert",
		Note: thousands(uint64(s.AppFindings)) + " " + plural(s.AppFindings, "finding", "findings") + " in their own code: hard-coded credentials, clear text"}
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
	h := fmt.Sprintf("%s of %s data stores answer without authentication, exposing %s records (%s)",
		thousands(uint64(s.Open)), thousands(uint64(s.Services)), thousands(s.Items), HumanBytes(s.Bytes))
	var more []string
	if s.Sensitive > 0 {
		more = append(more, fmt.Sprintf("%d %s personal data or secrets", s.Sensitive, plural(s.Sensitive, "holds", "hold")))
	}
	if s.Compromised > 0 {
		more = append(more, fmt.Sprintf("%d %s already compromised", s.Compromised, plural(s.Compromised, "was", "were")))
	}
	if len(more) > 0 {
		h += "; " + strings.Join(more, ", ")
	}
	return h + "."
}

// sensitiveStep is the funnel's "sensitive data" step.
func sensitiveStep(s *Summary) funnelStep {
	st := funnelStep{Label: "Sensitive data"}
	switch {
	case !s.Assessed:
		st.Value, st.Note, st.Class = "not assessed", "sampling was off: gown read no records", "muted"
	case len(s.ByClass) == 0:
		st.Value, st.Note = "0", "none found in "+thousands(s.Sampled)+" sampled records"
	default:
		st.Value = thousands(uint64(s.Sensitive))
		st.Note = plural(s.Sensitive, "store holds ", "stores hold ") + strings.Join(ShortClasses(s.ClassNames(), 4), ", ")
		st.Class = alertIf(s.Sensitive > 0)
	}
	return st
}

// compromisedStep is the funnel's "compromised" step.
func compromisedStep(s *Summary) funnelStep {
	st := funnelStep{Label: "Compromised"}
	switch {
	case !s.Assessed:
		st.Value, st.Note, st.Class = "not assessed", "compromise checks did not run", "muted"
	case s.Compromised == 0:
		st.Value, st.Note = "0", "no ransom note, wipe or takeover seen"
	default:
		st.Value, st.Class = thousands(uint64(s.Compromised)), "alert"
		st.Note = "already attacked: " + strings.Join(ShortClasses(s.KindNames(), 3), ", ")
	}
	if s.Honeypots > 0 {
		st.Note += fmt.Sprintf("; %d may be %s", s.Honeypots, plural(s.Honeypots, "a honeypot", "honeypots"))
	}
	return st
}

// classChart draws the sensitive classes: stores holding each, and the
// sampled records that did.
func classChart(s *Summary) chart {
	c := chart{Title: "Sensitive data by class: stores holding it"}
	switch {
	case !s.Assessed:
		c.Empty = "Not assessed: sampling was off, so gown cannot say which classes of data (e-mail, phone, password, card, token…) are exposed."
		return c
	case len(s.ByClass) == 0:
		c.Empty = "Sampling found no sensitive data in " + thousands(s.Sampled) + " records."
		return c
	}
	names := s.ClassNames()
	if len(names) > 12 {
		names = names[:12]
	}
	maxv := uint64(s.ByClass[names[0]].Stores)
	for i, n := range names {
		cc := s.ByClass[n]
		c.Bars = append(c.Bars, bar{Label: n, Value: fmt.Sprintf("%d %s · %d records", cc.Stores, plural(cc.Stores, "store", "stores"), cc.Records),
			Y: i*chartRow + 6, TextY: i*chartRow + 21, Part: scale(uint64(cc.Stores), maxv), Class: "open", TrackWidth: chartBarArea})
	}
	c.Height = len(names)*chartRow + 6
	return c
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
	// X is where the bars start (after the labels), VX where the value
	// text does.
	X, VX      int
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
	chartLabels  = 95 // label column; the class chart's names are longer
)

// place sets where a chart's bars and values start after labels lw wide.
func (c *chart) place(lw int) {
	for i := range c.Bars {
		c.Bars[i].X, c.Bars[i].VX = lw, lw+chartBarArea+8
	}
}

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
